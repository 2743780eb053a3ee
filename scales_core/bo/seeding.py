r"""Deterministic seeds for every random choice of a BO run.

Each random choice of step ``t`` (start points, QMC base samples, the UC score's
dropout masks, L-BFGS restarts) draws from its own seed, a fixed function of
``(seed, t, ...)``, so a resumed run makes exactly the choices of an uninterrupted
one whatever happened before the kill.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

__all__ = ["derive_seed", "derive_generator"]


def derive_seed(seed: int, *keys: int | str) -> int:
    r"""A 31-bit seed that depends only on ``seed`` and ``keys``.

    Args:
        seed: The run seed (>= 0).
        keys: Step and point indices or short tags such as ``"starts"``; strings
            are hashed with CRC-32 (stable across processes, unlike ``hash``).

    Returns:
        An int in ``[0, 2**31)``.
    """
    words = [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    if int(seed) < 0 or any(w < 0 for w in words):
        raise ValueError(f"seed and integer keys must be >= 0, got {seed}, {keys}")
    # the key count keeps (0, 1) and (0, 1, 0) apart (SeedSequence drops trailing zeros)
    entropy = [int(seed), len(words), *words]
    state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0]
    return int(state) >> 1


def derive_generator(seed: int, *keys: int | str) -> torch.Generator:
    r"""A CPU ``torch.Generator`` seeded with :func:`derive_seed`."""
    return torch.Generator().manual_seed(derive_seed(seed, *keys))
