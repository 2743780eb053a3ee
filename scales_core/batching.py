r"""Evaluate a latent score over many points in batches, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ._checks import is_int

__all__ = ["map_batches"]


def map_batches(
    fn: Callable[[Tensor], Tensor],
    z: Tensor,
    batch_size: int = 64,
    desc: str | None = None,
    progress: bool = True,
    grad: bool = False,
) -> Tensor:
    r"""Apply ``fn`` to consecutive batches of ``z`` and concatenate the results.

    Args:
        fn: Maps a `batch x d` tensor to a `batch x ...` tensor (e.g. a :class:`ScaLES`).
        z: An `n x d` tensor.
        batch_size: Rows per call.
        desc: Progress-bar label.
        progress: Show a tqdm bar.
        grad: Keep autograd on (off by default: scoring only).

    Returns:
        The `n x ...` concatenation, detached unless ``grad``. An empty ``z``
        (``n = 0``) gives an empty `(0,)` tensor of ``z``'s dtype and device without
        calling ``fn`` (whose output shape is then unknown: `(0,)` is that of a
        score, one value per row).
    """
    if not is_int(batch_size, 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if z.shape[0] == 0:
        return z.new_empty((0,))
    outs = []
    starts = range(0, z.shape[0], batch_size)
    with torch.set_grad_enabled(grad):
        for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
            outs.append(fn(z[start : start + batch_size]))
    return torch.cat(outs)
