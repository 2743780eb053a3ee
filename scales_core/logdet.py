r"""The volume term of the ScaLES score: the log-determinant from logits and Jacobians.

The rho-free term of the score (Ronen et al., Thm 3.1 and Eq. 13) and of its forward
variant; :class:`scales_core.score.ScaLES` adds it to the prior term.

For a decoder with logits ``l(z)`` of shape `L x D`, ``p_i = softmax(l_i)``,
``c_i = sum_j exp(l_ij)`` and Jacobian ``A = dl/dz`` (`(L*D) x d`):

.. math::
    S_\rho(z) = \log N(z; 0, I)
        + \frac{\rho}{2} \log\det\Big(\sum_i P_i W_i P_i^\top\Big),
    \quad P = A^+,\ W_i = \mathrm{diag}(1/p_i^2) + c_i^{-2} \mathbf{1}\mathbf{1}^\top.

With ``P = (A^T A)^{-1} A^T`` the sum is ``(A^T A)^{-1} A^T W A (A^T A)^{-1}``, so

.. math::
    \tfrac12 \log\det(\cdot) = \tfrac12 \log\det(A^\top W A) - \log\det(A^\top A),

the same value as the thin-SVD form ``logdet(U^T W U) - 2 sum log s_k``. Both
determinants come from thin QR factors of `(L*D) x d` (and `(L*D + L) x d`) matrices in
float64, with every row scale kept in log space, so no `(L*D) x (L*D)` matrix is built and
the value stays finite for logit gaps of several hundred.

``formula="forward"`` is the push-forward density on the decoder's image,
``log N(z) - rho/2 logdet(J^T J)`` with ``J = d(p_1, n_1, ..., p_L, n_L)/dz`` and the
per-position normaliser output ``n_i = c_i`` (``normalizer="c"``, row ``c_i p_i^T A_i``)
or ``n_i = 1/c_i`` (``normalizer="inv_c"``, row ``-p_i^T A_i / c_i``, the output of the
later published release, OmerRonen/scales 152b0f1, ``les/utils/les.py``,
``SoftMax.jacobian_full``). With Eq. 13's pinv the paper's value is never below the
forward one with the ``c`` row (a left inverse versus the Moore-Penrose one).

Why the row matters: a confident position (large ``c_i``, ``p_i`` near one-hot) has
a near-zero softmax block, so its ``c`` row, of size ``c_i |A_i|``, dominates
``J^T J``; ``-1/2 logdet`` then falls as confidence grows, ranking confident
(valid) decodes *lowest*. The ``1/c`` row shrinks as ``c_i`` grows, so confident
positions contribute little volume and score high, as the pinv formula does.

``logit_clip`` clamps the logits to ``[-clip, clip]`` before the softmax, as the
first published release (811cd8f, ``scales/utils/scales.py``,
``calculate_scales_derivative``, ``thres=12``) does in its penalty gradient. It bounds
the ``1/p`` weights of the pinv formula. The clamp is straight-through: the value
uses the clamped logits, the derivative passes the logits' own derivative (the
release's hand-written gradient multiplies the unclamped Jacobian ``A`` by the
softmax derivative at the clamped probabilities).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

__all__ = [
    "log_det_paper",
    "log_det_pinv",
    "log_det_forward",
    "FORMULAS",
    "NORMALIZERS",
    "clip_logits",
    "rank_deficient",
]

FORMULAS = ("paper", "forward")
#: The forward formula's per-position normaliser output: ``c_i`` or ``1 / c_i``.
NORMALIZERS = ("c", "inv_c")


def _check_clip(logit_clip) -> float | None:
    """``logit_clip`` as a positive float or ``None``; ``ValueError`` otherwise."""
    if logit_clip is None:
        return None
    ok = isinstance(logit_clip, numbers.Real) and not isinstance(logit_clip, bool)
    if not ok or not math.isfinite(logit_clip) or logit_clip <= 0:
        raise ValueError(
            f"logit_clip must be a positive number or None, got {logit_clip!r}"
        )
    return float(logit_clip)


def clip_logits(logits: Tensor, logit_clip: float | None) -> Tensor:
    r"""Logits clamped to ``[-clip, clip]`` with a straight-through derivative.

    The value is ``logits.clamp(-clip, clip)``; the derivative is the identity's,
    as in the first release's penalty gradient (see the module notes).

    Args:
        logits: `batch x L x D`.
        logit_clip: The bound (positive), or ``None`` for no clip.

    Returns:
        A tensor of ``logits``' shape and dtype.
    """
    clip = _check_clip(logit_clip)
    if clip is None:
        return logits
    return logits + (logits.clamp(-clip, clip) - logits).detach()


def _logdet_gram(rows: Tensor, log_scale: Tensor) -> Tensor:
    r"""``logdet(Y^T Y)`` for ``Y = diag(exp(log_scale)) @ rows`` without overflow.

    Args:
        rows: `batch x n x d` (float64), ``n >= d``.
        log_scale: `batch x n` log row scales.

    Returns:
        A `batch` tensor.
    """
    d = rows.shape[-1]
    m = log_scale.amax(-1, keepdim=True)  # `batch x 1`
    order = torch.argsort(log_scale, dim=-1, descending=True)  # graded rows first
    scale = torch.exp(log_scale - m).gather(-1, order)
    Y = rows.gather(-2, order.unsqueeze(-1).expand_as(rows)) * scale.unsqueeze(-1)
    R = torch.linalg.qr(Y, mode="reduced").R  # `batch x d x d`
    diag = torch.diagonal(R, dim1=-2, dim2=-1).abs()
    return 2 * d * m.squeeze(-1) + 2 * torch.log(diag).sum(-1)


def rank_deficient(A: Tensor) -> Tensor:
    r"""Rows of a batch whose Jacobian has lost rank (fewer than `d` directions).

    ``A`` counts as rank-deficient when a diagonal entry of its thin QR factor is at
    most ``max|R_kk| * max(n, d) * eps`` with ``eps`` the float64 machine epsilon
    (NumPy's ``matrix_rank`` tolerance; ``min|R_kk|`` bounds the smallest singular
    value from above, so no matrix of full rank by that rule is flagged). This
    catches exact rank loss (a latent coordinate the decoder ignores, saturated
    units), not ill-conditioning: the published SMILES Jacobians have condition
    numbers near ``1e9`` and keep their (finite) scores, in float32 too.

    Args:
        A: `batch x n x d` Jacobian.

    Returns:
        A `batch` bool tensor, no gradient.
    """
    with torch.no_grad():
        R = torch.linalg.qr(A.detach().to(torch.float64), mode="r").R
    return _rank_deficient_R(R, A.shape[-2])


def _rank_deficient_R(R: Tensor, n: int) -> Tensor:
    """:func:`rank_deficient` from the `batch x d x d` R factor of `n`-row matrices."""
    d = R.shape[-1]
    with torch.no_grad():
        diag = torch.diagonal(R, dim1=-2, dim2=-1).abs()
        tol = diag.amax(-1) * max(n, d) * torch.finfo(torch.float64).eps
        return diag.amin(-1) <= tol


def _prepare(
    logits: Tensor, A: Tensor, qr_of_A: bool = False
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None]:
    """Float64 logits `batch x L x D`, A as `batch x L x D x d`, log-softmax, the mask, R.

    Rows where ``A`` is rank-deficient (:func:`rank_deficient`) get a stand-in
    full-rank Jacobian (their value is replaced by ``-inf`` afterwards), so that no
    NaN reaches the gradients of the other rows through ``0 * inf``. With
    ``qr_of_A`` the rank test uses the (differentiable) thin QR factor ``R`` of
    ``A`` that the caller needs anyway, which is returned; otherwise ``R`` is
    ``None`` and the test factors ``A`` on its own.
    """
    B, L, D = logits.shape
    l64 = logits.to(torch.float64)
    A64 = A.to(torch.float64).reshape(B, L, D, -1)
    d = A64.shape[-1]
    if L * D < d:
        raise ValueError(
            f"L*D={L * D} output coordinates cannot determine d={d} "
            "latent directions; use more positions"
        )
    if not torch.isfinite(A64).all():
        rows = (~torch.isfinite(A64)).flatten(1).any(-1).nonzero().flatten().tolist()
        raise ValueError(f"the Jacobian has non-finite entries in rows {rows[:10]}")
    # Q is needed only for the backward pass
    mode = "reduced" if torch.is_grad_enabled() and A64.requires_grad else "r"
    R = torch.linalg.qr(A64.reshape(B, L * D, d), mode=mode).R if qr_of_A else None
    if R is None:
        bad = rank_deficient(A64.reshape(B, L * D, d))
    else:
        bad = _rank_deficient_R(R, L * D)
    if bad.any():
        stand_in = torch.eye(L * D, d, dtype=torch.float64, device=A64.device)
        A64 = torch.where(bad[:, None, None, None], stand_in.reshape(L, D, d), A64)
        if qr_of_A:
            R = torch.linalg.qr(A64.reshape(B, L * D, d), mode=mode).R
    return l64, A64, torch.log_softmax(l64, dim=-1), bad, R


def _finish(value: Tensor, bad: Tensor) -> Tensor:
    """``value`` with ``-inf`` on the rank-deficient rows ``bad``; refuse overflow."""
    broken = ~torch.isfinite(value) & ~bad
    if broken.any():
        raise ValueError(
            "the log-determinant is not representable in float64 in rows "
            f"{broken.nonzero().flatten().tolist()[:10]} (logit gaps of thousands "
            "of nats: is |z| far outside the prior?)"
        )
    return value.masked_fill(bad, -math.inf)


def log_det_paper(logits: Tensor, A: Tensor) -> Tensor:
    r"""The rho-free term of Eq. 13, ``1/2 logdet(sum_i P_i W_i P_i^T)``.

    A rank-deficient ``A`` gives ``-inf``: ``P = pinv(A)`` then has rank below
    `d`, so ``P W P^T`` is singular.

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
        logits: `batch x L x D`.
        A: `batch x (L*D) x d`.
        extra_row: ``"ones"`` or ``"p"``.

    Returns:
        A `batch` float64 tensor, ``-inf`` where ``A`` is rank-deficient (with a
        zero gradient there).

    Raises:
        ValueError: for a non-finite ``A``, or a value beyond float64.
    """
    l64, A64, logp, bad, R = _prepare(logits, A, qr_of_A=True)
    B, L, D, d = A64.shape
    logc = torch.logsumexp(l64, dim=-1)  # `batch x L`
    if extra_row == "ones":
        extra = A64.sum(2)  # `batch x L x d`: 1^T A_i
    elif extra_row == "p":
        extra = (logp.exp().unsqueeze(-1) * A64).sum(2)  # p_i^T A_i
    else:
        raise ValueError(f"extra_row must be 'ones' or 'p', got {extra_row!r}")
    # Rows of W^{1/2} A: (1/p_ij) A_ij and the scaled normaliser row.
    rows = torch.cat([A64.reshape(B, L * D, d), extra], dim=1)
    log_scale = torch.cat([-logp.reshape(B, L * D), -logc], dim=1)
    logdet_AWA = _logdet_gram(rows, log_scale)
    # logdet(A^T A) from the QR factor the rank test used (rows unscaled)
    logdet_AA = 2 * torch.diagonal(R, dim1=-2, dim2=-1).abs().log().sum(-1)
    return _finish(0.5 * logdet_AWA - logdet_AA, bad)


def log_det_forward(logits: Tensor, A: Tensor, normalizer: str = "c") -> Tensor:
    r"""The rho-free term of the forward formula, ``-1/2 logdet(J^T J)``.

    ``J`` stacks, per position, ``(diag(p_i) - p_i p_i^T) A_i`` and the normaliser
    row: ``c_i p_i^T A_i`` (``normalizer="c"``) or ``-p_i^T A_i / c_i``
    (``normalizer="inv_c"``, the later published release); its scale ``c_i^{\pm 1}``
    is kept in log space (finite for logits of several hundred).
    Differences are taken against the most likely symbol's row, so confident
    positions (``p`` near one-hot) lose no precision. A rank-deficient ``A`` gives
    ``-inf``, as in :func:`log_det_paper` (the push-forward has no density on a
    lower-dimensional image; ``-inf`` keeps a maximizer away from it).

    Args:
        logits: `batch x L x D`.
        A: `batch x (L*D) x d`.
        normalizer: ``"c"`` or ``"inv_c"`` (``NORMALIZERS``).

    Returns:
        A `batch` float64 tensor, ``-inf`` where ``A`` is rank-deficient (with a
        zero gradient there).

    Raises:
        ValueError: for a non-finite ``A``, an unknown ``normalizer``, or a value
            beyond float64.
    """
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}")
    l64, A64, logp, bad, _ = _prepare(logits, A)
    B, L, D, d = A64.shape
    p = logp.exp()
    top = l64.argmax(-1)  # `batch x L`
    # A_top: `batch x L x 1 x d`
    A_top = A64.gather(2, top[..., None, None].expand(B, L, 1, d))
    delta = A64 - A_top  # `batch x L x D x d`
    mean_shift = (p.unsqueeze(-1) * delta).sum(2, keepdim=True)  # p^T A_i - A_top
    soft_rows = delta - mean_shift  # A_ij - p^T A_i
    c_rows = (A_top + mean_shift).squeeze(2)  # p^T A_i, scaled by c_i^(+-1) below
    rows = torch.cat([soft_rows.reshape(B, L * D, d), c_rows], dim=1)
    logc = torch.logsumexp(l64, -1)
    log_n = logc if normalizer == "c" else -logc  # the sign of -p/c drops out of J^T J
    log_scale = torch.cat([logp.reshape(B, L * D), log_n], dim=1)
    return _finish(-0.5 * _logdet_gram(rows, log_scale), bad)
