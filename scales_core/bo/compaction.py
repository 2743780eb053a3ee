r"""Compaction of a finished run: ``<run file name>.gz``, gzipped, latents in float32.

The same records, gzipped, with latents rounded to float32 (about 5x smaller; a
finished run is never resumed, so nothing needs its float64 bits), written to a
temporary file and renamed into place before the ``.jsonl``, its lock and its GP side
file are removed (:func:`compact_run`). The initial latents can go to an
:class:`~scales_core.bo.init_store.InitStore` shared by the runs of one initial set.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from pathlib import Path

import torch

from .gp_state import gp_state_path
from .run_record import compacted_path, lock_path, read_lines

__all__ = ["compact_run", "remove_leftover", "write_gzip_records"]

logger = logging.getLogger(__name__)


def _float32_text(value: float) -> float:
    """``value`` rounded to float32, as the shortest decimal that reads back to it."""
    import numpy as np

    return float(str(np.float32(value)))


def _compact_record(record: dict, path: Path, store) -> dict:
    if record.get("type") == "oracle" and record.get("latent") is not None:
        return {**record, "latent": [_float32_text(x) for x in record["latent"]]}
    if record.get("type") == "init" and record.get("latents") is not None and store:
        X = torch.tensor(record["latents"], dtype=torch.float64)
        file, sha = store.put_latents(X)
        out = {k: v for k, v in record.items() if k != "latents"}
        ref = os.path.relpath(file, path.parent)
        return {**out, "latents_file": ref, "latents_sha256": sha}
    if record.get("type") == "init" and record.get("latents") is not None:
        latents = [[_float32_text(x) for x in row] for row in record["latents"]]
        return {**record, "latents": latents}
    if record.get("type") == "header":
        return {**record, "compacted": {"latents": "float32", "format": "gzip"}}
    return record


def remove_leftover(path: str | os.PathLike) -> bool:
    """Delete a run's ``.jsonl`` (and side files) when its compacted file exists.

    A kill between the rename of the compacted file and the removal of the
    ``.jsonl`` in :func:`compact_run` leaves both; the ``.gz`` is complete (it is
    renamed into place only when written), so the ``.jsonl`` is a leftover.

    Returns:
        Whether anything was removed.
    """
    path = Path(path)
    if not (path.exists() and compacted_path(path).exists()):
        return False
    logger.info("removing %s: its compacted run %s exists", path, compacted_path(path))
    for leftover in (path, gp_state_path(path)):
        leftover.unlink(missing_ok=True)
    return True


def write_gzip_records(out: Path, records) -> None:
    """Write records as gzipped JSON lines to ``out``, atomically.

    A temporary file beside it, synced, then renamed into place (a kill leaves the old
    file or the new one).
    """
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(
            filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0
        ) as fh:
            for record in records:
                fh.write((json.dumps(record, allow_nan=False) + "\n").encode("utf-8"))
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(tmp, out)


def compact_run(path: str | os.PathLike, store=None) -> Path:
    r"""Replace a finished run's ``.jsonl`` by ``<name>.gz`` (float32 latents).

    The compacted file is written beside it under a temporary name, synced and
    renamed into place; only then are the ``.jsonl``, its lock file and its GP
    side file removed, so a kill at any point leaves a readable run. Every other
    field is kept as written.

    Args:
        path: The run's ``.jsonl`` file.
        store: An :class:`~scales_core.bo.init_store.InitStore`: the initial
            latents go there (shared by the runs of the same initial set) and
            the ``init`` record names the file; ``None`` keeps them inline.

    Returns:
        The compacted file's path.

    Raises:
        ValueError: when the run has no ``done`` record (an unfinished run stays
            resumable), or the file is not a run record.
    """
    path = Path(path)
    out = compacted_path(path)
    if not path.exists() and out.exists():
        return out  # compacted before
    records, _ = read_lines(path)
    if not records or records[-1].get("type") != "done":
        raise ValueError(
            f"{path}: the run is not finished (no done record); not compacted"
        )
    write_gzip_records(
        out, (_compact_record(record, path, store) for record in records)
    )
    for leftover in (path, lock_path(path), gp_state_path(path)):
        leftover.unlink(missing_ok=True)
    return out
