r"""The ScaLES score (Ronen et al., Thm 3.1 and Eq. 13) as a module: prior plus volume.

:class:`ScaLES` scores latents as ``log N(z; 0, s^2 I) + rho * log_det(z)``, with
the prior term :func:`prior_score` and the log-determinant term of
:mod:`scales_core.logdet` (its formulas and their notes) from the decoder's logits
and Jacobian, chunked to bound memory.
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
from .logdet import (
    FORMULAS,
    NORMALIZERS,
    _check_clip,
    clip_logits,
    log_det_forward,
    log_det_paper,
)

__all__ = [
    "ScaLES",
    "prior_score",
    "CHUNK_SIZES",
]

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
        raise ValueError(
            f"the prior scale must be a positive finite number, got {scale!r}"
        )
    return float(scale)


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
            if (
                create_graph
            ):  # differentiate from the inputs themselves: exact, any order
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
            default) or ``"inv_c"`` (the later published release); see the notes of
            :mod:`scales_core.logdet`. The pinv formula takes only ``"c"`` (Thm 3.1's
            row ``1^T / c_i``: the derivative of the logits w.r.t. ``c_i``).
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
            ``scales_chunk_sizes``, else :data:`CHUNK_SIZES`, for the latents'
            device), which bounds memory: under autograd each chunk is an
            activation checkpoint (computed without a graph, which is rebuilt one
            chunk at a time in the backward pass;
            :func:`torch.utils.checkpoint.checkpoint` for a decoder that is not an
            ``nn.Module``), so the exact gradient of the SMILES checkpoint
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
            raise ValueError(
                f"unknown normalizer {normalizer!r}; use one of {NORMALIZERS}"
            )
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
            return sizes.get(
                z.device.type, CHUNK_SIZES.get(z.device.type, CHUNK_SIZES["cpu"])
            )
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
        """The options, for the module's ``repr``."""
        return (
            f"rho={self.rho}, formula={self.formula!r}, positions={self.positions}, "
            f"jacobian={self.jacobian!r}, grad={self.grad!r}, "
            f"chunk_size={self.chunk_size}, prior_scale={self.prior_scale:g}, "
            f"normalizer={self.normalizer!r}, logit_clip={self.logit_clip}"
        )
