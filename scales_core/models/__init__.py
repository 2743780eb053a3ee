r"""Sequence VAEs: the published character VAEs and the project's own models."""

from __future__ import annotations

from .char_vae import CharDecoder, CharEncoder, CharVAE, CharVAEConfig
from .own import OWN_MODELS, load_vae, save_vae
from .paper import PAPER_CHECKPOINTS, load_paper_vae
from .selfies_vae import SelfiesVAE, SelfiesVAEConfig
from .selfies_vocab import SelfiesVocab

__all__ = [
    "CharDecoder",
    "CharEncoder",
    "CharVAE",
    "CharVAEConfig",
    "OWN_MODELS",
    "PAPER_CHECKPOINTS",
    "SelfiesVAE",
    "SelfiesVAEConfig",
    "SelfiesVocab",
    "load_paper_vae",
    "load_vae",
    "save_vae",
]
