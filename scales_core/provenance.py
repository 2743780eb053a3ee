r"""Provenance of results files: the command, parameters, seed and commit."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

__all__ = ["git_commit", "provenance", "write_json"]


def git_commit(cwd: str | Path | None = None) -> str:
    """The checked-out commit (with ``+dirty`` for local changes), or ``"unknown"``.

    ``$SCALES_COMMIT`` overrides it, for copies of a checkout without ``.git``
    (a GPU machine that receives the working tree only).
    """
    import os

    if os.environ.get("SCALES_COMMIT"):
        return os.environ["SCALES_COMMIT"]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, cwd=cwd, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


#: The commit of the package's code when this process imported it: a long run keeps
#: recording the code it runs even when the checkout moves on meanwhile.
_LOADED_COMMIT: str | None = None


def loaded_commit() -> str:
    """The package's commit as of this process's import of :mod:`scales_core`."""
    global _LOADED_COMMIT
    if _LOADED_COMMIT is None:
        _LOADED_COMMIT = git_commit(Path(__file__).resolve().parent)
    return _LOADED_COMMIT


def provenance(parameters: dict[str, Any], seed: int | None, command: str | None = None) -> dict:
    """A metadata record for a results file.

    Args:
        parameters: The run's parameters (JSON-serialisable values).
        seed: The seed the run used.
        command: How it was produced (default: this process's command line).

    Returns:
        A dict with command, parameters, seed, commit, time and versions. The
        commit is the one the process's code was imported from
        (:func:`loaded_commit`), not the checkout's state at write time.
    """
    return {
        "command": command or " ".join([Path(sys.executable).name, *sys.argv]),
        "parameters": parameters,
        "seed": seed,
        "commit": loaded_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }


def write_json(path: str | Path, meta: dict, **payload: Any) -> Path:
    """Write ``{"meta": meta, **payload}`` as indented JSON, creating folders.

    The file is written next to ``path`` and renamed into place, so a killed run
    leaves either the old file or the new one, never half of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"meta": meta, **payload}, indent=2, default=str))
    os.replace(tmp, path)
    return path
