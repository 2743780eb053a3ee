r"""Baseline latent scores with the ScaLES calling convention (`batch x d` -> `batch`).

* :func:`prior_score` (in :mod:`scales_core.score`): ``log N(z; 0, I)``;
* :func:`polarity_score` (Humayun et al., 2022): ``rho * sum_k log s_k(A)``;
* :func:`likelihood_score`: ``sum_i log max_j p_ij``, the log-probability of the
  argmax decode.

The decoder-uncertainty (UC) score of Notin et al. (2021) lives in
:mod:`scales_core.uncertainty`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import Decoder, call_decoder, check_latents, check_logits, eval_mode
from .jacobian import logits_and_jacobian

__all__ = [
    "polarity_score",
    "likelihood_score",
    "polarity_from_jacobian",
    "likelihood_from_logits",
]


def polarity_score(
    decoder: Decoder,
    z: Tensor,
    rho: float = 1.0,
    positions: int | None = None,
    jacobian: str = "forward",
) -> Tensor:
    r"""Polarity score: the log-volume of the logits Jacobian.

    .. math:: \rho \sum_k \log s_k(A(z)) = \tfrac\rho2 \log\det(A^\top A)

    Args:
        decoder: Maps `batch x d` to `batch x L x D` logits.
        z: A `batch x d` tensor.
        rho: Polarity exponent.
        positions: Use only the first ``positions`` positions.
        jacobian: Jacobian engine, see :func:`scales_core.decoder_jacobian`.

    Returns:
        A `batch` tensor in ``z``'s dtype.
    """
    logits, A = logits_and_jacobian(decoder, z, jacobian)
    if positions is not None:
        A = A[:, : positions * logits.shape[-1]]
    return polarity_from_jacobian(A, rho).to(z.dtype)


def polarity_from_jacobian(A: Tensor, rho: float = 1.0) -> Tensor:
    r"""``rho * sum_k log s_k(A)`` for a `batch x m x d` Jacobian, in float64."""
    return rho * torch.log(torch.linalg.svdvals(A.to(torch.float64))).sum(-1)


def likelihood_from_logits(logits: Tensor) -> Tensor:
    r"""``sum_i log max_j p_ij`` for `batch x L x D` logits, in float64."""
    return torch.log_softmax(logits.to(torch.float64), dim=-1).amax(-1).sum(-1)


def likelihood_score(
    decoder: Decoder, z: Tensor, positions: int | None = None
) -> Tensor:
    r"""Log-probability of the argmax decode, ``sum_i log max_j p_ij``.

    Args:
        decoder: Maps `batch x d` to `batch x L x D` logits.
        z: A `batch x d` tensor.
        positions: Use only the first ``positions`` positions.

    Returns:
        A `batch` tensor in ``z``'s dtype.
    """
    check_latents(z, decoder)
    with eval_mode(decoder):
        logits = call_decoder(decoder, z)
    check_logits(logits, z.shape[0])
    return likelihood_from_logits(logits[:, :positions]).to(z.dtype)
