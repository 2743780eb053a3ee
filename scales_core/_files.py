r"""Reading the project's own files with errors that name the file and the fix.

``torch.load`` on a damaged file raises errors that do not say which file was
read and may suggest ``weights_only=False`` (which would run arbitrary code from
the file). :func:`load_torch_file`, :func:`load_json_file` and
:func:`load_yaml_file` turn every read or parse failure into a
:class:`CorruptFileError` naming the file, what it should hold and how to fix it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = [
    "CorruptFileError",
    "describe_error",
    "load_json_file",
    "load_torch_file",
    "load_yaml_file",
    "numpy_globals",
]


class CorruptFileError(ValueError):
    """A file exists but cannot be read as what it should be."""


def describe_error(error: BaseException) -> str:
    """A one-line cause, without torch's advice to load untrusted pickles."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if "weights_only" in str(error) or "Weights only load failed" in text:
        text = "it holds something other than tensors and plain containers"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _fail(path: str | os.PathLike, what: str, error: BaseException, fix: str):
    return CorruptFileError(
        f"{path} is not a readable {what} ({describe_error(error)}); the file is "
        f"damaged, truncated or of another kind. {fix}"
    )


def numpy_globals() -> list:
    """The numpy types an array in a checkpoint needs (no code runs on load)."""
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return [_reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def load_torch_file(
    path: str | os.PathLike, what: str, fix: str, safe_globals: list | None = None
) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with a clear error.

    Args:
        path: The file.
        what: What it should hold, e.g. ``"model checkpoint"``.
        fix: What to do about a damaged file, e.g. ``"Re-download it from ..."``.
        safe_globals: Further types to accept (see ``torch.serialization.
            safe_globals``), e.g. :func:`numpy_globals`; none that runs code.

    Raises:
        FileNotFoundError: when the file is missing.
        CorruptFileError: when it cannot be read (names the file and the fix).
    """
    import torch

    if not Path(path).exists():
        raise FileNotFoundError(f"no {what} at {path}. {fix}")
    try:
        if safe_globals:
            with torch.serialization.safe_globals(list(safe_globals)):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets one message
        raise _fail(path, what, error, fix) from None


def _load_parsed(path, what: str, fix: str, parse, errors: tuple) -> Any:
    """Open a text file and ``parse`` it; a missing or unparsable file names itself."""
    try:
        with open(path, encoding="utf-8") as fh:
            return parse(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {path}. {fix}") from None
    except (*errors, UnicodeDecodeError) as error:
        raise _fail(path, what, error, fix) from None


def load_json_file(path: str | os.PathLike, what: str, fix: str) -> Any:
    """Parse a JSON file with a clear error (see :func:`load_torch_file`)."""
    return _load_parsed(path, what, fix, json.load, (ValueError,))


def load_yaml_file(path: str | os.PathLike, what: str, fix: str) -> Any:
    """Parse a YAML file (safe loader) with a clear error."""
    import yaml

    return _load_parsed(path, what, fix, yaml.safe_load, (yaml.YAMLError,))
