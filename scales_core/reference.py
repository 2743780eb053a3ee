r"""The score as the published reference code computes it, for comparison only.

Per the project's design notes, the published code (github.com/OmerRonen/scales)
differs from Eq. 13 in three ways, reproduced here so the theorem chapter can measure
the effect of each:

1. ``A`` comes from forward finite differences (step ``eps``) in one batched call of
   `batch * (d + 1)` latents, with the decoder left in train mode: dropout stays on, so
   every row of that call draws its own mask and the score is random;
2. the normaliser row is ``p_i / c_i`` (minus ``d(1/c_i)/dl_i``) instead of ``1 / c_i``;
3. the prior term is omitted.

Use :class:`scales_core.ScaLES` for the exact score.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import Decoder, call_decoder, check_latents, check_logits
from .score import log_det_pinv

__all__ = ["published_score"]


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
    check_latents(z, decoder)
    B, d = z.shape
    was_training = getattr(decoder, "training", None)
    if was_training is not None:
        decoder.train(dropout)
    try:
        steps = torch.cat([z.new_zeros(1, d), eps * torch.eye(d).to(z)])
        zz = (z[:, None, :] + steps).reshape(B * (d + 1), d)
        with torch.no_grad():
            out = call_decoder(decoder, zz)
    finally:
        if was_training is not None:
            decoder.train(was_training)
    check_logits(out, B * (d + 1))
    out = out.reshape(B, d + 1, *out.shape[1:])
    logits = out[:, 0]
    A = ((out[:, 1:] - out[:, :1]) / eps).flatten(2).transpose(1, 2)  # (B, L*D, d)
    if positions is not None:
        logits, A = logits[:, :positions], A[:, : positions * logits.shape[-1]]
    return (rho * log_det_pinv(logits, A, extra_row=extra_row)).to(z.dtype)
