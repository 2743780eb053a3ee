r"""The files of a run folder: the checkpoint, the RNG states and ``record.json``.

Also what ``--overwrite`` deletes (:data:`OUTPUTS`) and the check that refuses a
non-empty ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from .._files import CorruptFileError, load_torch_file, numpy_globals

logger = logging.getLogger("scales_core.train")


#: Files and folders a run writes in ``--out`` (what ``--overwrite`` deletes).
OUTPUTS = ("checkpoint.pt", "checkpoint.tmp", "record.json", "final")


def load_checkpoint(path: Path) -> dict:
    """Read a training checkpoint (``weights_only``; numpy RNG arrays allowed).

    Raises:
        CorruptFileError: naming the file when it is truncated, damaged or lacks
            the fields of a checkpoint.
    """
    fix = (
        "Restore it from a copy, or start the run afresh with --overwrite (its "
        "progress is lost)."
    )
    # numpy arrays and TorchVersion strings: in checkpoints of earlier versions
    allowed = [*numpy_globals(), torch.torch_version.TorchVersion]
    ckpt = load_torch_file(path, "training checkpoint", fix, safe_globals=allowed)
    needed = {
        "model",
        "optimizer",
        "step",
        "epoch",
        "pos",
        "rng",
        "elapsed",
        "args",
        "vocab",
        "record",
    }
    if not isinstance(ckpt, dict) or not needed <= set(ckpt):
        missing = sorted(needed - set(ckpt)) if isinstance(ckpt, dict) else "all"
        raise CorruptFileError(
            f"{path} is not a training checkpoint (missing {missing}). {fix}"
        )
    return ckpt


def _prepare_out(out: Path, args: argparse.Namespace) -> None:
    """Refuse a non-empty ``--out`` unless resuming or overwriting."""
    if args.resume and args.overwrite:
        raise ValueError(
            "--resume and --overwrite exclude each other: --resume "
            "continues the run in --out, --overwrite deletes it"
        )
    if args.resume or not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    entries = sorted(e.name for e in out.iterdir())
    if not entries:
        return
    if not args.overwrite:
        raise ValueError(
            f"--out {out} is not empty ({', '.join(entries[:5])}"
            f"{', ...' if len(entries) > 5 else ''}); pass --resume to continue the "
            "run there, --overwrite to delete its outputs and start afresh, or "
            "choose another folder"
        )
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    logger.warning("--overwrite: deleted the earlier run's outputs in %s", out)


def rng_state() -> dict:
    """RNG states in plain types (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": (kind, keys.tolist(), pos, has_gauss, gauss),
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    """Restore the RNG states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path: Path, **state) -> None:
    """Atomic ``torch.save`` (write a temporary file, then rename)."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def write_record(out: Path, record: dict) -> None:
    """Write ``record`` to ``out/record.json`` (indented JSON)."""
    with open(out / "record.json", "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2, default=str)
