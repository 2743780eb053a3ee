r"""Early stopping of gradient ascent by a latent score threshold (Notin et al. 2021).

The update ``z -> z'`` of a point is rejected, and the point stops where it is,
when the score of ``z'`` crosses a threshold: above it for an uncertainty (UC,
higher = more uncertain), below it for ScaLES (higher = more in-distribution).
Thresholds are quantiles of the score over training latents.

Any callable ``score(z)`` (`batch x d` -> `batch`) works; :class:`SeededScore` turns a
randomized score such as :func:`scales_core.uncertainty.uncertainty_score` into
a deterministic one (a fresh, derived seed per call).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .seeding import derive_seed

__all__ = ["ScoreThresholdStopping", "SeededScore", "score_quantile"]

Score = Callable[[Tensor], Tensor]


class SeededScore:
    r"""Call ``score(z, seed=s_k)`` with ``s_k = derive_seed(seed, k)`` on call ``k``.

    Args:
        score: A randomized score taking a ``seed`` keyword.
        seed: The base seed; the ``k``-th call of this object uses the ``k``-th
            derived seed, so a fresh object replays the same sequence.
        **kwargs: Further keyword arguments for ``score``.
    """

    def __init__(self, score: Callable[..., Tensor], seed: int, **kwargs) -> None:
        self.score = score
        self.seed = seed
        self.kwargs = kwargs
        self.calls = 0

    def __call__(self, z: Tensor) -> Tensor:
        r"""Score `batch x d` latents -> `batch`."""
        seed = derive_seed(self.seed, self.calls)
        self.calls += 1
        return self.score(z, seed=seed, **self.kwargs)


def score_quantile(
    score: Score, X: Tensor, quantile: float, batch_size: int = 256
) -> float:
    r"""The ``quantile``-th percentile of ``score`` over reference latents.

    Args:
        score: Maps `batch x d` latents to `batch` scores.
        X: An `n x d` tensor of reference (training) latents.
        quantile: In ``[0, 100]``; 100 is the maximum.
        batch_size: Latents scored per call.

    Returns:
        The threshold (linear interpolation between order statistics).
    """
    if not 0 <= quantile <= 100:
        raise ValueError(f"quantile must be in [0, 100], got {quantile}")
    if X.dim() != 2 or X.shape[0] == 0:
        raise ValueError(
            f"reference latents must be a non-empty n x d tensor, got {tuple(X.shape)}"
        )
    return quantile_of(score_values(score, X, batch_size), quantile)


def score_values(score: Score, X: Tensor, batch_size: int = 256) -> Tensor:
    r"""``score`` on `n x d` latents, ``batch_size`` per call: an `n` float64 tensor."""
    with torch.no_grad():
        return torch.cat(
            [score(chunk).detach().double() for chunk in X.split(batch_size)]
        )


def quantile_of(values: Tensor, quantile: float) -> float:
    r"""The ``quantile``-th percentile (in ``[0, 100]``) of `n` finite values."""
    if not 0 <= quantile <= 100:
        raise ValueError(f"quantile must be in [0, 100], got {quantile}")
    if not torch.isfinite(values).all():
        raise ValueError("the score is not finite on some reference latents")
    return float(torch.quantile(values, quantile / 100.0))


class ScoreThresholdStopping:
    r"""Reject updates whose new point has a score beyond ``threshold``.

    Args:
        score: Maps `batch x d` latents to `batch` scores.
        threshold: The score bound.
        upper: ``True``: reject when ``score > threshold`` (an uncertainty);
            ``False``: reject when ``score < threshold`` (ScaLES).

    Example:
        >>> stop = ScoreThresholdStopping.from_quantile(scales, X, 50, upper=False)
        >>> stop.reject(X_new)  # `batch` bool
    """

    def __init__(self, score: Score, threshold: float, upper: bool) -> None:
        if not torch.isfinite(torch.tensor(float(threshold))):
            raise ValueError(f"threshold must be finite, got {threshold}")
        self.score = score
        self.threshold = float(threshold)
        self.upper = bool(upper)

    @classmethod
    def from_quantile(
        cls, score: Score, reference_X: Tensor, quantile: float, upper: bool
    ) -> ScoreThresholdStopping:
        r"""Threshold at the ``quantile``-th percentile of ``score`` on `n x d`."""
        return cls(score, score_quantile(score, reference_X, quantile), upper)

    def reject(self, X: Tensor) -> Tensor:
        r"""Which proposed points cross the threshold.

        Args:
            X: A `batch x d` tensor of proposed latents.

        Returns:
            A `batch` bool tensor (``True`` = reject the update that led there).
        """
        with torch.no_grad():
            s = self.score(X.detach())
        if s.shape != X.shape[:1]:
            raise ValueError(
                f"score returned shape {tuple(s.shape)}, expected ({X.shape[0]},)"
            )
        # a non-finite score is never inside the region
        bad = ~torch.isfinite(s)
        return bad | (s > self.threshold if self.upper else s < self.threshold)

    def __repr__(self) -> str:
        side = "above" if self.upper else "below"
        return f"{type(self).__name__}(reject {side} {self.threshold:.6g})"
