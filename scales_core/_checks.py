r"""Input checks shared by the scores: clear ``ValueError``s instead of silent NaNs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn

Decoder = Callable[[Tensor], Tensor]


def is_int(value: object, minimum: int) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``) of at least ``minimum``."""
    return not isinstance(value, bool) and isinstance(value, int) and value >= minimum


def check_latents(z: Tensor, decoder: Decoder | None = None) -> None:
    r"""Validate a `batch x d` latent tensor (and its size against the decoder).

    Raises:
        ValueError: for a non-tensor, wrong rank, non-float dtype, an empty batch,
            non-finite entries, or a size different from ``decoder.latent_dim``.
    """
    if not isinstance(z, Tensor):
        raise ValueError(f"z must be a torch.Tensor, got {type(z).__name__}")
    if z.dim() != 2:
        raise ValueError(
            f"z must have shape (batch, d) (rank 2), got rank {z.dim()} with shape "
            f"{tuple(z.shape)}"
        )
    if not z.is_floating_point():
        raise ValueError(f"z must be a floating point tensor, got {z.dtype}")
    if z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"z must be non-empty, got shape {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        bad = (~torch.isfinite(z)).any(-1).nonzero().flatten().tolist()
        raise ValueError(f"z has non-finite (NaN or inf) entries in rows {bad[:10]}")
    expected = getattr(decoder, "latent_dim", None)
    if expected is not None and z.shape[-1] != expected:
        raise ValueError(
            f"latent size mismatch: z has d={z.shape[-1]}, the decoder expects "
            f"latent_dim={expected}"
        )


def check_logits(logits: Tensor, batch: int) -> None:
    r"""Validate decoder output: a finite `batch x L x D` tensor.

    Raises:
        ValueError: naming the shape or the non-finite entries.
    """
    if not isinstance(logits, Tensor) or logits.dim() != 3 or logits.shape[0] != batch:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits)
        raise ValueError(
            f"the decoder must return logits of shape (batch={batch}, L, D), got "
            f"{shape}"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("the decoder returned non-finite logits")


def call_decoder(decoder: Decoder, z: Tensor) -> Tensor:
    """Run the decoder; a shape or dtype error inside it becomes a ``ValueError``."""
    try:
        return decoder(z)
    except RuntimeError as err:
        if "shape" in str(err) or "size" in str(err):
            raise ValueError(
                f"latent size mismatch: the decoder failed on z of shape "
                f"{tuple(z.shape)}: {err}"
            ) from err
        if "dtype" in str(err) or "scalar type" in str(err):
            raise ValueError(
                f"dtype mismatch: the decoder failed on z of dtype {z.dtype} (pass z "
                f"in the decoder's dtype): {err}"
            ) from err
        raise


@contextlib.contextmanager
def eval_mode(decoder: Decoder) -> Iterator[None]:
    """Put an ``nn.Module`` decoder in eval mode for the block, then restore it."""
    if not isinstance(decoder, nn.Module):
        yield
        return
    was_training = decoder.training
    decoder.eval()
    try:
        yield
    finally:
        decoder.train(was_training)
