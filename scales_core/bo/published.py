r"""The ScaLES penalty as the published BO code applies it, for the B.3 comparison.

The published optimizer (OmerRonen/scales, commit 152b0f1) differs from
:class:`scales_core.ScaLES` used as a penalty in four ways, all kept here:

1. ``les/opt/optimizer.py``, ``optimize_ga``: the finite-difference Jacobian ``A``
   ("a_omega") is computed once at the start points and held fixed for all
   gradient-ascent steps; only the decoder's logits at the current point carry a
   gradient.
2. ``les/utils/les.py``, ``LES.forward`` and ``net_derivative``: the decoder is a
   copy in train mode, so dropout is on both in ``A`` (forward differences with step
   ``1e-4``, each perturbed pass with its own masks) and in the logits.
3. The normaliser row is the derivative of ``1/c_i`` (``extra_row="p"`` of
   :func:`scales_core.score.log_det_pinv`).
4. No prior term.

With the decoder's dropout rate of 0.2, the masks' differences divided by ``1e-4``
dominate ``A``, so the penalty's gradient is mostly noise: the question of B.3 is
whether that noise, not the score, is what helps the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import call_decoder
from ..reference import decoder_mode, published_jacobian
from ..score import log_det_pinv

__all__ = ["PublishedPenalty"]


class PublishedPenalty:
    r"""A penalty whose Jacobian is anchored at the ascent's start points.

    :func:`scales_core.bo.gen_candidates_normalized_ga` calls
    :meth:`anchored` once per ascent with the start points and then differentiates
    the returned score at the moving points.

    Args:
        decoder: Maps `n x d` latents to `n x L x D` logits; an ``nn.Module`` whose
            dropout (if any) is switched on while the penalty runs.
        eps: Forward finite-difference step.
        dropout: Train mode (as published); ``False`` isolates the other
            differences.
        extra_row: ``"p"`` (as published) or ``"ones"`` (Thm 3.1).
        positions: Use only the first ``positions`` positions.

    Example:
        >>> pen = PublishedPenalty(vae.decoder)
        >>> score = pen.anchored(z0)      # A fixed at z0, `n x d`
        >>> score(z0 + 0.1).sum().backward()
    """

    def __init__(
        self,
        decoder: Callable[[Tensor], Tensor],
        eps: float = 1e-4,
        dropout: bool = True,
        extra_row: str = "p",
        positions: int | None = None,
    ) -> None:
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        if extra_row not in ("p", "ones"):
            raise ValueError(f"extra_row must be 'p' or 'ones', got {extra_row!r}")
        self.decoder, self.eps, self.dropout = decoder, float(eps), bool(dropout)
        self.extra_row, self.positions = extra_row, positions

    def _call(self, z: Tensor) -> Tensor:
        """The decoder's logits in the penalty's mode (train mode when ``dropout``)."""
        with decoder_mode(self.decoder, self.dropout):
            out = call_decoder(self.decoder, z)
        return out[:, : self.positions] if self.positions is not None else out

    def jacobian(self, z0: Tensor) -> Tensor:
        r"""The finite-difference Jacobian at `n x d` points, `n x (K*D) x d`
        (``scales_core.reference.published_jacobian``)."""
        return published_jacobian(self.decoder, z0, self.eps, self.dropout, self.positions)[1]

    def anchored(self, z0: Tensor) -> Callable[[Tensor], Tensor]:
        r"""The penalty with ``A`` fixed at the `n x d` start points ``z0``.

        Returns:
            A function of `n x d` latents (row ``i`` paired with ``z0[i]``'s
            Jacobian) giving `n` values ``1/2 logdet(P W P^T)`` (no prior term),
            differentiable through the logits only.
        """
        A = self.jacobian(z0)

        def score(z: Tensor) -> Tensor:
            if z.shape != z0.shape:
                raise ValueError(f"latents of shape {tuple(z.shape)} for anchors {tuple(z0.shape)}")
            return log_det_pinv(self._call(z), A.to(z.dtype), self.extra_row).to(z.dtype)

        return score

    def __call__(self, z: Tensor) -> Tensor:
        """The penalty anchored at ``z`` itself (a fresh Jacobian), `n x d` -> `n`."""
        return self.anchored(z)(z)
