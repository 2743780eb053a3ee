r"""A run's model and data: a fresh VAE of the record's architecture and its tokens."""

from __future__ import annotations

import argparse

from ..datasets import dataset_for_kind, load_training_strings
from ..models.char_vae import CharVAEConfig
from ..models.own import build_vae
from ..models.selfies_vae import SelfiesVAEConfig
from ..models.training import char_tokens, selfies_tokens


def _prepare_selfies(args, spec, train, held, vocab):
    from ..models.selfies_vocab import SelfiesVocab

    voc, x_train, x_held = selfies_tokens(
        train, held, args.max_len, SelfiesVocab(vocab) if vocab else None
    )
    cfg = SelfiesVAEConfig(
        vocab_size=len(voc),
        max_len=args.max_len,
        latent_dim=args.latent_dim,
        d_model=args.d_model,
        n_heads=args.n_heads,
        enc_layers=args.enc_layers,
        dec_layers=args.dec_layers,
        ff_mult=args.ff_mult,
        n_memory=args.n_memory,
        dropout=args.dropout,
    )
    return build_vae(spec.kind, cfg.to_dict(), voc.tokens), x_train, x_held


def _prepare_char(args, spec, train, held, vocab):
    chars = spec.vocab()
    cfg = CharVAEConfig(vocab_size=len(chars), **spec.char_sizes)
    x_train = char_tokens(train, chars, cfg.max_len)
    x_held = char_tokens(held, chars, cfg.max_len)
    from dataclasses import asdict

    return build_vae(spec.kind, asdict(cfg), chars), x_train, x_held


#: Architecture of a dataset record's model -> ``(vae, train tokens, held tokens)``.
_PREPARE = {"selfies_transformer": _prepare_selfies, "char": _prepare_char}


def prepare(args: argparse.Namespace, vocab: list[str] | None = None):
    """Model (fresh), training and held-out tokens, data description."""
    spec = dataset_for_kind(args.model).training
    train, held, info = load_training_strings(
        args.model,
        args.n_train,
        args.n_heldout,
        args.seed,
        args.train_file,
        args.heldout_file,
    )
    vae, x_train, x_held = _PREPARE[spec.architecture](args, spec, train, held, vocab)
    info.update(n_train=len(x_train), n_heldout=len(x_held))
    return vae, x_train, x_held, info
