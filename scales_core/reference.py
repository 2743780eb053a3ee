r"""The score as the published reference code computes it, for comparison only.

Per the project's design notes, the published code (github.com/OmerRonen/scales)
differs from Eq. 13 in three ways, reproduced here so the theorem chapter can measure
the effect of each:

1. ``A`` comes from forward finite differences (step ``eps``) in one batched call of
   `batch * (d + 1)` latents, with the decoder left in train mode: dropout stays on, so
   every row of that call draws its own mask and the score is random;
2. the normaliser row is ``p_i / c_i`` (minus ``d(1/c_i)/dl_i``) instead of ``1 / c_i``;
3. the prior term is omitted.

It also holds literal float64 implementations of Eq. 13 and of the forward formula
(:func:`naive_paper_score`, :func:`naive_forward_score`) with explicit pseudo-inverses
and block matrices: the baselines for tests and timings.

Use :class:`scales_core.ScaLES` for the exact score.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import Tensor

from ._checks import Decoder, call_decoder, check_latents, check_logits
from .score import log_det_pinv

__all__ = [
    "decoder_mode",
    "published_jacobian",
    "published_score",
    "naive_paper_score",
    "naive_forward_score",
]


@contextmanager
def decoder_mode(decoder: Decoder, train: bool):
    """Put a module decoder in train (``True``) or eval mode, restored on exit.

    A plain function (no ``train`` method) is left as it is.
    """
    was_training = getattr(decoder, "training", None)
    if was_training is not None:
        decoder.train(train)
    try:
        yield decoder
    finally:
        if was_training is not None:
            decoder.train(was_training)


def published_jacobian(
    decoder: Decoder,
    z: Tensor,
    eps: float = 1e-4,
    dropout: bool = True,
    positions: int | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Logits and the forward finite-difference Jacobian, as the published code.

    One batched, gradient-free call of `batch (d + 1)` latents, with the decoder in
    train mode when ``dropout`` (each row draws its own dropout masks).

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        eps: Finite-difference step.
        dropout: Train mode (as published) or eval mode.
        positions: Keep only the first ``positions`` positions.

    Returns:
        ``(logits, A)``: `batch x K x D` and `batch x (K*D) x d` (``K`` = positions).
    """
    check_latents(z, decoder)
    B, d = z.shape
    steps = torch.cat([z.new_zeros(1, d), eps * torch.eye(d).to(z)])
    zz = (z.detach()[:, None, :] + steps).reshape(B * (d + 1), d)
    with torch.no_grad(), decoder_mode(decoder, dropout):
        out = call_decoder(decoder, zz)
    check_logits(out, B * (d + 1))
    out = out.reshape(B, d + 1, *out.shape[1:])
    logits = out[:, 0]
    A = ((out[:, 1:] - out[:, :1]) / eps).flatten(2).transpose(1, 2)  # (B, L*D, d)
    if positions is not None:
        logits, A = logits[:, :positions], A[:, : positions * logits.shape[-1]]
    return logits, A


def published_score(
    decoder: Decoder,
    z: Tensor,
    rho: float = 1.0,
    eps: float = 1e-4,
    dropout: bool = True,
    extra_row: str = "p",
    positions: int | None = None,
) -> Tensor:
    r"""The published code's variant of the score (no prior term).

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        z: A `batch x d` tensor.
        rho: Weight of the log-determinant.
        eps: Finite-difference step.
        dropout: Leave the decoder in train mode (as published); ``False`` switches
            to eval mode to isolate the other two differences.
        extra_row: ``"p"`` (as published) or ``"ones"`` (Thm 3.1).
        positions: Use only the first ``positions`` positions.

    Returns:
        A `batch` tensor: ``rho * 1/2 logdet(P W P^T)``, random when ``dropout``.
    """
    logits, A = published_jacobian(decoder, z, eps, dropout, positions)
    return (rho * log_det_pinv(logits, A, extra_row=extra_row)).to(z.dtype)


def _item_jacobian(
    decoder: Decoder, zi: Tensor, positions: int | None = None
) -> tuple[Tensor, Tensor]:
    """Logits `K x D` and the reverse-mode Jacobian `(K*D) x d` of one latent."""

    def flat(x: Tensor) -> Tensor:
        return decoder(x[None])[0, :positions].reshape(-1)

    A = torch.autograd.functional.jacobian(flat, zi, vectorize=True)
    return decoder(zi[None])[0, :positions], A


def naive_paper_score(
    decoder: Decoder, z: Tensor, rho: float = 1.0, positions: int | None = None
) -> Tensor:
    r"""Eq. 13 written literally, in float64, one latent at a time.

    Full reverse-mode Jacobian, explicit ``pinv(A)``, explicit blocks
    ``B_i = [diag(1/p_i); 1^T / c_i]`` and ``M = sum_i P_i B_i^T B_i P_i^T``. Slow and
    fragile (``1/p`` overflows for confident positions); the baseline that the
    tests and the timing chapter compare :class:`scales_core.ScaLES` with.

    Args:
        decoder: Maps `batch x d` to `batch x L x D` logits.
        z: A `batch x d` tensor.
        rho: Weight of the log-determinant.
        positions: Use only the first ``positions`` positions.

    Returns:
        A `batch` float64 tensor.
    """
    check_latents(z, decoder)
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item_jacobian(decoder, zi, positions)
        logits, A = logits.to(torch.float64), A.to(torch.float64)
        K, D = logits.shape
        P = torch.linalg.pinv(A)  # (d, K*D)
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        d = zi.shape[0]
        M = torch.zeros(d, d, dtype=torch.float64, device=z.device)
        for i in range(K):
            Pi = P[:, i * D : (i + 1) * D]  # (d, D)
            ones = torch.ones(1, D, dtype=torch.float64, device=z.device)
            Bi = torch.cat([torch.diag(1 / p[i]), ones / c[i]], 0)  # (D+1, D)
            M = M + Pi @ Bi.T @ Bi @ Pi.T
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior + rho * 0.5 * torch.logdet(M))
    return torch.stack(out)


def naive_forward_score(decoder: Decoder, z: Tensor, rho: float = 1.0) -> Tensor:
    r"""The forward formula written literally: ``J = blockdiag(F_i) A`` built in full.

    ``F_i = [diag(p_i) - p_i p_i^T; c_i p_i^T]`` and the score is
    ``log N(z) - rho/2 logdet(J^T J)``, in float64, one latent at a time.
    """
    check_latents(z, decoder)
    out = []
    for zi in z.to(torch.float64):
        logits, A = _item_jacobian(decoder, zi)
        logits, A = logits.to(torch.float64), A.to(torch.float64)
        p = torch.softmax(logits, -1)
        c = torch.exp(logits).sum(-1)
        blocks = [
            torch.cat([torch.diag(pi) - torch.outer(pi, pi), ci * pi[None]], 0)
            for pi, ci in zip(p, c)
        ]
        J = torch.block_diag(*blocks) @ A  # (L*(D+1), d)
        d = zi.shape[0]
        prior = -0.5 * zi.square().sum() - 0.5 * d * math.log(2 * math.pi)
        out.append(prior - rho * 0.5 * torch.logdet(J.T @ J))
    return torch.stack(out)
