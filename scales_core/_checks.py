r"""Input checks shared by the scores: clear ``ValueError``s instead of silent NaNs."""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import weakref
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
    if logits.dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"the decoder returned {logits.dtype} logits; the scores need float32 or "
            "float64 (1/p and the log-determinants lose every digit in half precision "
            "or integers): run the decoder in float32, outside torch.autocast"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("the decoder returned non-finite logits")


def check_no_autocast(z: Tensor) -> None:
    """Refuse a score called inside a ``torch.autocast`` region of ``z``'s device.

    Autocast runs the decoder in bfloat16 or float16, which moves the scores by
    percents and turns finite differences into zeros.

    Raises:
        ValueError: inside an enabled autocast region.
    """
    if torch.is_autocast_enabled(z.device.type):
        raise ValueError(
            f"a score was called inside torch.autocast({z.device.type!r}): the decoder "
            "would run in half precision and the score would be wrong by percents "
            "(or -inf with finite differences); call it outside the autocast region"
        )


def decoder_dtype(decoder) -> torch.dtype | None:
    """The floating dtype of a module decoder's weights.

    ``None``: a plain function, or a module without floating parameters or buffers.
    """
    module = (
        decoder
        if isinstance(decoder, nn.Module)
        else getattr(decoder, "__self__", None)
    )
    if not isinstance(module, nn.Module):
        return None
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def to_decoder_dtype(decoder, z: Tensor) -> Tensor:
    """``z`` in the dtype of the decoder's weights (differentiable cast), else as is.

    The one boundary where the package hands latents to a decoder: BO keeps its
    latents in float64, a user's decoder may hold float32 weights and need not cast
    its input itself.
    """
    dtype = decoder_dtype(decoder)
    return z if dtype is None or z.dtype == dtype else z.to(dtype)


def takes_positions(fn) -> bool:
    """Whether a callable accepts a ``positions`` keyword."""
    target = fn.forward if isinstance(fn, nn.Module) else fn
    try:
        return "positions" in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def with_positions(fn, positions: int | None):
    """``fn`` with ``positions`` bound when it takes it (others are trimmed after)."""
    if positions is not None and takes_positions(fn):
        return functools.partial(fn, positions=positions)
    return fn


def call_decoder(decoder: Decoder, z: Tensor, positions: int | None = None) -> Tensor:
    """Run the decoder on ``z`` in its own dtype.

    A shape or dtype error inside it becomes a ``ValueError``. With ``positions``, a
    decoder that takes that keyword stops after the first ``positions`` positions
    (others return all; trim after).
    """
    z = to_decoder_dtype(decoder, z)
    try:
        return with_positions(decoder, positions)(z)
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


#: One re-entrant lock per module decoder: a mode switch and the computation under
#: it happen while the lock is held, so threads sharing a decoder never see one
#: another's modes.
_MODE_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.RLock]" = (
    weakref.WeakKeyDictionary()
)
_MODE_LOCKS_GUARD = threading.Lock()


def _mode_lock(module: nn.Module) -> threading.RLock:
    with _MODE_LOCKS_GUARD:
        lock = _MODE_LOCKS.get(module)
        if lock is None:
            lock = _MODE_LOCKS[module] = threading.RLock()
        return lock


@contextlib.contextmanager
def module_mode(
    decoder: Decoder, train: bool, batch_norm_eval: bool = False
) -> Iterator[None]:
    """Put a module decoder in train or eval mode for the block, then restore it.

    Every submodule's own ``training`` flag is restored, not just the root's (a
    caller's ``dec.eval(); dec[1].train()`` survives), and the block holds a lock
    per decoder, so threads sharing one decoder take turns instead of flipping its
    mode under one another. A plain function is left as it is.

    Args:
        decoder: The decoder.
        train: Train mode (dropout on) or eval mode.
        batch_norm_eval: In train mode, keep batch-norm layers in eval mode.
    """
    if not isinstance(decoder, nn.Module):
        yield
        return
    with _mode_lock(decoder):
        flags = [(m, m.training) for m in decoder.modules()]
        decoder.train(train)
        if train and batch_norm_eval:
            for m in decoder.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        try:
            yield
        finally:
            for m, flag in flags:
                m.training = flag


def eval_mode(decoder: Decoder):
    """Put an ``nn.Module`` decoder in eval mode for the block (:func:`module_mode`)."""
    return module_mode(decoder, False)
