r"""Character tokenization for the published character VAEs.

Expressions: one character per token over ``x + ( ) 1 2 3 * / s i n e p <space>``
(``'sin('`` and ``'exp('`` spelled out), padded with the space to ``L = 19``.
SMILES: one character per token by ``checkpoints/paper/smiles_vocab.yaml`` (index 34
is the padding space), ``L = 120``; two-letter atoms such as ``Cl`` and ``Br`` are
two tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from functools import cache

import torch
import yaml
from torch import Tensor

__all__ = [
    "EXPRESSIONS_LENGTH",
    "PAD",
    "SMILES_LENGTH",
    "decode_tokens",
    "encode",
    "encode_expressions",
    "encode_smiles",
    "expressions_vocab",
    "smiles_vocab",
]

logger = logging.getLogger(__name__)

EXPRESSIONS_LENGTH = 19
SMILES_LENGTH = 120
PAD = " "
_EXPRESSION_CHARS = ("x", "+", "(", ")", "1", "2", "3", "*", "/")
_EXPRESSION_CHARS += ("s", "i", "n", "e", "p", PAD)
SMILES_VOCAB_FILE = "checkpoints/paper/smiles_vocab.yaml"


def expressions_vocab() -> dict[str, int]:
    """Character -> index map of the expressions checkpoints (15 entries)."""
    return {char: index for index, char in enumerate(_EXPRESSION_CHARS)}


@cache
def _smiles_vocab() -> tuple[tuple[str, int], ...]:
    from .data import verified_path  # local import: data imports this module

    with open(verified_path(SMILES_VOCAB_FILE), encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    vocab = {str(key): int(value) for key, value in raw.items()}
    if sorted(vocab.values()) != list(range(len(vocab))) or vocab.get(PAD) != 34:
        raise ValueError(f"{SMILES_VOCAB_FILE}: not a 0..34 map with ' ' at 34")
    return tuple(vocab.items())


def smiles_vocab() -> dict[str, int]:
    """Character -> index map of the SMILES checkpoints (35 entries, ' ' is 34).

    Raises:
        DataNotFoundError: when ``smiles_vocab.yaml`` is not available.
    """
    return dict(_smiles_vocab())


def encode(
    strings: Iterable[str],
    vocab: Mapping[str, int],
    length: int,
    drop_long: bool = False,
    what: str = "string",
) -> Tensor:
    """Map strings to a padded ``(N, length)`` index tensor, one character a token.

    Args:
        strings: the strings (padding characters already in them are kept).
        vocab: character -> index, with the padding character :data:`PAD`.
        length: sequence length ``L``.
        drop_long: leave out strings longer than ``length`` (with a logged
            warning) instead of raising.
        what: a word for error messages.

    Returns:
        A ``torch.long`` tensor of shape ``(N, length)``.

    Raises:
        TypeError: when ``strings`` is a single ``str``.
        ValueError: on a character outside ``vocab`` or, unless ``drop_long``, a
            string longer than ``length``; the message names the item.
    """
    if isinstance(strings, str):
        raise TypeError(f"expected a sequence of {what}s, got a single str")
    pad = vocab[PAD]
    rows: list[list[int]] = []
    dropped = 0
    for index, text in enumerate(strings):
        unknown = sorted({char for char in text if char not in vocab})
        if unknown:
            raise ValueError(
                f"{what} {index} ({text!r}) has characters outside the vocabulary: "
                f"{unknown}"
            )
        if len(text) > length:
            if drop_long:
                dropped += 1
                continue
            raise ValueError(
                f"{what} {index} ({text!r}) has {len(text)} characters, more than "
                f"L={length}"
            )
        rows.append([vocab[char] for char in text] + [pad] * (length - len(text)))
    if dropped:
        logger.warning(
            "dropped %d %ss longer than %d characters", dropped, what, length
        )
    if not rows:
        return torch.empty((0, length), dtype=torch.long)
    return torch.tensor(rows, dtype=torch.long)


def encode_expressions(strings: Iterable[str], drop_long: bool = False) -> Tensor:
    """Tokenize expressions for the expressions checkpoints.

    Whitespace inside an expression is removed first, so the dataset's spaced form
    ``'x + sin( x )'`` and the compact ``'x+sin(x)'`` encode alike.

    Args:
        strings: expressions.
        drop_long: leave out expressions longer than 19 characters instead of
            raising.

    Returns:
        A ``(N, 19)`` long tensor.

    Raises:
        ValueError: on an unknown character or an expression that is too long.
    """
    if isinstance(strings, str):
        raise TypeError("expected a sequence of expressions, got a single str")
    compact = ["".join(text.split()) for text in strings]
    return encode(
        compact, expressions_vocab(), EXPRESSIONS_LENGTH, drop_long, "expression"
    )


def encode_smiles(strings: Iterable[str], drop_long: bool = False) -> Tensor:
    """Tokenize SMILES for the SMILES checkpoints.

    Args:
        strings: SMILES strings.
        drop_long: leave out strings longer than 120 characters instead of raising.

    Returns:
        A ``(N, 120)`` long tensor.

    Raises:
        ValueError: on a character outside ``smiles_vocab.yaml`` (e.g. ``'%'`` or
            ``'.'``) or a string that is too long.
    """
    return encode(strings, smiles_vocab(), SMILES_LENGTH, drop_long, "SMILES")


def decode_tokens(
    tokens: Tensor | Sequence[Sequence[int]],
    vocab: Mapping[str, int] | str = "expressions",
) -> list[str]:
    """Map index sequences back to strings, dropping the trailing padding.

    Args:
        tokens: ``(N, L)`` or ``(L,)`` indices.
        vocab: ``"expressions"``, ``"smiles"`` or a character -> index map.

    Returns:
        One string per row (padding inside a string is kept: it is what the model
        produced).

    Raises:
        ValueError: on an index outside the vocabulary or a bad shape.
    """
    if isinstance(vocab, str):
        if vocab not in ("expressions", "smiles"):
            raise ValueError(f"unknown vocabulary {vocab!r}")
        vocab = expressions_vocab() if vocab == "expressions" else smiles_vocab()
    chars = {index: char for char, index in vocab.items()}
    array = torch.as_tensor(tokens, dtype=torch.long)
    if array.dim() == 1:
        array = array.unsqueeze(0)
    if array.dim() != 2:
        raise ValueError(f"tokens must be (N, L) or (L,), got {tuple(array.shape)}")
    bad = [i for i in array.unique().tolist() if i not in chars]
    if bad:
        raise ValueError(f"token indices {bad} are outside the vocabulary")
    return ["".join(chars[i] for i in row).rstrip(PAD) for row in array.tolist()]
