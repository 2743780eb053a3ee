r"""Theorem 3.1 checked without Jacobians: a histogram estimate of the push-forward density.

A decoder with a 2-dimensional latent space maps :math:`z \sim \mathcal N(0, I)` onto a
2-dimensional surface :math:`G(z) = (p_1, c_1, \dots, p_L, c_L)`. Its density with respect to
area on that surface is estimated with no derivative code: the share of Monte Carlo samples
in each small latent cell, divided by the area of the cell's image (the parallelogram of
:math:`G` at the cell's corners). :func:`histogram_check` puts that estimate beside the
forward formula and Eq. 13 at the cells' centres (chapter 2, and the summary's theorem row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .score import ScaLES

__all__ = ["ToyDecoder", "extended_output", "histogram_check"]


class ToyDecoder(nn.Module):
    r"""A small float64 MLP decoder: `batch x d` latents to `batch x L x D` logits.

    Args:
        L: Positions.
        D: Symbols.
        d: Latent dimension (2 for :func:`histogram_check`).
        hidden: Hidden units.
        seed: Seeds the weights (the global RNG is left as it was).
    """

    def __init__(
        self, L: int = 2, D: int = 3, d: int = 2, hidden: int = 16, seed: int = 0
    ) -> None:
        super().__init__()
        self.L, self.D, self.latent_dim = L, D, d
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(d, hidden), nn.Tanh(), nn.Linear(hidden, L * D)
            ).double()

    def forward(self, z: Tensor) -> Tensor:
        """`batch x L x D` logits of `batch x d` latents ``z``."""
        return self.net(z).reshape(z.shape[0], self.L, self.D)


def extended_output(decoder, z: Tensor) -> Tensor:
    r"""Flattened :math:`(p_1, c_1, \dots, p_L, c_L)`, `batch x L(D+1)`, at `batch x d` latents."""
    logits = decoder(z)
    c = torch.logsumexp(logits, -1, keepdim=True).exp()
    return torch.cat([torch.softmax(logits, -1), c], -1).flatten(1)


def histogram_check(
    decoder,
    n_mc: int = 400_000,
    cell: float = 0.1,
    lim: float = 2.0,
    min_count: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    r"""The histogram estimate of the log push-forward density beside two formulas.

    Args:
        decoder: A decoder of 2-dimensional float64 latents (e.g. :class:`ToyDecoder`).
        n_mc: Monte Carlo samples of :math:`\mathcal N(0, I)`.
        cell: Width of the square latent cells.
        lim: The cells cover :math:`[-\text{lim}, \text{lim}]^2`.
        min_count: Keep the cells with at least this many samples.
        seed: Seeds the samples.

    Returns:
        One row per kept cell: ``log estimate`` (histogram), ``forward`` (the push-forward
        density, :class:`~scales_core.ScaLES` with ``formula="forward"``) and ``paper
        (Eq. 13)``, each a log density at the cell's centre.
    """
    edges = np.arange(-lim, lim + 1e-9, cell)
    gen = torch.Generator().manual_seed(seed)
    z_mc = torch.randn(n_mc, 2, dtype=torch.float64, generator=gen)
    counts, _, _ = np.histogram2d(
        z_mc[:, 0].numpy(), z_mc[:, 1].numpy(), bins=[edges, edges]
    )
    share = counts / n_mc
    g0, g1 = np.meshgrid(edges[:-1], edges[:-1], indexing="ij")
    corner = torch.tensor(np.stack([g0.ravel(), g1.ravel()], 1))
    with torch.no_grad():
        G00 = extended_output(decoder, corner)
        a = extended_output(decoder, corner + torch.tensor([cell, 0.0])) - G00
        b = extended_output(decoder, corner + torch.tensor([0.0, cell])) - G00
        area = torch.sqrt((a * a).sum(1) * (b * b).sum(1) - (a * b).sum(1) ** 2).numpy()
        centres = corner + cell / 2
        forward = ScaLES(decoder, formula="forward")(centres).numpy()
        paper = ScaLES(decoder, formula="paper")(centres).numpy()
    keep = counts.ravel() >= min_count
    estimate = share.ravel()[keep] / area[keep]
    return pd.DataFrame(
        {
            "log estimate": np.log(estimate),
            "forward": forward[keep],
            "paper (Eq. 13)": paper[keep],
        }
    )
