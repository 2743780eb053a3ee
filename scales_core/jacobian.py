r"""Jacobians of decoder logits with respect to the latent.

Three engines give the same `batch x (L*D) x d` matrix ``A(z)``:

* ``"forward"``: forward-mode AD. A decoder that defines
  ``logits_and_jacobian(z)`` (the character VAEs do, by hand-written forward mode)
  is asked for it; otherwise one ``torch.func.jvp`` per latent direction under
  ``vmap``. Exact and differentiable (second order);
* ``"fd"``: forward finite differences, one decoder call over `batch * (d + 1)`
  latents (the published code's choice; approximate);
* ``"reverse"``: reverse-mode AD per output (exact, slow for long outputs; for tests).

The decoder must treat batch rows independently and is run in eval mode.

``positions=K`` keeps the first `K` sequence positions. A causal decoder whose
``forward`` and ``logits_and_jacobian`` take a ``positions`` keyword (the
project's decoders do) stops there, so the cost is proportional to `K`; any
other decoder is run in full and trimmed.

On a GPU, a decoder's own ``logits_and_jacobian`` and its ``forward`` are
replayed from CUDA graphs (:mod:`scales_core.cuda_graph`) when its parameters are
frozen; ``cuda_graph=False`` (or ``SCALES_CUDA_GRAPHS=0``) runs them eagerly.
"""

from __future__ import annotations

import math
import numbers
import warnings
import weakref

import torch
from torch import Tensor, nn

from ._checks import (
    Decoder,
    call_decoder,
    check_latents,
    check_logits,
    check_no_autocast,
    eval_mode,
    is_int,
    to_decoder_dtype,
    with_positions,
)
from .cuda_graph import graphed

__all__ = [
    "decoder_jacobian",
    "decoder_logits",
    "logits_and_jacobian",
    "JACOBIAN_METHODS",
]

JACOBIAN_METHODS = ("forward", "fd", "reverse")


def check_positions(positions: int | None) -> None:
    """Raise ``ValueError`` unless ``positions`` is ``None`` or a positive int."""
    if positions is None:
        return
    if not is_int(positions, 1):
        raise ValueError(f"positions must be a positive int or None, got {positions!r}")


def check_eps(eps: float) -> None:
    """Raise ``ValueError`` unless ``eps`` is a positive, finite real number.

    ``eps`` is a finite-difference step.
    """
    if (
        isinstance(eps, bool)
        or not isinstance(eps, numbers.Real)
        or not math.isfinite(eps)
        or eps <= 0
    ):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")


def _trim(logits: Tensor, A: Tensor | None, positions: int | None):
    """Keep the first ``positions`` rows of `batch x L x D` logits and `batch x (L*D) x d` A."""
    if positions is None or positions >= logits.shape[1]:
        return logits, A
    D = logits.shape[2]
    return logits[:, :positions], None if A is None else A[:, : positions * D]


def decoder_logits(
    decoder: Decoder, z: Tensor, positions: int | None = None, cuda_graph: bool = True
) -> Tensor:
    r"""Decoder logits of the first ``positions`` positions, in eval mode.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        positions: Keep the first `K` positions (default all).
        cuda_graph: Replay a CUDA graph on a GPU where possible.

    Returns:
        A `batch x K x D` tensor, differentiable w.r.t. ``z``.
    """
    check_positions(positions)
    check_no_autocast(z)
    fn = with_positions(decoder, positions)
    with eval_mode(decoder):
        out = None
        if cuda_graph and isinstance(decoder, nn.Module):
            out = graphed(lambda x: (fn(x),), z, decoder, key=("logits", positions))
        logits = out[0] if out is not None else call_decoder(fn, z)
    check_logits(logits, z.shape[0])
    return _trim(logits, None, positions)[0]


def logits_and_jacobian(
    decoder: Decoder,
    z: Tensor,
    method: str = "forward",
    eps: float = 1e-4,
    use_decoder_jvp: bool = True,
    positions: int | None = None,
    cuda_graph: bool = True,
) -> tuple[Tensor, Tensor]:
    r"""Decoder logits and their Jacobian in one pass.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor of latents.
        method: ``"forward"``, ``"fd"`` or ``"reverse"``.
        eps: Step of the finite differences (``method="fd"`` only).
        use_decoder_jvp: With ``method="forward"``, use the decoder's own
            ``logits_and_jacobian`` when it has one (``False`` forces
            ``torch.func``).
        positions: Keep the first `K` positions (a decoder that takes a
            ``positions`` keyword stops there; default all `L`).
        cuda_graph: On a GPU, replay the decoder's own forward mode from a CUDA
            graph where possible (same values, far fewer kernel launches).

    Returns:
        ``(logits, A)``: `batch x K x D` logits and the `batch x (K*D) x d`
        Jacobian of the flattened logits. Both are differentiable w.r.t. ``z``.

    Raises:
        ValueError: for bad ``z``, a bad decoder output or an unknown method.
    """
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"unknown Jacobian method {method!r}; use {JACOBIAN_METHODS}")
    check_positions(positions)
    check_eps(eps)
    check_latents(z, decoder)
    check_no_autocast(z)
    with eval_mode(decoder):
        logits, A = _logits_and_jacobian(
            decoder, z, method, eps, use_decoder_jvp, positions, cuda_graph
        )
    return _trim(logits, A, positions)


def _logits_and_jacobian(
    decoder, z, method, eps, use_decoder_jvp, positions, cuda_graph
):
    """:func:`logits_and_jacobian` with the decoder already in eval mode."""
    z = to_decoder_dtype(decoder, z)  # a float32 decoder gets float32 latents
    B, d = z.shape
    if method == "fd":
        decoder = with_positions(decoder, positions)
        lost = (z + eps == z).any(-1)
        if lost.any():
            raise ValueError(
                f"eps={eps} is below the resolution of z ({z.dtype}) in rows "
                f"{lost.nonzero().flatten().tolist()[:10]}: the finite differences "
                "would be zero; use jacobian='forward' or a larger eps"
            )
        # `batch x (d+1) x d`: z itself, then z + eps * e_k for each direction k.
        steps = torch.cat([z.new_zeros(1, d), eps * torch.eye(d).to(z)])
        zz = (z[:, None, :] + steps).reshape(B * (d + 1), d)
        out = call_decoder(decoder, zz)
        check_logits(out, B * (d + 1))
        out = out.reshape(B, d + 1, *out.shape[1:])
        logits = out[:, 0]
        A = (out[:, 1:] - out[:, :1]) / eps  # `batch x d x L x D`
        return logits, A.flatten(2).transpose(1, 2)
    own = getattr(decoder, "logits_and_jacobian", None)
    if method == "forward" and use_decoder_jvp and callable(own):
        own = with_positions(own, positions)
        out = None
        if cuda_graph and isinstance(decoder, nn.Module):
            out = graphed(own, z, decoder, key=("jacobian", positions))
        logits, A = out if out is not None else own(z)
        check_logits(logits, B)
        _check_own_jacobian(decoder, z, logits, A, positions)
        return logits, A
    logits = call_decoder(decoder, z)
    check_logits(logits, B)
    if method == "forward":
        _warn_if_second_order_unreliable(decoder, z)

        def directional(v: Tensor) -> Tensor:
            return torch.func.jvp(decoder, (z,), (v.expand(B, d),))[1]

        # tangents: `d x batch x L x D`
        tangents = torch.func.vmap(directional)(torch.eye(d).to(z))
        return logits, tangents.flatten(2).permute(1, 2, 0)

    def single(zi: Tensor) -> Tensor:
        return decoder(zi[None])[0].flatten()

    A = torch.func.vmap(torch.func.jacrev(single))(z)  # `batch x (L*D) x d`
    return logits, A


#: Decoders whose own ``logits_and_jacobian`` passed the spot check.
_CHECKED_JACOBIANS: "weakref.WeakSet" = weakref.WeakSet()


def _check_own_jacobian(
    decoder, z: Tensor, logits: Tensor, A: Tensor, positions
) -> None:
    r"""Shape-check a decoder's own Jacobian, and spot-check it once per decoder.

    ``A`` must be `batch x (K*D) x d` for `batch x K x D` logits. The first time a
    decoder is seen, ``A`` of one row times a fixed direction is compared with a
    central finite difference of the decoder along it (cosine above 0.99, norms
    within 10 %): a transposed or permuted ``A`` fails it.

    Raises:
        ValueError: naming the expected and the returned shape, or the mismatch.
    """
    B, K, D = logits.shape
    d = z.shape[-1]
    if not isinstance(A, Tensor) or tuple(A.shape) != (B, K * D, d):
        got = tuple(A.shape) if isinstance(A, Tensor) else type(A).__name__
        raise ValueError(
            f"the decoder's logits_and_jacobian returned A of shape {got}; expected "
            f"(batch, K*D, d) = {(B, K * D, d)} for logits of shape {(B, K, D)}"
        )
    try:
        if decoder in _CHECKED_JACOBIANS:
            return
    except TypeError:  # not weak-referenceable: check every call
        pass
    own = with_positions(decoder.logits_and_jacobian, positions)
    fn = with_positions(decoder, positions)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        v = torch.randn(d, generator=gen, dtype=torch.float64)
        v = (v / v.norm()).to(z)
        z0 = torch.zeros_like(z[:1])  # a smooth point, whatever the caller's z
        jv = own(z0)[1][0].detach().double() @ v.double()
        best = (-1.0, 0.0)
        for h in (1e-2, 1e-3, 1e-4):  # central differences: curvature vs rounding
            plus = call_decoder(fn, z0 + h * v)[:, :K].double()
            minus = call_decoder(fn, z0 - h * v)[:, :K].double()
            fd = ((plus - minus) / (2 * h)).flatten()
            if float(fd.norm()) == 0 and float(jv.norm()) == 0:
                best = (1.0, 1.0)
                break
            cos = float(jv @ fd) / (float(jv.norm()) * float(fd.norm()) + 1e-300)
            ratio = float(jv.norm()) / (float(fd.norm()) + 1e-300)
            best = max(best, (cos, ratio))
            if cos > 0.99 and 0.9 < ratio < 1.1:
                break
        else:
            raise ValueError(
                "the decoder's logits_and_jacobian disagrees with finite differences of "
                f"the decoder along a test direction at z = 0 (cosine {best[0]:.3f}, norm "
                f"ratio {best[1]:.3f}): its A must hold d logit / d z with row i*D + j "
                "for logit (i, j) and one column per latent coordinate"
            )
    try:
        _CHECKED_JACOBIANS.add(decoder)
    except TypeError:
        pass


def _warn_if_second_order_unreliable(decoder: Decoder, z: Tensor) -> None:
    """Warn when gradients of a ``torch.func.jvp`` Jacobian are known to be wrong.

    On torch 2.13, reverse mode through ``jvp`` of ``nn.LayerNorm`` gives wrong
    second derivatives (checked against ``jacobian="reverse"`` in this project).
    """
    if not (
        torch.is_grad_enabled() and z.requires_grad and isinstance(decoder, nn.Module)
    ):
        return
    if any(isinstance(m, nn.LayerNorm) for m in decoder.modules()):
        warnings.warn(
            "gradients of a torch.func forward-mode Jacobian through nn.LayerNorm are "
            "wrong on this torch version: use jacobian='reverse', grad='cpa', or give "
            "the decoder its own logits_and_jacobian",
            RuntimeWarning,
            stacklevel=3,
        )


def decoder_jacobian(
    decoder: Decoder,
    z: Tensor,
    method: str = "forward",
    eps: float = 1e-4,
    positions: int | None = None,
) -> Tensor:
    r"""The Jacobian ``A(z)`` of the flattened decoder logits.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        method: ``"forward"`` (default), ``"fd"`` or ``"reverse"``.
        eps: Finite-difference step for ``"fd"``.
        positions: Keep the first `K` positions (default all `L`).

    Returns:
        A `batch x (K*D) x d` tensor, row ``i*D + j`` the gradient of logit ``(i, j)``.
    """
    return logits_and_jacobian(decoder, z, method, eps, positions=positions)[1]
