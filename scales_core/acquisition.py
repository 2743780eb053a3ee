r"""BoTorch plumbing: latent scores as penalties of acquisition functions.

``PenalizedAcquisitionFunction(acqf, penalty_func, regularization_parameter=lam)``
computes ``acqf(X) - lam * penalty_func(X)``; :class:`ScorePenalty` returns the
negative score, so the penalized acquisition is ``acqf(X) + lam * S(X)`` (Eq. 14).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from .score import ScaLES

__all__ = ["ScorePenalty", "ScaLESPenalty"]

_REDUCTIONS = ("mean", "sum", "min")


class ScorePenalty(nn.Module):
    r"""Penalty ``-score(X)`` for ``PenalizedAcquisitionFunction``.

    Args:
        score: Maps `batch x d` latents to a `batch` tensor (e.g. a :class:`ScaLES`).
        reduction: How the `q` scores of a candidate set combine: ``"mean"``,
            ``"sum"`` or ``"min"`` (penalize the worst point).
    """

    def __init__(self, score: Callable[[Tensor], Tensor], reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; use {_REDUCTIONS}")
        self.score = score
        self.reduction = reduction

    def forward(self, X: Tensor) -> Tensor:
        r"""Evaluate.

        Args:
            X: A `batch_shape x q x d` (or `q x d`) tensor of latents.

        Returns:
            A `batch_shape` tensor (a scalar for `q x d` input).
        """
        if X.dim() < 2:
            raise ValueError(
                f"X must be batch_shape x q x d, got shape {tuple(X.shape)}"
            )
        s = self.score(X.reshape(-1, X.shape[-1])).reshape(X.shape[:-1])
        if self.reduction == "mean":
            s = s.mean(-1)
        elif self.reduction == "sum":
            s = s.sum(-1)
        else:
            s = s.amin(-1)
        return -s


class ScaLESPenalty(ScorePenalty):
    r"""``-ScaLES(X)`` as a BoTorch ``penalty_func``.

    Args:
        decoder: The decoder; further keyword arguments go to :class:`ScaLES`.
        reduction: See :class:`ScorePenalty`.
    """

    def __init__(
        self, decoder: Callable[[Tensor], Tensor], reduction: str = "mean", **kwargs
    ):
        super().__init__(ScaLES(decoder, **kwargs), reduction=reduction)
