r"""SELFIES vocabulary: token lists, string conversion and padded index tensors.

Index 0 is ``<pad>``, 1 ``<start>``, 2 ``<stop>``; the SELFIES symbols follow in
sorted order. A tokenized molecule is ``[t_1, ..., t_n, <stop>, <pad>, ...]`` of
length `L`, so a molecule may have at most `L - 1` symbols.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence

import selfies as sf
import torch
from torch import Tensor

__all__ = ["PAD", "START", "STOP", "SelfiesVocab", "to_selfies_tokens"]

logger = logging.getLogger(__name__)

PAD, START, STOP = "<pad>", "<start>", "<stop>"
SPECIALS = (PAD, START, STOP)


def to_selfies_tokens(smiles: str) -> list[str] | None:
    """SELFIES symbols of a SMILES string, or ``None`` when it cannot be encoded."""
    try:
        encoded = sf.encoder(smiles)
    except Exception:  # selfies raises its own EncoderError and others
        return None
    if encoded is None:
        return None
    return list(sf.split_selfies(encoded))


class SelfiesVocab:
    """Symbols in index order, the first three being ``<pad>, <start>, <stop>``.

    Args:
        tokens: SELFIES symbols (specials are added in front when missing).
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        rest = [t for t in tokens if t not in SPECIALS]
        self.tokens: list[str] = [*SPECIALS, *rest]
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the vocabulary has duplicate symbols")
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad, self.start, self.stop = 0, 1, 2

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]]) -> SelfiesVocab:
        """Vocabulary of every symbol seen in ``token_lists`` (sorted)."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        return cls(sorted(counts))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the symbols in index order as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.tokens, fh, indent=0)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SelfiesVocab:
        """Read a vocabulary written by :meth:`save`."""
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def is_selfies(self, text: str) -> bool:
        """Whether ``text`` reads as a SELFIES string made of known symbols."""
        if not text.startswith("["):
            return False
        try:
            parts = list(sf.split_selfies(text))
        except Exception:
            return False
        return "".join(parts) == text and all(p in self.index for p in parts)

    def symbols(self, item: str | Sequence[str], kind: str = "auto") -> list[str]:
        """SELFIES symbols of one item.

        Args:
            item: a SMILES string, a SELFIES string or a list of symbols.
            kind: ``"auto"`` (SELFIES when :meth:`is_selfies`, else SMILES),
                ``"smiles"`` or ``"selfies"``.

        Raises:
            ValueError: when a SMILES string cannot be encoded, or for a bad kind.
        """
        if not isinstance(item, str):
            return list(item)
        if kind not in ("auto", "smiles", "selfies"):
            raise ValueError(
                f"kind must be 'auto', 'smiles' or 'selfies', got {kind!r}"
            )
        if kind == "selfies" or (kind == "auto" and self.is_selfies(item)):
            return list(sf.split_selfies(item))
        tokens = to_selfies_tokens(item)
        if tokens is None:
            raise ValueError(f"cannot encode SMILES {item!r} as SELFIES")
        return tokens

    def encode(
        self,
        items: Sequence[str | Sequence[str]],
        length: int,
        kind: str = "auto",
        drop_bad: bool = False,
    ) -> tuple[Tensor, list[int]]:
        r"""Index tensor of items (symbols, then ``<stop>``, then padding).

        Args:
            items: SMILES, SELFIES strings or symbol lists.
            length: `L`.
            kind: see :meth:`symbols`.
            drop_bad: leave out (instead of raising on) items that are too long,
                have unknown symbols or cannot be encoded.

        Returns:
            ``(tokens, kept)``: a `batch x L` long tensor and the indices of the kept
            items (all of them unless ``drop_bad``).

        Raises:
            TypeError: for a single string instead of a sequence.
            ValueError: naming the item, unless ``drop_bad``.
        """
        if isinstance(items, str):
            raise TypeError("expected a sequence of molecules, got a single str")
        rows, kept = [], []
        for k, item in enumerate(items):
            try:
                syms = self.symbols(item, kind)
                unknown = sorted({s for s in syms if s not in self.index})
                if unknown:
                    raise ValueError(f"item {k} has unknown SELFIES symbols {unknown}")
                if len(syms) > length - 1:
                    raise ValueError(
                        f"item {k} has {len(syms)} symbols, more than L-1={length - 1}"
                    )
            except ValueError:
                if drop_bad:
                    continue
                raise
            idx = [self.index[s] for s in syms] + [self.stop]
            rows.append(idx + [self.pad] * (length - len(idx)))
            kept.append(k)
        if len(kept) < len(items):
            logger.info(
                "dropped %d of %d molecules", len(items) - len(kept), len(items)
            )
        if not rows:
            return torch.empty((0, length), dtype=torch.long), kept
        return torch.tensor(rows, dtype=torch.long), kept

    def decode(self, tokens: Tensor | Sequence[Sequence[int]]) -> list[str]:
        """SELFIES strings of `batch x L` indices, cut at the first ``<stop>``/``<pad>``.

        ``<start>`` symbols are skipped.
        """
        out = []
        for row in torch.as_tensor(tokens, dtype=torch.long).tolist():
            syms = []
            for i in row:
                if i in (self.stop, self.pad):
                    break
                if i != self.start:
                    syms.append(self.tokens[i])
            out.append("".join(syms))
        return out

    @staticmethod
    def to_smiles(selfies_strings: Sequence[str]) -> list[str]:
        """SMILES of SELFIES strings (``""`` where the decoder fails)."""
        out = []
        for s in selfies_strings:
            try:
                out.append(sf.decoder(s) or "")
            except Exception:
                out.append("")
        return out
