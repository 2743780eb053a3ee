r"""The project's own trained VAEs: saving and loading.

A saved model is a folder with ``config.json`` (``{"model": kind, "config":
{...}, "vocab": [...] or null}``), ``model.pt`` (a float32 state dict) and,
optionally, ``vocab.json`` and ``record.json`` (the training record). Models that
ship with the package live in ``scales_core/weights/<name>/``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from .char_vae import CharVAE, CharVAEConfig
from .selfies_vae import SelfiesVAE, SelfiesVAEConfig
from .selfies_vocab import SelfiesVocab

__all__ = ["OWN_MODELS", "WEIGHTS_DIR", "build_vae", "load_vae", "save_vae"]

#: Folder of the weights shipped with the package.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

#: Names accepted by :func:`load_vae` (when their files are present).
OWN_MODELS = ("selfies_transformer",)

MODEL_KINDS = ("selfies_transformer", "char_expressions", "char_smiles")


def build_vae(kind: str, config: dict, vocab: list[str]) -> nn.Module:
    """A freshly initialized VAE of a kind, from a config dict and vocabulary.

    Args:
        kind: ``"selfies_transformer"``, ``"char_expressions"`` or ``"char_smiles"``.
        config: Fields of :class:`SelfiesVAEConfig` or :class:`CharVAEConfig`.
        vocab: Symbols in index order (the char VAEs pad with ``" "``).

    Raises:
        ValueError: for an unknown kind.
    """
    if kind == "selfies_transformer":
        return SelfiesVAE(SelfiesVAEConfig(**config), SelfiesVocab(vocab))
    if kind in ("char_expressions", "char_smiles"):
        cfg = dict(config)
        for key in ("conv_channels", "conv_kernels"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        return CharVAE(CharVAEConfig(**cfg), list(vocab), pad_index=vocab.index(" "))
    raise ValueError(f"unknown model kind {kind!r}; use one of {MODEL_KINDS}")


def model_kind(vae: nn.Module) -> str:
    """The kind string of a VAE instance (char kinds are told apart by vocabulary)."""
    if isinstance(vae, SelfiesVAE):
        return "selfies_transformer"
    if isinstance(vae, CharVAE):
        return "char_smiles" if "C" in vae.vocab else "char_expressions"
    raise ValueError(f"not a known VAE: {type(vae).__name__}")


def vae_spec(vae: nn.Module) -> dict:
    """``{"model", "config", "vocab"}`` of a VAE (JSON-ready)."""
    if isinstance(vae, SelfiesVAE):
        config, vocab = vae.cfg.to_dict(), list(vae.vocab.tokens)
    else:
        from dataclasses import asdict

        config, vocab = asdict(vae.cfg), list(vae.vocab)
    return {"model": model_kind(vae), "config": config, "vocab": vocab}


def save_vae(
    vae: nn.Module, folder: str | os.PathLike[str], record: dict | None = None
) -> Path:
    """Write ``config.json``, ``vocab.json``, ``model.pt`` (float32) and a record.

    Args:
        vae: The model.
        folder: Created if needed; existing files are replaced.
        record: Training record to store as ``record.json``.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = vae_spec(vae)
    state = {k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v
             for k, v in vae.state_dict().items()}
    tmp = folder / "model.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / "model.pt")
    with open(folder / "config.json", "w", encoding="utf-8") as fh:
        json.dump({"model": spec["model"], "config": spec["config"]}, fh, indent=2)
    with open(folder / "vocab.json", "w", encoding="utf-8") as fh:
        json.dump(spec["vocab"], fh, indent=0)
    if record is not None:
        with open(folder / "record.json", "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2, default=str)
    return folder


def load_vae(
    name: str | os.PathLike[str], device: str | torch.device = "cpu"
) -> nn.Module:
    r"""Load one of the project's trained VAEs (strict keys, eval mode).

    Args:
        name: A name in :data:`OWN_MODELS` (e.g. ``"selfies_transformer"``) or a
            folder written by :func:`save_vae`.
        device: Where to put the weights.

    Returns:
        The VAE (``vae.decoder(z)`` gives `batch x L x D` logits).

    Raises:
        ValueError: for an unknown name.
        FileNotFoundError: when the weights are missing.
    """
    folder = Path(name)
    if not folder.is_dir():
        if str(name) not in OWN_MODELS:
            raise ValueError(f"unknown model {name!r}; choose from {OWN_MODELS}")
        folder = WEIGHTS_DIR / str(name)
    if not (folder / "model.pt").exists():
        raise FileNotFoundError(f"no weights at {folder / 'model.pt'}")
    with open(folder / "config.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    with open(folder / "vocab.json", encoding="utf-8") as fh:
        vocab = json.load(fh)
    vae = build_vae(spec["model"], spec["config"], vocab)
    state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    vae.load_state_dict(state, strict=True)
    return vae.to(device).eval()


def copy_weights(src: str | os.PathLike[str], name: str) -> Path:
    """Copy a saved model folder into the package's weights (``WEIGHTS_DIR/name``)."""
    dest = WEIGHTS_DIR / name
    dest.mkdir(parents=True, exist_ok=True)
    for file in ("model.pt", "config.json", "vocab.json", "record.json"):
        if (Path(src) / file).exists():
            shutil.copy2(Path(src) / file, dest / file)
    return dest
