r"""Datasets: arithmetic expressions, ZINC-250k (JT-VAE split) and MOSES.

Files are found by :func:`scales_core.sources.verified_path` (``$SCALES_DATA_DIR``,
then the user cache, then a download from the public source) and checked against
their SHA-256. Tokenizers for the published checkpoints are re-exported from
:mod:`scales_core.tokens`, the grammar samplers from
:mod:`scales_core.grammar_sampling`.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from .grammar import tokenize_expression
from .grammar_sampling import enumerate_grammarvae_expressions, generate_expressions
from .paths import DataNotFoundError
from .sources import SOURCES, ChecksumError, fetch, verified_path
from .tokens import (
    EXPRESSIONS_LENGTH,
    SMILES_LENGTH,
    decode_tokens,
    encode_expressions,
    encode_smiles,
    expressions_vocab,
    smiles_vocab,
)

__all__ = [
    "EXPRESSIONS_FILE",
    "EXPRESSIONS_LENGTH",
    "SMILES_LENGTH",
    "SOURCES",
    "ChecksumError",
    "DataNotFoundError",
    "decode_tokens",
    "encode_expressions",
    "encode_smiles",
    "enumerate_grammarvae_expressions",
    "expressions_vocab",
    "fetch",
    "generate_expressions",
    "load_expressions",
    "load_moses",
    "load_zinc",
    "smiles_vocab",
    "subsample",
    "verified_path",
]

logger = logging.getLogger(__name__)

EXPRESSIONS_FILE = "expressions/equation2_15_dataset.txt"


def subsample(items: list[str], n: int | None, seed: int) -> list[str]:
    """A random subset of ``n`` items without replacement (all of them if ``None``).

    Args:
        items: the full list.
        n: subset size, or ``None`` for the whole list in its order.
        seed: numpy seed; the subset depends only on ``(len(items), n, seed)``.

    Returns:
        The subset, in random order.

    Raises:
        ValueError: when ``n`` is negative or larger than ``len(items)``.
    """
    if n is None:
        return list(items)
    if not 0 <= n <= len(items):
        raise ValueError(f"n={n} must be between 0 and {len(items)}")
    index = np.random.default_rng(seed).choice(len(items), size=n, replace=False)
    return [items[i] for i in index]


def load_expressions(
    n: int | None = None,
    seed: int = 0,
    fallback: Literal["enumerate", "sample", "none"] = "enumerate",
) -> list[str]:
    """The 100,000 expressions of Kusner et al. (2017), in compact form.

    Reads ``expressions/equation2_15_dataset.txt`` (tokens separated by spaces)
    and removes the spaces. When the file is unavailable, the set is rebuilt from
    the grammar: ``fallback="enumerate"`` reproduces the published file exactly
    (it is a truncated enumeration, see
    :func:`~scales_core.grammar_sampling.enumerate_grammarvae_expressions`);
    ``"sample"`` draws 100,000 distinct expressions uniformly from the grammar with
    at most 15 rules (:func:`generate_expressions` under ``seed``); ``"none"``
    raises.

    Args:
        n: a random subset of this size (``None``: all, in file order).
        seed: seed of the subset (and of the ``"sample"`` fallback).
        fallback: what to do without the file.

    Returns:
        Expressions such as ``'x+x+(x)+(x+1)'``.

    Raises:
        DataNotFoundError: when the file is missing and ``fallback="none"``.
        ChecksumError: when the file differs from the published one.
    """
    try:
        path = verified_path(EXPRESSIONS_FILE)
    except DataNotFoundError as error:
        if fallback == "none":
            raise
        logger.warning("%s; using the %r fallback", error, fallback)
        if fallback == "enumerate":
            expressions = enumerate_grammarvae_expressions(100_000)
        elif fallback == "sample":
            size = 100_000 if n is None else n
            return generate_expressions(size, seed=seed, max_rules=15)
        else:
            raise ValueError(f"unknown fallback {fallback!r}") from None
    else:
        with open(path, encoding="utf-8") as handle:
            expressions = [
                "".join(tokenize_expression(line)) for line in handle if line.strip()
            ]
    return subsample(expressions, n, seed)


def load_zinc(split: Literal["test", "valid"] = "test") -> list[str]:
    """SMILES of the ZINC-250k split used by JT-VAE.

    Args:
        split: ``"test"`` (5,000 molecules) or ``"valid"`` (24,445).

    Returns:
        The SMILES strings in file order.

    Raises:
        ValueError: on an unknown split.
        DataNotFoundError: when the file is unavailable.
        ChecksumError: when the file differs from the published one.
    """
    if split not in ("test", "valid"):
        raise ValueError(f"split must be 'test' or 'valid', got {split!r}")
    path = verified_path(f"zinc/zinc250k_jtvae_{split}.txt")
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def load_moses(
    split: Literal["train", "test"] = "train", n: int | None = None, seed: int = 0
) -> list[str]:
    """SMILES of the MOSES benchmark (molsets 0.3.1).

    Args:
        split: ``"train"`` (1,584,663 molecules) or ``"test"`` (176,074).
        n: a random subset of this size (``None``: all, in file order).
        seed: seed of the subset.

    Returns:
        The SMILES strings.

    Raises:
        ValueError: on an unknown split or a bad ``n``.
        DataNotFoundError: when the file is unavailable.
        ChecksumError: when the file differs from the published one.
    """
    import pandas as pd

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = verified_path(f"moses/{split}.csv.gz")
    frame = pd.read_csv(path, usecols=["SMILES"], dtype={"SMILES": str})
    return subsample(frame["SMILES"].tolist(), n, seed)
