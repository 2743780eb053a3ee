r"""Input checks of the VAEs' ``encode`` and ``decode_*`` methods.

``vae.encode("x+1")`` would otherwise treat the string as a tensor, an empty list
would reach the encoder, and a NaN latent would decode to a string as if it were
a real point; these helpers turn each into a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..jacobian import check_positions

__all__ = ["check_decode_latents", "encode_input", "decoded_positions"]


def encode_input(x: object) -> list | Tensor:
    r"""The items to encode, as a list of strings/symbol lists or an index tensor.

    Args:
        x: A list (or tuple) of strings or symbol lists, or a `batch x L` long tensor.

    Returns:
        ``x`` as a list, or the tensor unchanged.

    Raises:
        TypeError: for a bare string or another type (the message shows the fix).
        ValueError: for an empty batch or a tensor that is not `batch x L` integers.
    """
    if isinstance(x, str):
        raise TypeError(
            f"encode expects a list of strings, got the single string {x[:40]!r}; "
            f"wrap it in a list: vae.encode([{x[:40]!r}])"
        )
    if isinstance(x, Tensor):
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"encode expects an N x L integer index tensor, got shape "
                f"{tuple(x.shape)} and dtype {x.dtype}"
            )
        if x.shape[0] == 0:
            raise ValueError("nothing to encode: the index tensor has no rows")
        return x
    if not isinstance(x, Sequence):
        raise TypeError(
            f"encode expects a list of strings or an index tensor, got "
            f"{type(x).__name__}"
        )
    if len(x) == 0:
        raise ValueError("nothing to encode: the list is empty")
    return list(x)


def check_decode_latents(z: object, latent_dim: int) -> None:
    r"""Refuse latents that cannot be decoded meaningfully.

    Raises:
        ValueError: for a non-tensor, a shape other than `batch x latent_dim`, or
            NaN/inf entries (naming the rows).
    """
    if not isinstance(z, Tensor) or not z.is_floating_point():
        raise ValueError(
            f"decode expects a float tensor of latents, got {type(z).__name__}"
            + (f" of dtype {z.dtype}" if isinstance(z, Tensor) else "")
        )
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(
            f"decode expects latents of shape (N, {latent_dim}), got {tuple(z.shape)}"
        )
    finite = torch.isfinite(z).all(1)
    if not bool(finite.all()):
        rows = (~finite).nonzero().flatten().tolist()
        raise ValueError(
            f"cannot decode non-finite latents (NaN or inf in rows {rows[:10]}); "
            "find where they came from (a diverged optimizer step?) and drop them"
        )


def decoded_positions(positions: int | None, max_len: int) -> int:
    """How many positions a causal decoder decodes: ``min(positions, L)``, all by default.

    Raises:
        ValueError: unless ``positions`` is ``None`` or a positive int.
    """
    check_positions(positions)
    return max_len if positions is None else min(positions, max_len)
