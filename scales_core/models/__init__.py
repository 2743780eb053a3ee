r"""Sequence VAEs: the published character VAEs and the project's own models."""

from __future__ import annotations

from .char_vae import CharDecoder, CharEncoder, CharVAE, CharVAEConfig
from .paper import PAPER_CHECKPOINTS, load_paper_vae

__all__ = [
    "CharDecoder",
    "CharEncoder",
    "CharVAE",
    "CharVAEConfig",
    "PAPER_CHECKPOINTS",
    "load_paper_vae",
]
