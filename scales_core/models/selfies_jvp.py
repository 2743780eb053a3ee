r"""Hand-written forward mode for the SELFIES transformer decoder.

The teacher-forced pass of :class:`~scales_core.models.selfies_vae.SelfiesDecoder`
with its input tokens held fixed is pushed forward along all `d` latent
directions at once: every activation ``x`` of shape `batch x S x m` travels with its
tangent ``dx`` of shape `batch x d x S x m`. The same numbers as ``torch.func.jvp``
under ``vmap``, without vmap's copies, and differentiable w.r.t. ``z`` (second
order) since only ordinary autograd-tracked operations are used.

Rules (``xh = (x - mean) * rstd``):

* LayerNorm: ``dxh = rstd * (dxc - xh * mean(xh * dxc))``, ``dxc = dx - mean(dx)``;
* attention ``P = softmax(q k^T / s + mask)``: ``dS = (dq k^T + q dk^T) / s``,
  ``dP = P * (dS - sum(P * dS))``, ``d(P v) = dP v + P dv``;
* GELU (erf form): ``d gelu(x) = (Phi(x) + x phi(x)) dx``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["teacher_forced_jvp"]


def _layer_norm(ln: nn.LayerNorm, x: Tensor, dx: Tensor) -> tuple[Tensor, Tensor]:
    """LayerNorm of ``x`` (`batch x S x m`) and of its tangent (`batch x d x S x m`)."""
    mu = x.mean(-1, keepdim=True)
    xc = x - mu
    rstd = torch.rsqrt(xc.square().mean(-1, keepdim=True) + ln.eps)
    xh = xc * rstd
    dxc = dx - dx.mean(-1, keepdim=True)
    xh_ = xh.unsqueeze(1)
    dxh = rstd.unsqueeze(1) * (dxc - xh_ * (xh_ * dxc).mean(-1, keepdim=True))
    return xh * ln.weight + ln.bias, dxh * ln.weight


def _linear(lin: nn.Linear, x: Tensor, dx: Tensor) -> tuple[Tensor, Tensor]:
    return lin(x), dx @ lin.weight.T


def _heads(x: Tensor, h: int) -> Tensor:  # `... x S x m` -> `... x h x S x m/h`
    return x.unflatten(-1, (h, -1)).transpose(-2, -3)


def _block(
    block: nn.Module, x: Tensor, dx: Tensor, mask: Tensor
) -> tuple[Tensor, Tensor]:
    """One pre-norm block (eval mode) with tangents."""
    h = block.h
    y, dy = _layer_norm(block.norm1, x, dx)
    qkv, dqkv = _linear(block.qkv, y, dy)
    # q, k, v: `batch x h x S x e`; dq, dk, dv: `batch x d x h x S x e`
    q, k, v = (_heads(t, h) for t in qkv.chunk(3, dim=-1))
    dq, dk, dv = (_heads(t, h) for t in dqkv.chunk(3, dim=-1))
    scale = 1.0 / math.sqrt(q.shape[-1])
    # P: `batch x h x S x S`
    P = torch.softmax(q @ k.transpose(-1, -2) * scale + mask, dim=-1)
    q_, k_, v_, P_ = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1), P.unsqueeze(1)
    dS = (dq @ k_.transpose(-1, -2) + q_ @ dk.transpose(-1, -2)) * scale
    dP = P_ * (dS - (P_ * dS).sum(-1, keepdim=True))
    att = (P @ v).transpose(-2, -3).flatten(-2)  # `batch x S x m`
    datt = (dP @ v_ + P_ @ dv).transpose(-2, -3).flatten(-2)  # `batch x d x S x m`
    o, do = _linear(block.proj, att, datt)
    x, dx = x + o, dx + do
    y, dy = _layer_norm(block.norm2, x, dx)
    a, da = _linear(block.ff1, y, dy)
    gelu_grad = 0.5 * (1 + torch.erf(a / math.sqrt(2))) + a * torch.exp(
        -0.5 * a.square()
    ) / math.sqrt(2 * math.pi)
    g, dg = torch.nn.functional.gelu(a), gelu_grad.unsqueeze(1) * da
    f, df = _linear(block.ff2, g, dg)
    return x + f, dx + df


def teacher_forced_jvp(
    decoder: nn.Module, z: Tensor, inputs: Tensor, chunk: int = 8
) -> tuple[Tensor, Tensor]:
    r"""Teacher-forced logits and their Jacobian w.r.t. ``z`` (tokens fixed).

    The decoder must be in eval mode (no dropout). The graph for backward is
    recorded only when ``z`` requires grad (parameters get no gradient otherwise).

    Args:
        decoder: A ``SelfiesDecoder``.
        z: `batch x d` latents.
        inputs: `batch x T` input indices (``[<start>, t_1, ...]``).
        chunk: Batch rows pushed forward together (bounds memory).

    Returns:
        ``(logits, A)``: `batch x T x D` and `batch x (T*D) x d` (row ``t*D + j``).
    """
    z = z.to(decoder.to_memory.weight)
    with torch.set_grad_enabled(torch.is_grad_enabled() and z.requires_grad):
        return _push_forward(decoder, z, inputs, chunk)


def _push_forward(
    decoder: nn.Module, z: Tensor, inputs: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    cfg = decoder.cfg
    M, m, d = cfg.n_memory, cfg.d_model, cfg.latent_dim
    dmem = decoder.to_memory.weight.T.reshape(d, M, m)  # tangent of each direction
    logits_all, A_all = [], []
    for zc, ic in zip(z.split(chunk), inputs.split(chunk)):
        B, T = ic.shape
        tokens = decoder.embed(ic) + decoder.pos.weight[:T]
        x = torch.cat([decoder.memory(zc), tokens], 1)
        dx = torch.cat([dmem.expand(B, d, M, m), x.new_zeros(B, d, T, m)], 2)
        mask = decoder._mask(T, x)
        for block in decoder.blocks:
            x, dx = _block(block, x, dx, mask)
        y, dy = _layer_norm(decoder.norm, x[:, M:], dx[:, :, M:])
        # logits, dlogits: `batch x T x D`, `batch x d x T x D`
        logits, dlogits = _linear(decoder.out, y, dy)
        logits_all.append(logits)
        A_all.append(dlogits.flatten(2).transpose(1, 2))
    return torch.cat(logits_all), torch.cat(A_all)
