r"""The arithmetic-expression grammar of Kusner et al. (2017).

.. code-block:: text

    S -> S '+' T | S '*' T | S '/' T | T
    T -> '(' S ')' | 'sin(' S ')' | 'exp(' S ')' | 'x' | '1' | '2' | '3'

This module holds a tokenizer, a recursive-descent parser (which also counts the
production rules of the unique leftmost derivation) and a numpy evaluator of parsed
trees (no ``eval`` of strings). Samplers are in :mod:`scales_core.grammar_sampling`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ExpressionSyntaxError",
    "Node",
    "ParsedExpression",
    "evaluate_tree",
    "parse_expression",
    "tokenize_expression",
]

OPERATORS = ("+", "*", "/")
LEAVES = ("x", "1", "2", "3")
OPENERS = ("(", "sin(", "exp(")
_MAX_DEPTH = 200


class ExpressionSyntaxError(ValueError):
    """A string is not a sentence of the expression grammar."""


@dataclass(frozen=True)
class Node:
    """A node of a parsed expression.

    Attributes:
        kind: ``"x"``, ``"1"``, ``"2"``, ``"3"`` for leaves; ``"("``, ``"sin("`` or
            ``"exp("`` for a bracketed sub-expression; ``"+"``, ``"*"`` or ``"/"``
            for a binary operation.
        children: the operands (none for leaves, one for brackets, two for operators).
    """

    kind: str
    children: tuple[Node, ...] = ()

    def __str__(self) -> str:
        if not self.children:
            return self.kind
        if len(self.children) == 1:
            return f"{self.kind}{self.children[0]})"
        left, right = self.children
        return f"{left}{self.kind}{right}"


@dataclass(frozen=True)
class ParsedExpression:
    """The result of :func:`parse_expression`.

    Attributes:
        tree: the root node.
        n_rules: number of production rules in the leftmost derivation.
        tokens: the grammar tokens (``'sin('`` and ``'exp('`` are single tokens).
    """

    tree: Node
    n_rules: int
    tokens: tuple[str, ...]

    @property
    def compact(self) -> str:
        """The expression without spaces, e.g. ``'sin(x*2)'``."""
        return "".join(self.tokens)


def tokenize_expression(text: str) -> list[str]:
    """Split a string into grammar tokens, ignoring whitespace between tokens.

    Args:
        text: e.g. ``'x + sin( x )'`` or ``'x+sin(x)'``.

    Returns:
        The tokens, e.g. ``['x', '+', 'sin(', 'x', ')']``.

    Raises:
        ExpressionSyntaxError: on a character outside the grammar.
    """
    tokens: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith(("sin(", "exp("), i):
            tokens.append(text[i : i + 4])
            i += 4
        elif char in "x123+*/()":
            tokens.append(char)
            i += 1
        else:
            raise ExpressionSyntaxError(f"unexpected character {char!r} at {i}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.rules = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExpressionSyntaxError("unexpected end of expression")
        self.pos += 1
        return token

    def sum(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise ExpressionSyntaxError(f"nesting deeper than {_MAX_DEPTH}")
        node = self.term(depth)
        self.rules += 1  # S -> T for the leftmost operand
        while self.peek() in OPERATORS:
            op = self.take()
            node = Node(op, (node, self.term(depth)))
            self.rules += 1  # S -> S op T
        return node

    def term(self, depth: int) -> Node:
        token = self.take()
        self.rules += 1
        if token in LEAVES:
            return Node(token)
        if token in OPENERS:
            inner = self.sum(depth + 1)
            closing = self.take()
            if closing != ")":
                raise ExpressionSyntaxError(f"expected ')' at token {self.pos - 1}")
            return Node(token, (inner,))
        raise ExpressionSyntaxError(f"unexpected {token!r} at token {self.pos - 1}")


def parse_expression(text: str) -> ParsedExpression:
    """Parse a string by the grammar.

    Args:
        text: an expression, with or without spaces between tokens.

    Returns:
        The parse tree, the number of production rules and the tokens.

    Raises:
        ExpressionSyntaxError: when the string is not a sentence of the grammar
            (including the empty string).
    """
    tokens = tokenize_expression(text)
    if not tokens:
        raise ExpressionSyntaxError("empty expression")
    parser = _Parser(tokens)
    tree = parser.sum(0)
    if parser.pos != len(tokens):
        raise ExpressionSyntaxError(
            f"unexpected {tokens[parser.pos]!r} at token {parser.pos}"
        )
    return ParsedExpression(tree, parser.rules, tuple(tokens))


def evaluate_tree(tree: Node, x: np.ndarray) -> np.ndarray:
    """Evaluate a parsed expression with numpy (overflow gives inf/NaN, silently).

    Args:
        tree: from :func:`parse_expression`.
        x: the points, any float array.

    Returns:
        The values, float64, with the shape of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.broadcast_to(_evaluate(tree, x), x.shape).astype(np.float64)


_UNARY = {"(": lambda v: v, "sin(": np.sin, "exp(": np.exp}
_BINARY = {"+": np.add, "*": np.multiply, "/": np.true_divide}


def _evaluate(root: Node, x: np.ndarray) -> np.ndarray | float:
    """Post-order evaluation with an explicit stack: no recursion limit.

    A flat ``x+x+...+x`` parses to a left-deep tree as deep as it is long, which
    a recursive walk could not evaluate past Python's recursion limit.
    """
    stack: list[tuple[Node, bool]] = [(root, False)]
    values: list = []
    while stack:
        node, children_done = stack.pop()
        kind = node.kind
        if kind == "x":
            values.append(x)
        elif kind in ("1", "2", "3"):
            values.append(float(kind))
        elif not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
        elif kind in _UNARY:
            values.append(_UNARY[kind](values.pop()))
        elif kind in _BINARY:
            right, left = values.pop(), values.pop()
            values.append(_BINARY[kind](left, right))
        else:
            raise ValueError(f"unknown node kind {kind!r}")
    return values[0]
