r"""Expressions drawn from the grammar of Kusner et al. (2017).

Two generators: :func:`generate_expressions` draws distinct expressions uniformly
from all derivations within a rule and length budget; and
:func:`enumerate_grammarvae_expressions` rebuilds the published grammarVAE dataset
exactly (it is a truncated lexicographic enumeration of a template).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .grammar import LEAVES, OPENERS, OPERATORS

__all__ = [
    "count_derivations",
    "enumerate_grammarvae_expressions",
    "generate_expressions",
]

# Counts of derivations by (rules, characters), for S and T; the grammar is
# unambiguous, so each derivation is a distinct string.
# Counts of derivations by (rules, characters), for S and T; the grammar is
# unambiguous, so each derivation is a distinct string.


@cache
def _count_s(rules: int, length: int) -> int:
    if rules < 1 or length < 1:
        return 0
    total = _count_t(rules - 1, length)  # S -> T
    for r1 in range(1, rules - 1):
        for l1 in range(1, length - 1):
            left = _count_s(r1, l1)
            if left:
                total += (
                    len(OPERATORS) * left * _count_t(rules - 1 - r1, length - 1 - l1)
                )
    return total


@cache
def _count_t(rules: int, length: int) -> int:
    if rules < 1 or length < 1:
        return 0
    total = len(LEAVES) if rules == 1 and length == 1 else 0
    total += _count_s(rules - 1, length - 2)  # '(' S ')'
    total += 2 * _count_s(rules - 1, length - 5)  # 'sin(' S ')', 'exp(' S ')'
    return total


def count_derivations(max_rules: int = 15, max_length: int | None = 19) -> int:
    """Number of distinct expressions within a rule budget (and length budget).

    Args:
        max_rules: at most this many production rules.
        max_length: at most this many characters in compact form (``None``: no
            limit beyond what ``max_rules`` implies).

    Returns:
        The count.
    """
    lengths = range(1, (max_length or 5 * max_rules) + 1)
    return sum(_count_s(r, n) for r in range(1, max_rules + 1) for n in lengths)


def _pick(rng: np.random.Generator, weights: list[int]) -> int:
    total = sum(weights)
    target = int(rng.integers(total)) if total < 2**62 else int(rng.random() * total)
    for index, weight in enumerate(weights):
        if target < weight:
            return index
        target -= weight
    return len(weights) - 1


def _sample_s(rng: np.random.Generator, rules: int, length: int) -> str:
    options: list[tuple[int, int]] = [(0, 0)]  # S -> T
    weights = [_count_t(rules - 1, length)]
    for r1 in range(1, rules - 1):
        for l1 in range(1, length - 1):
            weights.append(_count_s(r1, l1) * _count_t(rules - 1 - r1, length - 1 - l1))
            options.append((r1, l1))
    r1, l1 = options[_pick(rng, weights)]
    if r1 == 0:
        return _sample_t(rng, rules - 1, length)
    op = OPERATORS[int(rng.integers(len(OPERATORS)))]
    left = _sample_s(rng, r1, l1)
    return left + op + _sample_t(rng, rules - 1 - r1, length - 1 - l1)


def _sample_t(rng: np.random.Generator, rules: int, length: int) -> str:
    leaf = len(LEAVES) if rules == 1 and length == 1 else 0
    paren = _count_s(rules - 1, length - 2)
    func = _count_s(rules - 1, length - 5)
    choice = _pick(rng, [leaf, paren, func, func])
    if choice == 0:
        return LEAVES[int(rng.integers(len(LEAVES)))]
    if choice == 1:
        return "(" + _sample_s(rng, rules - 1, length - 2) + ")"
    opener = "sin(" if choice == 2 else "exp("
    return opener + _sample_s(rng, rules - 1, length - 5) + ")"


def generate_expressions(
    n: int, seed: int = 0, max_rules: int = 15, max_length: int | None = 19
) -> list[str]:
    """Draw distinct expressions uniformly from the grammar's bounded language.

    Every expression with at most ``max_rules`` production rules (and at most
    ``max_length`` characters in compact form, the sequence length of the published
    checkpoints) is equally likely; the result has no duplicates and depends only on
    the arguments.

    Args:
        n: how many expressions.
        seed: seed of the numpy generator.
        max_rules: production-rule budget (Kusner et al. use 15).
        max_length: character budget of the compact form, or ``None``.

    Returns:
        ``n`` distinct compact expressions, e.g. ``'sin(x*2)+1'``.

    Raises:
        ValueError: when fewer than ``n`` distinct expressions exist.
    """
    limit = max_length or 5 * max_rules
    cells = [(r, m) for r in range(1, max_rules + 1) for m in range(1, limit + 1)]
    weights = [_count_s(r, m) for r, m in cells]
    available = sum(weights)
    if n > available:
        raise ValueError(f"asked for {n} expressions, only {available} exist")
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        rules, length = cells[_pick(rng, weights)]
        expression = _sample_s(rng, rules, length)
        if expression not in seen:
            seen.add(expression)
            out.append(expression)
    return out


def enumerate_grammarvae_expressions(n: int | None = 100_000) -> list[str]:
    """Rebuild the grammarVAE equation dataset by its enumeration order.

    ``equation2_15_dataset.txt`` of Kusner et al. is the first 100,000 of the
    122,880 expressions ``a op b + U + V`` enumerated in lexicographic order, with
    ``a op b`` over operators (outer) and leaves; ``U`` one of ``(a)``, ``sin(a)``,
    ``exp(a)``, ``a``; ``V`` one of ``(a op b)``, ``(a)``, ``sin(a op b)``,
    ``sin(a)``, ``exp(a op b)``, ``exp(a)``, ``a``. Each has at most 14 rules and
    19 characters.

    Args:
        n: how many to return, in file order (``None``: all 122,880).

    Returns:
        Compact expressions, e.g. ``'x+x+(x)+(x+x)'``.
    """
    binary = [f"{a}{op}{b}" for op in OPERATORS for a in LEAVES for b in LEAVES]
    third = [f"{w}{a})" for w in OPENERS for a in LEAVES] + list(LEAVES)
    fourth = [f"{w}{inner})" for w in OPENERS for inner in binary + list(LEAVES)]
    fourth += list(LEAVES)
    out = [f"{b}+{u}+{v}" for b in binary for u in third for v in fourth]
    return out if n is None else out[:n]
