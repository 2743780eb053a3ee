r"""Slim run records: what the chapters read, without the proposed latents.

A compacted logP run (:func:`~scales_core.bo.compaction.compact_run`) is about 190 KB,
three quarters of it the 500 proposed latents as float32 text; the book's 300-odd
runs would not fit the 60 MB the repository allows. The chapters read two things
of a proposed latent: its norm (:func:`~scales_core.results.proposal_norms`) and
its distance to the latents the run had already observed
(:func:`~scales_core.results.unmoved_proposals`). :func:`slim_run` replaces each
oracle record's ``latent`` by

* ``latent_norm``: the Euclidean norm of the (float32) latent, and
* ``pool_distance``: its distance to the nearest initial latent or proposal of an
  earlier step, divided by the median nearest-neighbour distance of the initial
  latents (:func:`pool_distances`); a proposal is *unmoved* at ``rel_tol`` when
  this is at most ``rel_tol``,

moves inline initial latents to the sweep's :class:`~scales_core.bo.init_store.InitStore`,
and marks the header (``compacted.oracle_latents``). Every other field is kept as
written; the header's command line, parameters, seed and commit rerun the run
with its latents. The file is rewritten to a temporary name and renamed into
place, so a kill leaves the old or the new file, never a partial one::

    python scripts/slim_runs.py results/bo     # every finished run under the folder
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.distance import cdist

from .compaction import _float32_text, write_gzip_records
from .init_store import InitStore, load_init_latents
from .run_record import read_lines

__all__ = ["SLIM_FIELDS", "is_slim", "pool_distances", "slim_folder", "slim_run"]

logger = logging.getLogger(__name__)

#: The oracle fields that replace ``latent`` in a slim record.
SLIM_FIELDS = ("latent_norm", "pool_distance")


def pool_distances(
    init: np.ndarray, latents: np.ndarray, steps: np.ndarray
) -> np.ndarray:
    r"""Each proposal's distance to the latents observed before its step, in initial spacings.

    Args:
        init: `n x d` initial latents.
        latents: `m x d` proposed latents, in call order.
        steps: `m` BO step of each proposal.

    Returns:
        `m` distances to the nearest initial latent or proposal of an earlier step,
        divided by the median nearest-neighbour distance of ``init``.
    """
    init = np.asarray(init, dtype=float)
    latents = np.asarray(latents, dtype=float).reshape(len(steps), -1)
    steps = np.asarray(steps)
    gaps = cdist(init, init)
    np.fill_diagonal(gaps, np.inf)
    spacing = float(np.median(gaps.min(1)))
    out = np.empty(len(latents))
    for step in np.unique(steps):
        here = steps == step
        pool = np.concatenate([init, latents[steps < step]])
        out[here] = cdist(latents[here], pool).min(1) / spacing
    return out


def is_slim(oracle: Iterable[dict]) -> bool:
    """Whether oracle records carry :data:`SLIM_FIELDS` instead of their latents."""
    oracle = list(oracle)
    return bool(oracle) and all(
        "latent" not in r and "latent_norm" in r for r in oracle
    )


def _slim_records(
    records: list[dict], path: Path, store: InitStore | None
) -> list[dict]:
    header, rest = records[0], records[1:]
    init = next((r for r in rest if r.get("type") == "init"), None)
    oracle = [r for r in rest if r.get("type") == "oracle"]
    if init is not None and init.get("latents") is not None and store is not None:
        file, sha = store.put_latents(
            torch.tensor(init["latents"], dtype=torch.float64)
        )
        moved = {k: v for k, v in init.items() if k != "latents"}
        moved.update(
            latents_file=os.path.relpath(file, path.parent), latents_sha256=sha
        )
        rest = [moved if r is init else r for r in rest]
    latents = np.asarray(
        [[_float32_text(x) for x in r["latent"]] for r in oracle], dtype=float
    )
    init_latents = None if init is None else load_init_latents(init, path)
    if init_latents is not None and len(oracle):
        steps = np.array([r["step"] for r in oracle])
        distance = pool_distances(
            np.asarray(init_latents, dtype=np.float32), latents, steps
        )
    else:
        distance = [None] * len(oracle)
    slim = {}
    for record, z, d in zip(oracle, latents, distance):
        out = {k: v for k, v in record.items() if k != "latent"}
        out["latent_norm"] = _float32_text(float(np.linalg.norm(z)))
        out["pool_distance"] = None if d is None else _float32_text(float(d))
        slim[id(record)] = out
    compacted = {
        **header.get("compacted", {}),
        "oracle_latents": "dropped; latent_norm and pool_distance kept (scales_core.bo.slim)",
    }
    return [{**header, "compacted": compacted}] + [slim.get(id(r), r) for r in rest]


def slim_run(path: str | os.PathLike, store: InitStore | None = None) -> bool:
    r"""Rewrite a finished, compacted run (``.jsonl.gz``) without its proposed latents.

    Args:
        path: The run's ``.gz`` file.
        store: Where inline initial latents go (``None`` keeps them inline).

    Returns:
        Whether the file was rewritten (``False`` for a run that is already slim).

    Raises:
        ValueError: when ``path`` is not a finished, compacted run record.
    """
    path = Path(path)
    if path.suffix != ".gz":
        raise ValueError(
            f"{path}: only compacted runs (.jsonl.gz) are slimmed; finish the run first"
        )
    records, _ = read_lines(path)
    if not records or records[-1].get("type") != "done":
        raise ValueError(
            f"{path}: the run is not finished (no done record); not slimmed"
        )
    oracle = [r for r in records if r.get("type") == "oracle"]
    inline = any(
        r.get("type") == "init" and r.get("latents") is not None for r in records
    )
    if (not oracle or is_slim(oracle)) and not (inline and store is not None):
        return False
    if any("latent" not in r for r in oracle):
        raise ValueError(f"{path}: oracle records without latents that are not slim")
    write_gzip_records(path, _slim_records(records, path, store))
    return True


def slim_folder(root: str | os.PathLike, progress: bool = True) -> list[Path]:
    r"""Slim every finished run under ``root`` (initial latents go to ``root/_init``).

    Returns:
        The files that were rewritten.
    """
    from tqdm.auto import tqdm

    root = Path(root)
    store = InitStore(root / "_init")
    changed = []
    for path in tqdm(
        sorted(root.rglob("*.jsonl.gz")), desc="slim", disable=not progress
    ):
        if slim_run(path, store):
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "folders", nargs="+", help="sweep output folders (e.g. results/bo)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for folder in args.folders:
        changed = slim_folder(folder)
        logger.info("%s: %d run files slimmed", folder, len(changed))


if __name__ == "__main__":
    main()
