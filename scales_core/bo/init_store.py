r"""A folder shared by a sweep's runs: their initial latents and scores of them.

The runs of one seed share their initial labelled set (the same encoded
training items for every method), and an early-stopping method needs a score of
every initial latent for its threshold. For the SELFIES VAE (1,000 latents of
256 dimensions) the latents are 1 MB per run as float32 JSON, and the ScaLES
values of the initial set take 7 minutes on one core. :class:`InitStore` keeps
both once per distinct set:

* ``<key>.latents.npy``: the latents as float32, referred to by a compacted run's
  ``init`` record (``latents_file``, relative to the run file, and
  ``latents_sha256`` of the array's bytes), instead of inline;
* ``<key>.<score name>.npy``: float64 values of a deterministic score at the
  float64 latents (e.g. ScaLES for the ES threshold), computed by the first run
  that needs them.

``key`` is the SHA-256 of the float64 latents' bytes, so a file can only be
found by the set it was computed on. Files are written to a temporary name and
renamed into place: two runs that compute the same file at once both write the
same bytes, and a kill leaves no partial file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["InitStore", "array_sha256", "load_init_latents"]

logger = logging.getLogger(__name__)


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 (hex) of a C-contiguous array's bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class InitStore:
    r"""Initial latents and their cached scores, one set of files per initial set.

    Args:
        root: The folder (created on first write), e.g. ``<sweep out>/_init``.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @staticmethod
    def key(X: Tensor) -> str:
        """The name of an `n x d` set: 20 hex digits of its float64 bytes' SHA-256."""
        array = X.detach().to("cpu", torch.float64).numpy()
        return array_sha256(array)[:20]

    def put_latents(self, X: Tensor) -> tuple[Path, str]:
        r"""Store an `n x d` set as float32 (once); its path and the SHA-256 of its bytes."""
        array = X.detach().to("cpu", torch.float32).numpy()
        path = self.root / f"{self.key(X)}.latents.npy"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            _save_npy(path, array)
        return path, array_sha256(array)

    def scores(
        self, X: Tensor, name: str, compute: Callable[[Tensor], Tensor]
    ) -> Tensor:
        r"""``compute(X)`` (`n` values), read from the store when computed before.

        Args:
            X: The `n x d` initial latents.
            name: Names the score and everything its values depend on besides
                ``X`` (checkpoint, ``rho``, positions, prior scale).
            compute: Maps `n x d` to `n` values; deterministic.

        Returns:
            An `n` float64 tensor on ``X``'s device.
        """
        if not name or any(c in name for c in "/\\"):
            raise ValueError(
                f"a score name must be a non-empty file-name part, got {name!r}"
            )
        path = self.root / f"{self.key(X)}.{name}.npy"
        if path.exists():
            try:
                values = np.load(path, allow_pickle=False)
            except (ValueError, OSError, EOFError) as error:  # a damaged file
                warnings.warn(
                    f"{path} cannot be read ({error}); recomputing it",
                    RuntimeWarning,
                    stacklevel=2,
                )
                values = None
            if (
                values is not None
                and values.shape == (X.shape[0],)
                and values.dtype.kind == "f"
            ):
                return torch.as_tensor(values, dtype=torch.float64, device=X.device)
            if values is not None:
                logger.warning(
                    "%s holds %s values for %d latents; recomputing",
                    path,
                    values.shape,
                    X.shape[0],
                )
        values = compute(X).detach().to(torch.float64)
        self.root.mkdir(parents=True, exist_ok=True)
        _save_npy(path, values.cpu().numpy())
        return values


def load_init_latents(init: dict, run_path: str | os.PathLike) -> np.ndarray | None:
    r"""The `n x d` initial latents of a run's ``init`` record.

    Inline (``latents``) or in an :class:`InitStore` file (``latents_file``,
    relative to the run file ``run_path``, checked against ``latents_sha256``).

    Raises:
        ValueError: when the referenced file is missing or differs.
    """
    if init.get("latents") is not None:
        return np.asarray(init["latents"], dtype=np.float64)
    ref = init.get("latents_file")
    if ref is None:
        return None
    path = Path(run_path).parent / ref
    if not path.exists():
        raise ValueError(f"{run_path}: its initial latents file {path} is missing")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(
            f"{run_path}: its initial latents file {path} cannot be read ({error})"
        ) from None
    if array_sha256(array) != init.get("latents_sha256"):
        raise ValueError(f"{path} differs from the initial latents {run_path} stored")
    return array.astype(np.float64)
