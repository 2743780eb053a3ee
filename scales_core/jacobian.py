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
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from ._checks import Decoder, call_decoder, check_latents, check_logits, eval_mode

__all__ = ["decoder_jacobian", "logits_and_jacobian", "JACOBIAN_METHODS"]

JACOBIAN_METHODS = ("forward", "fd", "reverse")


def logits_and_jacobian(
    decoder: Decoder,
    z: Tensor,
    method: str = "forward",
    eps: float = 1e-4,
    use_decoder_jvp: bool = True,
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

    Returns:
        ``(logits, A)``: `batch x L x D` logits and the `batch x (L*D) x d`
        Jacobian of the flattened logits. Both are differentiable w.r.t. ``z``.

    Raises:
        ValueError: for bad ``z``, a bad decoder output or an unknown method.
    """
    if method not in JACOBIAN_METHODS:
        raise ValueError(f"unknown Jacobian method {method!r}; use {JACOBIAN_METHODS}")
    check_latents(z, decoder)
    B, d = z.shape
    with eval_mode(decoder):
        if method == "fd":
            # (B, d+1, d): z itself, then z + eps * e_k for each direction k.
            steps = torch.cat([z.new_zeros(1, d), eps * torch.eye(d).to(z)])
            zz = (z[:, None, :] + steps).reshape(B * (d + 1), d)
            out = call_decoder(decoder, zz)
            check_logits(out, B * (d + 1))
            out = out.reshape(B, d + 1, *out.shape[1:])
            logits = out[:, 0]
            A = (out[:, 1:] - out[:, :1]) / eps  # (B, d, L, D)
            return logits, A.flatten(2).transpose(1, 2)
        own = getattr(decoder, "logits_and_jacobian", None)
        if method == "forward" and use_decoder_jvp and callable(own):
            logits, A = own(z)
            check_logits(logits, B)
            return logits, A
        logits = call_decoder(decoder, z)
        check_logits(logits, B)
        if method == "forward":
            _warn_if_second_order_unreliable(decoder, z)

            def directional(v: Tensor) -> Tensor:
                return torch.func.jvp(decoder, (z,), (v.expand(B, d),))[1]

            tangents = torch.func.vmap(directional)(torch.eye(d).to(z))  # (d,B,L,D)
            return logits, tangents.flatten(2).permute(1, 2, 0)

        def single(zi: Tensor) -> Tensor:
            return decoder(zi[None])[0].flatten()

        A = torch.func.vmap(torch.func.jacrev(single))(z)  # (B, L*D, d)
        return logits, A


def _warn_if_second_order_unreliable(decoder: Decoder, z: Tensor) -> None:
    """Warn when gradients of a ``torch.func.jvp`` Jacobian are known to be wrong.

    On torch 2.13, reverse mode through ``jvp`` of ``nn.LayerNorm`` gives wrong
    second derivatives (checked against ``jacobian="reverse"`` in this project).
    """
    if not (torch.is_grad_enabled() and z.requires_grad and isinstance(decoder, nn.Module)):
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
    decoder: Decoder, z: Tensor, method: str = "forward", eps: float = 1e-4
) -> Tensor:
    r"""The Jacobian ``A(z)`` of the flattened decoder logits.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        method: ``"forward"`` (default), ``"fd"`` or ``"reverse"``.
        eps: Finite-difference step for ``"fd"``.

    Returns:
        A `batch x (L*D) x d` tensor, row ``i*D + j`` the gradient of logit ``(i, j)``.
    """
    return logits_and_jacobian(decoder, z, method, eps)[1]
