r"""Where the project's data files live.

One function resolves every data file: first ``$SCALES_DATA_DIR`` (a copy of the
project's shared data folder), then a user cache (``$SCALES_CACHE_DIR`` or
``~/.cache/scales_core``) that downloaders fill from public sources.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "cache_dir", "resolve", "DataNotFoundError"]


class DataNotFoundError(FileNotFoundError):
    """A data file is neither in ``$SCALES_DATA_DIR`` nor in the user cache."""


def data_dir() -> Path | None:
    """The folder named by ``$SCALES_DATA_DIR``, or ``None`` when unset."""
    value = os.environ.get("SCALES_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The user cache folder (``$SCALES_CACHE_DIR`` or ``~/.cache/scales_core``)."""
    value = os.environ.get("SCALES_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "scales_core"


def resolve(relative: str | os.PathLike[str]) -> Path:
    r"""Find a data file by its path relative to the data folder.

    Args:
        relative: e.g. ``"checkpoints/paper/expressions_gru_1/w.pth"``.

    Returns:
        The absolute path of an existing file.

    Raises:
        DataNotFoundError: when the file is in neither place; the message says where
            to put it.
    """
    candidates = []
    root = data_dir()
    if root is not None:
        candidates.append(root / relative)
    candidates.append(cache_dir() / relative)
    for path in candidates:
        if path.exists():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise DataNotFoundError(
        f"data file {str(relative)!r} not found (looked in: {tried}). Set "
        "SCALES_DATA_DIR to a copy of the project's data folder, or put the file "
        f"under {cache_dir()}."
    )
