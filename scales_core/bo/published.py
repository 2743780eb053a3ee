r"""The ScaLES penalty as the published BO code releases apply it.

Both releases of OmerRonen/scales hold the decoder Jacobian ``A`` fixed while the
ascent differentiates the penalty (only the logits move), and both take ``A`` from
forward finite differences; they differ in everything else
(:mod:`scales_core.reference` holds the score values):

==============  ==============================  ===================================
component       first release (811cd8f, 2024)   later release (152b0f1, 2025)
==============  ==============================  ===================================
log-det         pinv (Eq. 13), ``1/c`` row      forward, ``1/c`` output (row -p/c)
``A`` taken at  the current point, every step   the ascent's start points, once
dropout         off (eval mode)                 on (train mode) in ``A`` and logits
logits          clamped to +-12                 as they are
positions       30 (SMILES GRU) or 60           all
prior term      ``log N(z; 0, I)``, weight 1    none
tau             1 / 0.001 / 0.003 (expr/SMILES  1 (irrelevant: no prior, and the
                /SELFIES) on the log-det        gradient is normalized)
==============  ==============================  ===================================

Sources: first release ``scales/utils/scales.py``, ``calculate_scales_derivative``;
``scales/analysis/bo.py``, ``get_params``. Later release ``les/utils/les.py``,
``LES.forward``; ``les/opt/optimizer.py``, ``optimize_ga`` (``a_omega`` computed at
``z_init`` before the loop).

:class:`ReleasePenalty` is one penalty with each component a parameter, so that a
BO run can follow either release or switch one component at a time
(:class:`~scales_core.bo.config.BOConfig` fields ``scales_*``, ``logit_clip``).
:class:`PublishedPenalty` keeps the stored ``scales_pub_*`` runs' penalty: the pinv
formula with the ``p/c`` row, dropout on, ``A`` anchored at the start points, no
prior. That combination is *neither* release (an earlier reading of the code here).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import call_decoder
from ..jacobian import logits_and_jacobian
from ..logdet import (
    FORMULAS,
    NORMALIZERS,
    clip_logits,
    log_det_forward,
    log_det_pinv,
)
from ..reference import decoder_mode, published_jacobian
from ..score import prior_score

__all__ = ["ANCHORS", "ReleasePenalty", "PublishedPenalty"]

#: Where the penalty's Jacobian is taken: at the current point of every ascent step,
#: or once at the ascent's start points.
ANCHORS = ("current", "start")


class ReleasePenalty:
    r"""A ScaLES penalty with ``A`` held fixed, each published choice a parameter.

    The value at `batch x d` latents ``z`` is

    .. math:: \text{prior}(z) + \tau \cdot \text{log\_det}(\text{clip}(l(z)), A)

    with ``A`` from ``jacobian`` at ``z`` (``anchor="current"``) or at the start
    points given to :meth:`anchored` (``anchor="start"``), computed without a graph:
    only the logits carry the gradient.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        formula: ``"paper"`` (pinv, Eq. 13, ``1/c`` row) or ``"forward"``.
        normalizer: The forward formula's normaliser output, ``"c"`` or ``"inv_c"``.
        jacobian: ``"fd"`` (forward differences, as both releases) or
            ``"forward"`` (exact forward mode).
        anchor: ``"current"`` or ``"start"`` (:data:`ANCHORS`).
        dropout: Decoder in train mode for ``A`` and the logits (the later release).
        tau: Weight of the log-determinant.
        logit_clip: Clamp the logits before the softmax (straight-through), or
            ``None``.
        prior_scale: Scale ``s`` of the prior term ``log N(z; 0, s^2 I)``, or
            ``None`` for no prior term.
        positions: Leading positions (``None``: all).
        eps: Finite-difference step.

    Example:
        >>> pen = ReleasePenalty(vae.decoder, formula="forward", normalizer="inv_c",
        ...                      anchor="start", dropout=True, prior_scale=None)
        >>> score = pen.anchored(z0)          # A fixed at the `batch x d` start points
        >>> score(z0 + 0.01).sum().backward()
    """

    def __init__(
        self,
        decoder: Callable[[Tensor], Tensor],
        formula: str = "paper",
        normalizer: str = "c",
        jacobian: str = "fd",
        anchor: str = "current",
        dropout: bool = False,
        tau: float = 1.0,
        logit_clip: float | None = None,
        prior_scale: float | None = 1.0,
        positions: int | None = None,
        eps: float = 1e-4,
    ) -> None:
        if formula not in FORMULAS:
            raise ValueError(f"formula must be one of {FORMULAS}, got {formula!r}")
        if normalizer not in NORMALIZERS:
            raise ValueError(
                f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}"
            )
        if formula == "paper" and normalizer != "c":
            raise ValueError("normalizer='inv_c' is an option of formula='forward'")
        if jacobian not in ("fd", "forward"):
            raise ValueError(f"jacobian must be 'fd' or 'forward', got {jacobian!r}")
        if anchor not in ANCHORS:
            raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        clip_logits(torch.zeros(1, 1, 1), logit_clip)  # validates the clip
        self.decoder, self.formula, self.normalizer = decoder, formula, normalizer
        self.jacobian_method, self.anchor = jacobian, anchor
        self.dropout = bool(dropout)
        self.tau, self.logit_clip, self.prior_scale = (
            float(tau),
            logit_clip,
            prior_scale,
        )
        self.positions, self.eps = positions, float(eps)

    def _logits(self, z: Tensor) -> Tensor:
        """The decoder's logits in the penalty's mode, first ``positions`` kept."""
        with decoder_mode(self.decoder, self.dropout):
            out = call_decoder(self.decoder, z, self.positions)
        return out[:, : self.positions] if self.positions is not None else out

    def jacobian(self, z0: Tensor) -> Tensor:
        r"""The fixed Jacobian at `batch x d` points, `batch x (K*D) x d` (no graph)."""
        if self.jacobian_method == "fd":
            return published_jacobian(
                self.decoder, z0, self.eps, self.dropout, self.positions
            )[1]
        with torch.no_grad(), decoder_mode(self.decoder, self.dropout):
            return logits_and_jacobian(
                self.decoder, z0.detach(), "forward", positions=self.positions
            )[1]

    def _value(self, z: Tensor, A: Tensor) -> Tensor:
        logits = clip_logits(self._logits(z), self.logit_clip)
        A = A.to(torch.float64)
        if self.formula == "forward":
            log_det = log_det_forward(logits, A, self.normalizer)
        else:
            log_det = log_det_pinv(logits, A, extra_row="ones")
        out = self.tau * log_det
        if self.prior_scale is not None:
            out = out + prior_score(z.to(torch.float64), self.prior_scale)
        return out.to(z.dtype)

    def anchored(self, z0: Tensor) -> Callable[[Tensor], Tensor]:
        r"""The penalty with ``A`` fixed at the `batch x d` start points ``z0``.

        Returns:
            A function of `batch x d` latents (row ``i`` paired with ``z0[i]``'s
            Jacobian) giving `batch` values, differentiable through the logits.
        """
        A = self.jacobian(z0)

        def score(z: Tensor) -> Tensor:
            if z.shape != z0.shape:
                raise ValueError(
                    f"latents of shape {tuple(z.shape)} for anchors {tuple(z0.shape)}"
                )
            return self._value(z, A)

        return score

    def __call__(self, z: Tensor) -> Tensor:
        """The penalty with ``A`` taken at ``z`` itself, `batch x d` -> `batch`."""
        return self._value(z, self.jacobian(z))


class PublishedPenalty(ReleasePenalty):
    r"""The stored ``scales_pub_*`` runs' penalty: pinv with the ``p/c`` row.

    Dropout on, forward differences anchored at the start points, no prior term:
    neither published release (see the module notes); kept so that those runs stay
    reproducible. For the releases use ``ReleasePenalty``.

    Args:
        decoder: Maps `batch x d` latents to `batch x L x D` logits.
        eps: Forward finite-difference step.
        dropout: Train mode while the penalty runs.
        extra_row: ``"p"`` (the ``p/c`` row) or ``"ones"`` (Thm 3.1's ``1/c`` row).
        positions: Use only the first ``positions`` positions.
    """

    def __init__(
        self,
        decoder: Callable[[Tensor], Tensor],
        eps: float = 1e-4,
        dropout: bool = True,
        extra_row: str = "p",
        positions: int | None = None,
    ) -> None:
        if extra_row not in ("p", "ones"):
            raise ValueError(f"extra_row must be 'p' or 'ones', got {extra_row!r}")
        super().__init__(
            decoder,
            jacobian="fd",
            anchor="start",
            dropout=dropout,
            prior_scale=None,
            positions=positions,
            eps=eps,
        )
        self.extra_row = extra_row

    def _value(self, z: Tensor, A: Tensor) -> Tensor:
        logits = self._logits(z)
        return log_det_pinv(logits, A.to(z.dtype), self.extra_row).to(z.dtype)
