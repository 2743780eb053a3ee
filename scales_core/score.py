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
import warnings

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ._checks import Decoder, check_latents, is_int
from .jacobian import (
    JACOBIAN_METHODS,
    check_eps,
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
    "NORMALIZERS",
    "CHUNK_SIZES",
    "clip_logits",
    "rank_deficient",
]

FORMULAS = ("paper", "forward")
#: The forward formula's per-position normaliser output: ``c_i`` or ``1 / c_i``.
NORMALIZERS = ("c", "inv_c")
GRAD_MODES = ("exact", "cpa")
#: Rows per chunk of :class:`ScaLES` with ``chunk_size="auto"``, by device type. The
#: exact-gradient graph of one row of the SMILES checkpoint (L=120, D=35, d=56) takes
#: about 80 MB, so 12 rows keep a CPU batch of 2000 under 2 GB while the paper's
#: batches (5, 10) stay whole; a GPU has the memory for 128 rows (10 GB), and there a
#: chunk costs a recomputation, not less time.
#: A decoder can name its own with a ``scales_chunk_sizes`` dict of the same form.
CHUNK_SIZES = {"cpu": 12, "cuda": 128}


def _check_rho(rho) -> float:
    """``rho`` as a finite float; ``ValueError`` naming ``rho`` otherwise."""
    if isinstance(rho, Tensor):
        ok = rho.numel() == 1 and rho.dtype != torch.bool and not rho.is_complex()
        value = float(rho.detach()) if ok else None
    else:
        ok = isinstance(rho, numbers.Real) and not isinstance(rho, bool)
        value = float(rho) if ok else None
    if value is None or not math.isfinite(value):
        raise ValueError(f"rho must be a finite real number, got {rho!r}")
    return value


def _check_chunk_size(chunk_size) -> None:
    if chunk_size is None or chunk_size == "auto":
        return
    if not is_int(chunk_size, 1):
        raise ValueError(
            f"chunk_size must be a positive int, 'auto' or None, got {chunk_size!r}"
        )


def _check_clip(logit_clip) -> float | None:
    """``logit_clip`` as a positive float or ``None``; ``ValueError`` otherwise."""
    if logit_clip is None:
        return None
    ok = isinstance(logit_clip, numbers.Real) and not isinstance(logit_clip, bool)
    if not ok or not math.isfinite(logit_clip) or logit_clip <= 0:
        raise ValueError(f"logit_clip must be a positive number or None, got {logit_clip!r}")
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


def prior_score(z: Tensor, scale: float = 1.0) -> Tensor:
    r"""Isotropic Gaussian log-density, `batch x d` -> `batch`.

    .. math:: \log N(z; 0, s^2 I) = -\frac{\|z\|^2}{2 s^2} - d \log s - \tfrac d2 \log 2\pi

    Args:
        z: A `batch x d` tensor.
        scale: The prior's standard deviation ``s`` (positive). ``1`` is the
            paper's ``N(0, I)``; a VAE whose reparametrization noise is multiplied by
            ``eps_std`` (the published character VAEs) has its prior at
            ``s = eps_std``, see :attr:`scales_core.datasets.VAE.latent_scale`.

    Raises:
        ValueError: for a scale that is not a positive finite number, or where
            ``|z|^2 / (2 s^2)`` does not fit ``z``'s dtype (``|z| / s`` beyond about
            ``1e19`` in float32, ``1e154`` in float64).
    """
    check_latents(z)
    scale = _check_scale(scale)
    d = z.shape[-1]
    value = (
        -0.5 * (z / scale).square().sum(-1)
        - d * math.log(scale)
        - 0.5 * d * math.log(2 * math.pi)
    )
    if not torch.isfinite(value).all():
        bad = (~torch.isfinite(value)).nonzero().flatten().tolist()
        raise ValueError(
            f"|z|^2/(2 s^2) overflows {z.dtype} in rows {bad[:10]} (|z| too large "
            f"for a prior of scale {scale:g}; use float64 or smaller latents)"
        )
    return value


def _check_scale(scale) -> float:
    """A prior scale as a positive finite float; ``ValueError`` otherwise."""
    ok = isinstance(scale, numbers.Real) and not isinstance(scale, bool)
    if not ok or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"the prior scale must be a positive finite number, got {scale!r}")
    return float(scale)


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
    """Float64 logits `B x L x D`, A as `B x L x D x d`, log-softmax, the mask, R.

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
        logits: `batch x L x D`. A: `batch x (L*D) x d`.
        extra_row: ``"ones"`` or ``"p"``.

    Returns:
        A `batch` float64 tensor, ``-inf`` where ``A`` is rank-deficient (with a
        zero gradient there).

    Raises:
        ValueError: for a non-finite ``A``, or a value beyond float64.
    """
    l64, A64, logp, bad, R = _prepare(logits, A, qr_of_A=True)
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
        logits: `batch x L x D`. A: `batch x (L*D) x d`.
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
    top = l64.argmax(-1)  # (B, L)
    A_top = A64.gather(2, top[..., None, None].expand(B, L, 1, d))  # (B, L, 1, d)
    delta = A64 - A_top  # (B, L, D, d)
    mean_shift = (p.unsqueeze(-1) * delta).sum(2, keepdim=True)  # p^T A_i - A_top
    soft_rows = delta - mean_shift  # A_ij - p^T A_i
    c_rows = (A_top + mean_shift).squeeze(2)  # p^T A_i, scaled by c_i^(+-1) below
    rows = torch.cat([soft_rows.reshape(B, L * D, d), c_rows], dim=1)
    logc = torch.logsumexp(l64, -1)
    log_n = logc if normalizer == "c" else -logc  # the sign of -p/c drops out of J^T J
    log_scale = torch.cat([logp.reshape(B, L * D), log_n], dim=1)
    return _finish(-0.5 * _logdet_gram(rows, log_scale), bad)



class _Recomputed(torch.autograd.Function):
    r"""``fn(z)`` computed without a graph; the backward rebuilds it (checkpointing).

    Only the inputs are kept between the passes, and the forward leaves a single
    autograd node, unlike :func:`torch.utils.checkpoint.checkpoint`, whose
    per-operation nodes (thousands per chunk for a recurrent decoder) stay alive and
    fragment the CPU heap. A backward with ``create_graph=True`` rebuilds the graph
    from the original inputs and keeps it, so higher-order gradients through a
    chunk are those of the unchunked score.
    """

    @staticmethod
    def forward(ctx, fn, z: Tensor, *params: Tensor) -> Tensor:  # noqa: D102
        ctx.fn = fn
        ctx.save_for_backward(z, *params)
        with torch.no_grad():
            return fn(z)

    @staticmethod
    def backward(ctx, grad_out: Tensor):  # noqa: D102
        z, *params = ctx.saved_tensors
        need = ctx.needs_input_grad[1:]
        create_graph = torch.is_grad_enabled()  # True under create_graph=True
        with torch.enable_grad():
            if create_graph:  # differentiate from the inputs themselves: exact, any order
                x = z if z.requires_grad else z.detach().requires_grad_(need[0])
            else:
                x = z.detach().requires_grad_(need[0])
            out = ctx.fn(x)
        inputs = [t for t, n in zip([x, *params], need) if n]
        if out.requires_grad:
            grads = torch.autograd.grad(
                out, inputs, grad_out, allow_unused=True, create_graph=create_graph
            )
        else:
            grads = [None] * len(inputs)
        grads = iter(grads)
        return (None, *(next(grads) if n else None for n in need))


class ScaLES(nn.Module):
    r"""The Scalable Latent Exploration Score of a decoder.

    .. math:: S_\rho(z) = \log N(z; 0, s^2 I) + \rho \cdot \mathrm{log\_det}(z)

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits; run in eval mode.
        rho: Weight of the log-determinant term.
        prior_scale: The standard deviation ``s`` of the prior term. ``1.0`` (the
            default) is the paper's ``N(0, I)``; a VAE trained with its noise scaled
            by ``eps_std`` has its prior at ``s = eps_std`` (pass
            ``vae.latent_scale``). The term's gradient ``-z / s^2`` then weighs as
            much against the log-determinant at the data's radius as ``-z`` does for
            a standard VAE.
        formula: ``"paper"`` (Eq. 13, pseudo-inverse) or ``"forward"``
            (push-forward density on the decoder image).
        normalizer: The forward formula's normaliser output, ``"c"`` (the
            default) or ``"inv_c"`` (the later published release); see the module
            notes. The pinv formula takes only ``"c"`` (Thm 3.1's row
            ``1^T / c_i``: the derivative of the logits w.r.t. ``c_i``).
        logit_clip: Clamp the logits to ``[-logit_clip, logit_clip]`` before the
            softmax (straight-through derivative; ``clip_logits``); the first
            published release's penalty gradient uses 12. ``None``: no clip.
        positions: Use only the first ``positions`` sequence positions (a causal
            decoder that takes a ``positions`` keyword stops decoding there).
        jacobian: ``"forward"``, ``"fd"`` or ``"reverse"`` (see
            :func:`scales_core.decoder_jacobian`).
        grad: ``"exact"`` differentiates through the Jacobian; ``"cpa"`` holds it
            fixed (the piecewise-affine view), which needs only one extra backward.
        eps: Finite-difference step for ``jacobian="fd"`` (positive).
        cuda_graph: On a GPU, replay the decoder's forward mode (and its backward)
            from CUDA graphs when the decoder's parameters are frozen (see
            :mod:`scales_core.cuda_graph`); ``False`` runs it eagerly.
        chunk_size: Rows scored at a time (``"auto"``: the decoder's
            ``scales_chunk_sizes``, else :data:`CHUNK_SIZES`, for the latents' device), which bounds memory: under autograd each chunk is an activation checkpoint (computed
            without a graph, which is rebuilt one chunk at a time in the backward
            pass; :func:`torch.utils.checkpoint.checkpoint` for a decoder that is
            not an ``nn.Module``), so the exact gradient of the SMILES checkpoint
            needs about 1 GB for 12 rows instead of 80 MB per row of the whole
            batch. Values and gradients of every order (w.r.t. ``z`` and the
            decoder's parameters; a backward with ``create_graph=True`` rebuilds
            each chunk's graph) are those of the unchunked score. ``None`` scores
            the batch at once (faster on a GPU with memory to spare).

    Rank-deficient Jacobians (e.g. a decoder that ignores a latent coordinate, or
    saturates at large ``|z|``) give a log-determinant of ``-inf`` (see
    :func:`log_det_paper`), a score of ``-inf`` for ``rho > 0`` (the prior alone for
    ``rho = 0``, ``+inf`` for ``rho < 0``) and a ``RuntimeWarning`` naming the rows
    of the batch. The log-determinant adds a zero gradient on those rows (their
    gradient is the prior's, ``-z``), so they never put NaN into the others'.

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
        chunk_size: int | str | None = "auto",
        prior_scale: float = 1.0,
        normalizer: str = "c",
        logit_clip: float | None = None,
    ) -> None:
        super().__init__()
        if formula not in FORMULAS:
            raise ValueError(f"unknown formula {formula!r}; use one of {FORMULAS}")
        if normalizer not in NORMALIZERS:
            raise ValueError(f"unknown normalizer {normalizer!r}; use one of {NORMALIZERS}")
        if formula == "paper" and normalizer != "c":
            raise ValueError(
                "normalizer='inv_c' is an option of formula='forward'; the pinv "
                "formula's normaliser row is Thm 3.1's 1^T / c_i"
            )
        if jacobian not in JACOBIAN_METHODS:
            raise ValueError(f"unknown jacobian {jacobian!r}; use {JACOBIAN_METHODS}")
        if grad not in GRAD_MODES:
            raise ValueError(f"unknown grad {grad!r}; use one of {GRAD_MODES}")
        check_positions(positions)
        check_eps(eps)
        _check_chunk_size(chunk_size)
        self.decoder = decoder
        self.rho = _check_rho(rho)
        self.formula = formula
        self.positions = positions
        self.jacobian = jacobian
        self.grad = grad
        self.eps = eps
        self.cuda_graph = bool(cuda_graph)
        self.chunk_size = chunk_size
        self.prior_scale = _check_scale(prior_scale)
        self.normalizer = normalizer
        self.logit_clip = _check_clip(logit_clip)

    def log_det(self, z: Tensor) -> Tensor:
        r"""The rho-free log-determinant term (``S = prior + rho * log_det``).

        Args:
            z: A `batch x d` float32 or float64 tensor.

        Returns:
            A `batch` tensor in ``z``'s dtype, differentiable per ``grad``; ``-inf``
            (with a ``RuntimeWarning`` naming the rows) where the Jacobian is
            rank-deficient.

        Raises:
            ValueError: for bad ``z`` (see ``_checks.check_latents``), a
                dtype other than float32/float64, or a value beyond ``z``'s dtype.
        """
        check_latents(z, self.decoder)
        if z.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"z must be float32 or float64, got {z.dtype}")
        rows = self._rows_per_chunk(z)
        if rows is None or z.shape[0] <= rows:
            return self._warn_rank(self._log_det(z))
        return self._warn_rank(self._chunked(z, rows))

    def _rows_per_chunk(self, z: Tensor) -> int | None:
        if self.chunk_size == "auto":
            sizes = getattr(self.decoder, "scales_chunk_sizes", CHUNK_SIZES)
            return sizes.get(z.device.type, CHUNK_SIZES.get(z.device.type, CHUNK_SIZES["cpu"]))
        return self.chunk_size

    def _chunked(self, z: Tensor, rows: int) -> Tensor:
        """:meth:`_log_det` by chunks of ``rows`` rows, each checkpointed."""
        chunks = z.split(rows)
        if not torch.is_grad_enabled():
            return torch.cat([self._log_det(chunk) for chunk in chunks])
        if isinstance(self.decoder, nn.Module):
            params = [p for p in self.decoder.parameters() if p.requires_grad]
            return torch.cat(
                [_Recomputed.apply(self._log_det, chunk, *params) for chunk in chunks]
            )
        # a plain function: its parameters are unknown, torch's checkpoint finds them
        return torch.cat(
            [checkpoint(self._log_det, chunk, use_reentrant=False) for chunk in chunks]
        )

    @staticmethod
    def _warn_rank(out: Tensor) -> Tensor:
        """``out``, after a warning naming its ``-inf`` (rank-deficient) rows."""
        lost = torch.isneginf(out)
        if lost.any():
            warnings.warn(
                f"rank-deficient decoder Jacobian in batch rows "
                f"{lost.nonzero().flatten().tolist()[:20]}: log_det is -inf there "
                "(the decoder does not depend on every latent direction)",
                RuntimeWarning,
                stacklevel=3,
            )
        return out

    def _log_det(self, z: Tensor) -> Tensor:
        """:meth:`log_det` of one chunk, without the checks and the warning."""
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
        logits = clip_logits(logits, self.logit_clip)
        if self.formula == "forward":
            value = log_det_forward(logits, A, self.normalizer)
        else:
            value = log_det_paper(logits, A)
        out = value.to(z.dtype)
        if (torch.isinf(out) & torch.isfinite(value)).any():
            raise ValueError(f"the log-determinant overflows {z.dtype}; use float64")
        return out

    def forward(self, z: Tensor) -> Tensor:
        r"""The score, `batch x d` -> `batch` (higher = more in-distribution)."""
        prior = prior_score(z, self.prior_scale)
        log_det = self.log_det(z)
        if self.rho == 0:  # 0 * -inf: a zero weight ignores rank-deficient rows
            log_det = log_det.masked_fill(torch.isneginf(log_det), 0.0)
        return prior + self.rho * log_det

    def extra_repr(self) -> str:
        return (
            f"rho={self.rho}, formula={self.formula!r}, positions={self.positions}, "
            f"jacobian={self.jacobian!r}, grad={self.grad!r}, "
            f"chunk_size={self.chunk_size}, prior_scale={self.prior_scale:g}, "
            f"normalizer={self.normalizer!r}, logit_clip={self.logit_clip}"
        )
