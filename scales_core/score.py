r"""The ScaLES score (Ronen et al., Thm 3.1 and Eq. 13) and its forward variant.

For a decoder with logits ``l(z)`` of shape `L x D`, ``p_i = softmax(l_i)``,
``c_i = sum_j exp(l_ij)`` and Jacobian ``A = dl/dz`` (`LD x d`):

.. math::
    S_\rho(z) = \log N(z; 0, I)
        + \frac{\rho}{2} \log\det\Big(\sum_i P_i W_i P_i^\top\Big),
    \quad P = A^+,\ W_i = \mathrm{diag}(1/p_i^2) + c_i^{-2} \mathbf{1}\mathbf{1}^\top.

With ``P = (A^T A)^{-1} A^T`` the sum is ``(A^T A)^{-1} A^T W A (A^T A)^{-1}``, so

.. math::
    \tfrac12 \log\det(\cdot) = \tfrac12 \log\det(A^\top W A) - \log\det(A^\top A),

the same value as the thin-SVD form ``logdet(U^T W U) - 2 sum log s_k``. Both
determinants come from thin QR factors of `LD x d` (and `(LD + L) x d`) matrices in
float64, with every row scale kept in log space, so no `LD x LD` matrix is built and
the value stays finite for logit gaps of several hundred.

``formula="forward"`` is the push-forward density on the decoder's image,
``log N(z) - rho/2 logdet(J^T J)`` with ``J = d(p_1, c_1, ..., p_L, c_L)/dz``; the
paper's value is never below it (a left inverse versus the Moore-Penrose one).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import Decoder, check_latents
from .jacobian import (
    JACOBIAN_METHODS,
    check_positions,
    decoder_logits,
    logits_and_jacobian,
)

__all__ = [
    "ScaLES",
    "prior_score",
    "log_det_paper",
    "log_det_pinv",
    "log_det_forward",
    "FORMULAS",
]

FORMULAS = ("paper", "forward")
GRAD_MODES = ("exact", "cpa")


def prior_score(z: Tensor) -> Tensor:
    r"""Standard normal log-density, `batch x d` -> `batch`.

    .. math:: \log N(z; 0, I) = -\tfrac12 \|z\|^2 - \tfrac d2 \log 2\pi
    """
    check_latents(z)
    d = z.shape[-1]
    return -0.5 * z.square().sum(-1) - 0.5 * d * math.log(2 * math.pi)


def _logdet_gram(rows: Tensor, log_scale: Tensor) -> Tensor:
    r"""``logdet(Y^T Y)`` for ``Y = diag(exp(log_scale)) @ rows`` without overflow.

    Args:
        rows: `batch x n x d` (float64), ``n >= d``.
        log_scale: `batch x n` log row scales.

    Returns:
        A `batch` tensor.
    """
    d = rows.shape[-1]
    m = log_scale.amax(-1, keepdim=True)  # (batch, 1)
    order = torch.argsort(log_scale, dim=-1, descending=True)  # graded rows first
    scale = torch.exp(log_scale - m).gather(-1, order)
    Y = rows.gather(-2, order.unsqueeze(-1).expand_as(rows)) * scale.unsqueeze(-1)
    R = torch.linalg.qr(Y, mode="reduced").R  # (batch, d, d)
    diag = torch.diagonal(R, dim1=-2, dim2=-1).abs()
    return 2 * d * m.squeeze(-1) + 2 * torch.log(diag).sum(-1)


def _prepare(logits: Tensor, A: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Float64 copies: logits `B x L x D`, A as `B x L x D x d`, log-softmax."""
    B, L, D = logits.shape
    l64 = logits.to(torch.float64)
    A64 = A.to(torch.float64).reshape(B, L, D, -1)
    if A64.shape[1] * D < A64.shape[-1]:
        raise ValueError(
            f"L*D={L * D} output coordinates cannot determine d={A64.shape[-1]} "
            "latent directions; use more positions"
        )
    return l64, A64, torch.log_softmax(l64, dim=-1)


def log_det_paper(logits: Tensor, A: Tensor) -> Tensor:
    r"""The rho-free term of Eq. 13, ``1/2 logdet(sum_i P_i W_i P_i^T)``.

    Args:
        logits: `batch x L x D` decoder logits.
        A: `batch x (L*D) x d` Jacobian of the flattened logits.

    Returns:
        A `batch` float64 tensor.
    """
    return log_det_pinv(logits, A, extra_row="ones")


def log_det_pinv(logits: Tensor, A: Tensor, extra_row: str = "ones") -> Tensor:
    r"""``1/2 logdet(P W P^T)`` with ``P = pinv(A)`` and a choice of normaliser row.

    ``W_i = diag(1/p_i^2) + b_i b_i^T`` with ``b_i = 1/c_i`` (``extra_row="ones"``,
    Thm 3.1: the derivative of the logits w.r.t. ``c_i``) or ``b_i = p_i / c_i``
    (``extra_row="p"``: minus the derivative of ``1/c_i`` w.r.t. the logits, the row
    the published reference code uses).

    Args:
        logits: `batch x L x D`. A: `batch x (L*D) x d`.
        extra_row: ``"ones"`` or ``"p"``.

    Returns:
        A `batch` float64 tensor.
    """
    l64, A64, logp = _prepare(logits, A)
    B, L, D, d = A64.shape
    logc = torch.logsumexp(l64, dim=-1)  # (B, L)
    if extra_row == "ones":
        extra = A64.sum(2)  # (B, L, d): 1^T A_i
    elif extra_row == "p":
        extra = (logp.exp().unsqueeze(-1) * A64).sum(2)  # p_i^T A_i
    else:
        raise ValueError(f"extra_row must be 'ones' or 'p', got {extra_row!r}")
    # Rows of W^{1/2} A: (1/p_ij) A_ij and the scaled normaliser row.
    rows = torch.cat([A64.reshape(B, L * D, d), extra], dim=1)
    log_scale = torch.cat([-logp.reshape(B, L * D), -logc], dim=1)
    logdet_AWA = _logdet_gram(rows, log_scale)
    logdet_AA = _logdet_gram(A64.reshape(B, L * D, d), A64.new_zeros(B, L * D))
    return 0.5 * logdet_AWA - logdet_AA


def log_det_forward(logits: Tensor, A: Tensor) -> Tensor:
    r"""The rho-free term of the forward formula, ``-1/2 logdet(J^T J)``.

    ``J`` stacks, per position, ``(diag(p_i) - p_i p_i^T) A_i`` and ``c_i p_i^T A_i``.
    Differences are taken against the most likely symbol's row, so confident
    positions (``p`` near one-hot) lose no precision.

    Args:
        logits: `batch x L x D`. A: `batch x (L*D) x d`.

    Returns:
        A `batch` float64 tensor.
    """
    l64, A64, logp = _prepare(logits, A)
    B, L, D, d = A64.shape
    p = logp.exp()
    top = l64.argmax(-1)  # (B, L)
    A_top = A64.gather(2, top[..., None, None].expand(B, L, 1, d))  # (B, L, 1, d)
    delta = A64 - A_top  # (B, L, D, d)
    mean_shift = (p.unsqueeze(-1) * delta).sum(2, keepdim=True)  # p^T A_i - A_top
    soft_rows = delta - mean_shift  # A_ij - p^T A_i
    c_rows = (A_top + mean_shift).squeeze(2)  # p^T A_i, scaled by c_i below
    rows = torch.cat([soft_rows.reshape(B, L * D, d), c_rows], dim=1)
    log_scale = torch.cat([logp.reshape(B, L * D), torch.logsumexp(l64, -1)], dim=1)
    return -0.5 * _logdet_gram(rows, log_scale)


_LOG_DETS = {"paper": log_det_paper, "forward": log_det_forward}


class ScaLES(nn.Module):
    r"""The Scalable Latent Exploration Score of a decoder.

    .. math:: S_\rho(z) = \log N(z; 0, I) + \rho \cdot \mathrm{log\_det}(z)

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits; run in eval mode.
        rho: Weight of the log-determinant term.
        formula: ``"paper"`` (Eq. 13, pseudo-inverse) or ``"forward"``
            (push-forward density on the decoder image).
        positions: Use only the first ``positions`` sequence positions (a causal
            decoder that takes a ``positions`` keyword stops decoding there).
        jacobian: ``"forward"``, ``"fd"`` or ``"reverse"`` (see
            :func:`scales_core.decoder_jacobian`).
        grad: ``"exact"`` differentiates through the Jacobian; ``"cpa"`` holds it
            fixed (the piecewise-affine view), which needs only one extra backward.
        eps: Finite-difference step for ``jacobian="fd"``.
        cuda_graph: On a GPU, replay the decoder's forward mode (and its backward)
            from CUDA graphs when the decoder's parameters are frozen (see
            :mod:`scales_core.cuda_graph`); ``False`` runs it eagerly.

    Example:
        >>> s = ScaLES(vae.decoder, rho=1.0)
        >>> s(torch.randn(5, vae.latent_dim))  # (5,)
    """

    def __init__(
        self,
        decoder: Decoder,
        rho: float = 1.0,
        formula: str = "paper",
        positions: int | None = None,
        jacobian: str = "forward",
        grad: str = "exact",
        eps: float = 1e-4,
        cuda_graph: bool = True,
    ) -> None:
        super().__init__()
        if formula not in FORMULAS:
            raise ValueError(f"unknown formula {formula!r}; use one of {FORMULAS}")
        if jacobian not in JACOBIAN_METHODS:
            raise ValueError(f"unknown jacobian {jacobian!r}; use {JACOBIAN_METHODS}")
        if grad not in GRAD_MODES:
            raise ValueError(f"unknown grad {grad!r}; use one of {GRAD_MODES}")
        check_positions(positions)
        if not math.isfinite(rho):
            raise ValueError(f"rho must be finite, got {rho}")
        self.decoder = decoder
        self.rho = float(rho)
        self.formula = formula
        self.positions = positions
        self.jacobian = jacobian
        self.grad = grad
        self.eps = eps
        self.cuda_graph = bool(cuda_graph)

    def log_det(self, z: Tensor) -> Tensor:
        r"""The rho-free log-determinant term (``S = prior + rho * log_det``).

        Args:
            z: A `batch x d` tensor.

        Returns:
            A `batch` tensor in ``z``'s dtype, differentiable per ``grad``.
        """
        check_latents(z, self.decoder)
        kwargs = dict(positions=self.positions, cuda_graph=self.cuda_graph)
        if self.grad == "exact" or not (torch.is_grad_enabled() and z.requires_grad):
            logits, A = logits_and_jacobian(
                self.decoder, z, self.jacobian, self.eps, **kwargs
            )
        else:  # cpa: the Jacobian is held fixed, only the logits carry a gradient
            with torch.no_grad():
                _, A = logits_and_jacobian(
                    self.decoder, z, self.jacobian, self.eps, **kwargs
                )
            logits = decoder_logits(self.decoder, z, **kwargs)
        return _LOG_DETS[self.formula](logits, A).to(z.dtype)

    def forward(self, z: Tensor) -> Tensor:
        r"""The score, `batch x d` -> `batch` (higher = more in-distribution)."""
        return prior_score(z) + self.rho * self.log_det(z)

    def extra_repr(self) -> str:
        return (
            f"rho={self.rho}, formula={self.formula!r}, positions={self.positions}, "
            f"jacobian={self.jacobian!r}, grad={self.grad!r}"
        )
