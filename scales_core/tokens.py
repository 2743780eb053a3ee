r"""Character tokenization: the one tokenizer of the character VAEs.

:func:`encode` maps strings to padded index rows; :meth:`CharVAE.tokenize
<scales_core.models.char_vae.CharVAE.tokenize>`, the training helpers
(:func:`scales_core.models.training.char_tokens`) and the dataset helpers below
all call it, so padding, length and unknown-symbol rules are the same everywhere.

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
from torch import Tensor

from ._files import CorruptFileError, load_yaml_file
from .sources import verified_path

__all__ = [
    "EXPRESSIONS_LENGTH",
    "EXPRESSIONS_VOCAB",
    "PAD",
    "SMILES_LENGTH",
    "decode_tokens",
    "encode",
    "encode_expressions",
    "encode_smiles",
    "expressions_vocab",
    "smiles_symbols",
    "smiles_vocab",
]

logger = logging.getLogger(__name__)

EXPRESSIONS_LENGTH = 19
SMILES_LENGTH = 120
PAD = " "
#: The expressions checkpoints' symbols in index order (the space pads the end).
EXPRESSIONS_VOCAB = (
    "x",
    "+",
    "(",
    ")",
    "1",
    "2",
    "3",
    "*",
    "/",
    "s",
    "i",
    "n",
    "e",
    "p",
    PAD,
)
SMILES_VOCAB_FILE = "checkpoints/paper/smiles_vocab.yaml"
_SMILES_SIZE = 35
_FIX = (
    "Replace it with the published file (see the README of $SCALES_DATA_DIR), or "
    "delete it so that the loader looks in the cache or downloads it."
)


def expressions_vocab() -> dict[str, int]:
    """Character -> index map of the expressions checkpoints (15 entries)."""
    return {char: index for index, char in enumerate(EXPRESSIONS_VOCAB)}


def smiles_symbols() -> list[str]:
    """The SMILES checkpoints' symbols in index order (index 34 is the space pad).

    Read afresh on every call (the file is checked against its published SHA-256).

    Raises:
        scales_core.sources.ChecksumError: when the file differs from the
            published one (e.g. a permuted vocabulary).
        CorruptFileError: when it is not a symbol -> index mapping.
        DataNotFoundError: when ``smiles_vocab.yaml`` is not available.
    """
    path = verified_path(SMILES_VOCAB_FILE)
    mapping = load_yaml_file(path, "SMILES vocabulary (symbol: index)", _FIX)
    n = _SMILES_SIZE
    if (
        not isinstance(mapping, dict)
        or sorted((int(i) if isinstance(i, int) else -1) for i in mapping.values())
        != list(range(n))
        or mapping.get(PAD) != n - 1
    ):
        raise CorruptFileError(
            f"{path} must map {n} symbols to the indices 0..{n - 1} once each, with "
            f"{PAD!r} at {n - 1}. " + _FIX
        )
    vocab = [""] * n
    for symbol, index in mapping.items():
        vocab[index] = str(symbol)
    return vocab


@cache
def _smiles_vocab() -> tuple[tuple[str, int], ...]:
    return tuple((symbol, index) for index, symbol in enumerate(smiles_symbols()))


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
    *,
    pad: str = PAD,
    compact: bool = False,
    drop_unknown: bool = False,
    device: torch.device | str | None = None,
) -> Tensor:
    """Map strings to a padded `batch x L` index tensor, one character a token.

    Args:
        strings: the strings (padding characters already in them are kept).
        vocab: character -> index, with the padding character ``pad``.
        length: sequence length `L`.
        drop_long: leave out strings longer than ``length`` (with a logged
            warning) instead of raising.
        what: a word for error messages.
        pad: the padding symbol (a key of ``vocab``).
        compact: remove whitespace inside each string first (the expressions
            dataset's spaced form ``'x + sin( x )'``).
        drop_unknown: leave out strings with characters outside ``vocab`` instead
            of raising.
        device: where the result lives.

    Returns:
        A ``torch.long`` tensor of shape `batch x L` (one row per kept string).

    Raises:
        TypeError: when ``strings`` is a single ``str``.
        ValueError: on a character outside ``vocab`` or a string longer than
            ``length`` (unless dropped); the message names the item.
    """
    if isinstance(strings, str):
        raise TypeError(f"expected a sequence of {what}s, got a single str")
    if pad not in vocab:
        raise ValueError(f"the padding symbol {pad!r} is not in the vocabulary")
    pad_index = vocab[pad]
    rows: list[list[int]] = []
    dropped = 0
    for index, text in enumerate(strings):
        if compact:
            text = "".join(text.split())
        unknown = sorted({char for char in text if char not in vocab})
        if unknown:
            if drop_unknown:
                dropped += 1
                continue
            raise ValueError(
                f"{what} {index} ({text!r}) has characters outside the vocabulary "
                f"(unknown symbols): {unknown}"
            )
        if len(text) > length:
            if drop_long:
                dropped += 1
                continue
            raise ValueError(
                f"{what} {index} ({text!r}) has {len(text)} characters, more than "
                f"L={length} (longer than the model reads)"
            )
        rows.append([vocab[char] for char in text] + [pad_index] * (length - len(text)))
    if dropped:
        logger.warning(
            "dropped %d %ss (too long or unknown characters; L=%d)",
            dropped,
            what,
            length,
        )
    if not rows:
        return torch.empty((0, length), dtype=torch.long, device=device)
    return torch.tensor(rows, dtype=torch.long, device=device)


def encode_expressions(strings: Iterable[str], drop_long: bool = False) -> Tensor:
    """Tokenize expressions for the expressions checkpoints.

    Whitespace inside an expression is removed first, so the dataset's spaced form
    ``'x + sin( x )'`` and the compact ``'x+sin(x)'`` encode alike.

    Args:
        strings: expressions.
        drop_long: leave out expressions longer than 19 characters instead of
            raising.

    Returns:
        A `batch x 19` long tensor.

    Raises:
        ValueError: on an unknown character or an expression that is too long.
    """
    return encode(
        strings,
        expressions_vocab(),
        EXPRESSIONS_LENGTH,
        drop_long,
        "expression",
        compact=True,
    )


def encode_smiles(strings: Iterable[str], drop_long: bool = False) -> Tensor:
    """Tokenize SMILES for the SMILES checkpoints.

    Args:
        strings: SMILES strings.
        drop_long: leave out strings longer than 120 characters instead of raising.

    Returns:
        A `batch x 120` long tensor.

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
        tokens: `batch x L` or `L` indices.
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
