r"""Loader for the character VAEs published with the ScaLES paper.

Files: ``$SCALES_DATA_DIR/checkpoints/paper/<dataset>_<cell>_<beta>/w.pth`` and
``checkpoints/paper/smiles_vocab.yaml`` (see the data README). The vocabulary is
checked against its published SHA-256 (a permuted vocabulary would decode every
latent to wrong strings), and a damaged file gives an error naming it.
"""

from __future__ import annotations

import math

import torch

from .. import tokens
from .._files import CorruptFileError, load_torch_file, load_yaml_file
from ..paths import resolve
from .char_vae import CharVAE, CharVAEConfig

__all__ = [
    "PAPER_CHECKPOINTS",
    "FIRST_RELEASE_CHECKPOINTS",
    "PAPER_SIZES",
    "EXPRESSIONS_VOCAB",
    "load_paper_vae",
    "load_uncertainty_thresholds",
    "smiles_vocab",
]

#: The expressions checkpoints' symbols in index order (space pads the end).
EXPRESSIONS_VOCAB = list(tokens.EXPRESSIONS_VOCAB)

PAPER_CHECKPOINTS = tuple(
    f"{data}_{cell}_{beta}"
    for data in ("expressions", "smiles")
    for cell in ("gru", "lstm")
    for beta in ("0.05", "0.1", "1")
)

#: The first code release's checkpoints (OmerRonen/scales 811cd8f,
#: ``trained_models/``): name -> (family, file, decoder feedback). Its decoder
#: (``scales/nets/gru_vae.py``, ``DecoderRNN.forward``, ``teacher_forcing: false``)
#: feeds zeros back, not the previous step's probabilities.
FIRST_RELEASE_CHECKPOINTS = {
    "paper_2024_expressions": (
        "expressions",
        "checkpoints/paper_2024/expressions/w.pth",
        "zeros",
    ),
}

#: Sizes and latent scale of each family. ``latent_scale`` is the published configs'
#: ``eps_std`` (OmerRonen/scales ``les/configs/expressions.yaml`` 0.1,
#: ``les/configs/smiles.yaml`` 0.001), by which ``les/nets/template.py`` multiplies
#: the reparametrization noise and the prior samples.
PAPER_SIZES = {
    "expressions": dict(
        vocab_size=15,
        max_len=19,
        latent_dim=25,
        conv_channels=(2, 3, 4),
        conv_kernels=(2, 3, 4),
        latent_scale=0.1,
    ),
    "smiles": dict(
        vocab_size=35,
        max_len=120,
        latent_dim=56,
        conv_channels=(9, 9, 10),
        conv_kernels=(9, 9, 11),
        latent_scale=0.001,
    ),
}


_FIX = (
    "Replace it with the published file (see the README of $SCALES_DATA_DIR), or "
    "delete it so that the loader looks in the cache or downloads it."
)


def smiles_vocab() -> list[str]:
    """The SMILES checkpoints' symbols in index order (index 34 is the space pad).

    See :func:`scales_core.tokens.smiles_symbols`.

    Raises:
        scales_core.sources.ChecksumError: when the file differs from the
            published one (e.g. a permuted vocabulary).
        CorruptFileError: when it is not a symbol -> index mapping.
    """
    return tokens.smiles_symbols()


def load_paper_vae(name: str, device: str | torch.device = "cpu") -> CharVAE:
    r"""Load a published character VAE with strict key matching, in eval mode.

    Args:
        name: One of :data:`PAPER_CHECKPOINTS`, e.g. ``"expressions_gru_1"``, or
            of ``FIRST_RELEASE_CHECKPOINTS``.
        device: Where to put the weights.

    Returns:
        A :class:`CharVAE` (``vae.decoder(z)`` gives `batch x L x D` logits).

    Raises:
        ValueError: for an unknown name.
        scales_core.paths.DataNotFoundError: when the weights file is missing.
    """
    if name in FIRST_RELEASE_CHECKPOINTS:
        data, file, feedback = FIRST_RELEASE_CHECKPOINTS[name]
        cell = "gru"
    elif name in PAPER_CHECKPOINTS:
        data, cell, _ = name.split("_")
        file, feedback = f"checkpoints/paper/{name}/w.pth", "softmax"
    else:
        known = (*PAPER_CHECKPOINTS, *FIRST_RELEASE_CHECKPOINTS)
        raise ValueError(f"unknown checkpoint {name!r}; choose from {known}")
    cfg = CharVAEConfig(cell=cell, feedback=feedback, **PAPER_SIZES[data])
    vocab = EXPRESSIONS_VOCAB if data == "expressions" else smiles_vocab()
    vae = CharVAE(cfg, vocab, pad_index=vocab.index(" "), kind=f"char_{data}")
    path = resolve(file)
    state = load_torch_file(path, f"published checkpoint {name!r}", _FIX)
    try:
        vae.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CorruptFileError(
            f"{path} does not hold the weights of {name!r} ({first}). {_FIX}"
        ) from None
    return vae.to(device).eval()


def load_uncertainty_thresholds(name: str) -> dict[str, float]:
    r"""The published UC quantiles of the training data for a checkpoint.

    Args:
        name: A checkpoint name, e.g. ``"expressions_gru_1"``.

    Returns:
        ``{"90": ..., "95": ..., "99": ..., "max": ...}`` on the ``log I`` scale
        (:func:`scales_core.uncertainty.uncertainty_score` with ``log=True``,
        ``K = 10``; see the notes of :mod:`scales_core.uncertainty`).

    Raises:
        ValueError: for a name with path separators; ``CorruptFileError`` (a
            ``ValueError``) naming the file when it is damaged or malformed.
        scales_core.paths.DataNotFoundError: when the file is missing.
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"bad checkpoint name {name!r}")
    path = resolve(f"checkpoints/paper/uncertainty_thresholds/{name}.yaml")
    fix = "Replace it with the published file (see the README of $SCALES_DATA_DIR)."
    raw = load_yaml_file(path, "UC threshold file", fix)
    keys = ("90", "95", "99", "max")
    if not isinstance(raw, dict) or sorted(map(str, raw)) != sorted(keys):
        found = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise CorruptFileError(
            f"{path} must map exactly the keys {list(keys)} to numbers, got "
            f"{found}. {fix}"
        )
    values = {str(k): v for k, v in raw.items()}
    if (
        not all(
            isinstance(values[k], (int, float))
            and not isinstance(values[k], bool)
            and math.isfinite(values[k])
            for k in keys
        )
        or not values["90"] <= values["95"] <= values["99"] <= values["max"]
    ):
        raise CorruptFileError(
            f"{path} must hold finite, increasing quantiles (90 <= 95 <= 99 <= max), "
            f"got {values}. {fix}"
        )
    return {k: float(values[k]) for k in keys}
