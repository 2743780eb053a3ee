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

__all__ = [
    "git_commit",
    "head_commit",
    "loaded_commit",
    "note_import",
    "provenance",
    "write_json",
]


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
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=cwd,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=cwd,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def head_commit(start: str | Path) -> str | None:
    """The commit HEAD points at, read from the repository's files (no git process).

    Looks for ``.git`` in ``start`` and its parents (a folder, or a worktree's file
    naming its git folder) and resolves ``HEAD`` through loose and packed refs.

    Returns:
        The 40-hex commit, or ``None`` outside a repository or where a file is unreadable.
    """
    start = Path(start).resolve()
    try:
        top = next((d for d in (start, *start.parents) if (d / ".git").exists()), None)
        if top is None:
            return None
        git = top / ".git"
        if git.is_file():  # a worktree: "gitdir: <folder>"
            git = (top / git.read_text().split(":", 1)[1].strip()).resolve()
        common = git
        if (git / "commondir").exists():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head[4:].strip()
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        packed = common / "packed-refs"
        if packed.exists():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0]
    except OSError:
        return None
    return None


#: The commit of the package's code when this process imported it (read from the
#: repository's files by :func:`note_import`): a long run keeps recording the code it
#: runs even when the checkout moves on meanwhile.
_IMPORTED_SHA: str | None = None
_LOADED_COMMIT: str | None = None


def note_import() -> None:
    """Remember the package's commit now (``scales_core`` calls this on import)."""
    global _IMPORTED_SHA
    _IMPORTED_SHA = head_commit(Path(__file__).parent)


def loaded_commit() -> str:
    """The package's commit as of this process's import of :mod:`scales_core`.

    The commit is the one read at import; ``+dirty`` (local changes) is asked of git
    on the first call, which also covers copies without a readable ``.git``
    (:func:`git_commit`).
    """
    global _LOADED_COMMIT
    if _LOADED_COMMIT is None:
        here = git_commit(Path(__file__).resolve().parent)
        if (
            _IMPORTED_SHA is not None
            and here != "unknown"
            and not os.environ.get("SCALES_COMMIT")
        ):
            here = _IMPORTED_SHA + ("+dirty" if here.endswith("+dirty") else "")
        _LOADED_COMMIT = here
    return _LOADED_COMMIT


def provenance(
    parameters: dict[str, Any], seed: int | None, command: str | None = None
) -> dict:
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
