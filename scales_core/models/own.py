r"""The project's own trained VAEs: saving and loading.

A saved model is a folder with ``config.json`` (``{"model": kind, "config":
{...}, "vocab_sha256": ...}``), ``model.pt`` (a float32 state dict),
``vocab.json`` and, optionally, ``record.json`` (the training record). Models that
ship with the package live in ``scales_core/weights/<name>/``.

``vocab_sha256`` (:func:`vocab_checksum`, in ``config.json`` or ``record.json``)
ties the vocabulary to the weights: a permuted or edited ``vocab.json`` would make
every decode wrong without any error, so :func:`load_vae` refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from .._files import CorruptFileError, load_json_file, load_torch_file
from .char_vae import CharVAE, CharVAEConfig
from .selfies_vae import SelfiesVAE, SelfiesVAEConfig
from .selfies_vocab import SelfiesVocab

__all__ = [
    "ARCHITECTURES",
    "MODEL_KINDS",
    "OWN_MODELS",
    "WEIGHTS_DIR",
    "architecture",
    "build_vae",
    "load_vae",
    "model_kind",
    "save_vae",
    "vocab_checksum",
]

#: Folder of the weights shipped with the package.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

#: Names accepted by :func:`load_vae` (when their files are present).
OWN_MODELS = ("selfies_transformer",)

#: Kinds of saved models. ``"char_<dataset>"`` names a character VAE of a dataset
#: (any ``char_`` suffix is accepted); ``"char"`` one whose dataset is not named.
MODEL_KINDS = ("selfies_transformer", "char_expressions", "char_smiles", "char")


def vocab_checksum(vocab: list[str]) -> str:
    """SHA-256 of the symbols in index order (independent of JSON formatting)."""
    text = json.dumps(list(vocab), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build_selfies(kind: str, config: dict, vocab: list[str]) -> nn.Module:
    return SelfiesVAE(SelfiesVAEConfig(**config), SelfiesVocab(vocab))


def _build_char(kind: str, config: dict, vocab: list[str]) -> nn.Module:
    cfg = dict(config)
    for key in ("conv_channels", "conv_kernels"):
        if key in cfg:
            cfg[key] = tuple(cfg[key])
    return CharVAE(
        CharVAEConfig(**cfg), list(vocab), pad_index=vocab.index(" "), kind=kind
    )


#: Architecture -> builder ``(kind, config, vocab) -> model``.
ARCHITECTURES = {"selfies_transformer": _build_selfies, "char": _build_char}


def architecture(kind: str) -> str:
    """The architecture of a model kind (``"char"`` for ``"char_<dataset>"``).

    Raises:
        ValueError: for an unknown kind.
    """
    if kind in ARCHITECTURES:
        return kind
    if isinstance(kind, str) and kind.startswith("char_"):
        return "char"
    raise ValueError(f"unknown model kind {kind!r}; use one of {MODEL_KINDS}")


def build_vae(kind: str, config: dict, vocab: list[str]) -> nn.Module:
    """A freshly initialized VAE of a kind, from a config dict and vocabulary.

    Args:
        kind: ``"selfies_transformer"``, ``"char_expressions"``, ``"char_smiles"``
            or another ``"char_<dataset>"`` (see :data:`MODEL_KINDS`).
        config: Fields of :class:`SelfiesVAEConfig` or :class:`CharVAEConfig`.
        vocab: Symbols in index order (the char VAEs pad with ``" "``).

    Raises:
        ValueError: for an unknown kind.
    """
    return ARCHITECTURES[architecture(kind)](kind, config, vocab)


def model_kind(vae: nn.Module) -> str:
    """The kind string of a VAE instance (a char VAE carries its own ``kind``)."""
    if isinstance(vae, SelfiesVAE):
        return "selfies_transformer"
    if isinstance(vae, CharVAE):
        return vae.kind
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
    state = {
        k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v
        for k, v in vae.state_dict().items()
    }
    tmp = folder / "model.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / "model.pt")
    checksum = vocab_checksum(spec["vocab"])
    with open(folder / "config.json", "w", encoding="utf-8") as fh:
        json.dump(
            {
                "model": spec["model"],
                "config": spec["config"],
                "vocab_sha256": checksum,
            },
            fh,
            indent=2,
        )
    with open(folder / "vocab.json", "w", encoding="utf-8") as fh:
        json.dump(spec["vocab"], fh, indent=0)
    if record is not None:
        with open(folder / "record.json", "w", encoding="utf-8") as fh:
            json.dump({**record, "vocab_sha256": checksum}, fh, indent=2, default=str)
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
        CorruptFileError: when a file is damaged, does not match the others, or
            the vocabulary differs from the checksum stored with the weights.
    """
    folder = Path(name)
    if not folder.is_dir():
        if str(name) not in OWN_MODELS:
            raise ValueError(f"unknown model {name!r}; choose from {OWN_MODELS}")
        folder = WEIGHTS_DIR / str(name)
    if not (folder / "model.pt").exists():
        raise FileNotFoundError(f"no weights at {folder / 'model.pt'}")
    fix = (
        f"Restore the folder {folder} as save_vae wrote it (for a model shipped "
        "with the package: reinstall it or `git checkout` the folder)."
    )
    spec = load_json_file(folder / "config.json", "model config", fix)
    vocab = load_json_file(folder / "vocab.json", "vocabulary (JSON list)", fix)
    if not isinstance(spec, dict) or not {"model", "config"} <= set(spec):
        raise CorruptFileError(
            f"{folder / 'config.json'} lacks 'model' and 'config'. {fix}"
        )
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
        raise CorruptFileError(
            f"{folder / 'vocab.json'} is not a list of symbols. {fix}"
        )
    _check_vocab(folder, spec, vocab, fix)
    try:
        vae = build_vae(spec["model"], spec["config"], vocab)
    except (TypeError, ValueError) as error:
        raise CorruptFileError(
            f"{folder / 'config.json'} and "
            f"{folder / 'vocab.json'} do not describe a model "
            f"({error}). {fix}"
        ) from None
    state = load_torch_file(folder / "model.pt", "model weights", fix)
    try:
        vae.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CorruptFileError(
            f"{folder / 'model.pt'} does not match "
            f"{folder / 'config.json'} ({first}). {fix}"
        ) from None
    return vae.to(device).eval()


def _check_vocab(folder: Path, spec: dict, vocab: list[str], fix: str) -> None:
    """Compare ``vocab.json`` with the checksums stored beside the weights."""
    stored = {"config.json": spec.get("vocab_sha256")}
    if (folder / "record.json").exists():
        record = load_json_file(folder / "record.json", "training record", fix)
        if isinstance(record, dict):
            stored["record.json"] = record.get("vocab_sha256")
    actual = vocab_checksum(vocab)
    for file, checksum in stored.items():
        if checksum is not None and checksum != actual:
            raise CorruptFileError(
                f"{folder / 'vocab.json'} does not match the vocabulary the weights "
                f"were trained with (sha256 {actual[:12]}..., {file} says "
                f"{str(checksum)[:12]}...): the symbols are reordered or edited, "
                f"so every decode would be wrong. {fix}"
            )


def copy_weights(src: str | os.PathLike[str], name: str) -> Path:
    """Copy a saved model folder into the package's weights (``WEIGHTS_DIR/name``)."""
    dest = WEIGHTS_DIR / name
    dest.mkdir(parents=True, exist_ok=True)
    for file in ("model.pt", "config.json", "vocab.json", "record.json"):
        if (Path(src) / file).exists():
            shutil.copy2(Path(src) / file, dest / file)
    return dest
