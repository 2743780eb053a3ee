r"""Black-box objectives of the paper's optimization tasks.

Every objective maps one string to an :class:`Outcome` ``(value, reason)``: a float,
and ``None`` or, when the value is NaN, why. No objective raises for a string input.

* :func:`expression_objective`: ``-log(1 + MSE)`` between the expression and
  ``1/3 + x + sin(x * x)`` on 1000 equally spaced points of ``[-10, 10]``.
* :func:`penalized_logp`: normalized Crippen logP - SA score - long-cycle penalty.
* :func:`guacamol_objective`: GuacaMol's Perindopril, Ranolazine and Zaleplon MPO.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from ..grammar import ExpressionSyntaxError, evaluate_tree, parse_expression
from .validity import mol_from_smiles, smiles_invalid_reason

__all__ = [
    "EXPRESSION_GRID",
    "GUACAMOL_BENCHMARKS",
    "Outcome",
    "expression_objective",
    "expression_target",
    "guacamol_objective",
    "guacamol_scoring_function",
    "penalized_logp",
    "penalized_logp_terms",
    "perindopril_mpo",
    "ranolazine_mpo",
    "zaleplon_mpo",
]

EXPRESSION_GRID = np.linspace(-10.0, 10.0, 1000)

# ZINC-250k normalization constants of the penalized logP (Gomez-Bombarelli et al.,
# Jin et al.): (mean, std) of logP, of -SA and of -(largest ring size - 6)^+.
LOGP_MEAN, LOGP_STD = 2.4570953396190123, 1.434324401111988
SA_MEAN, SA_STD = -3.0525811293166134, 0.8335207024513095
CYCLE_MEAN, CYCLE_STD = -0.0485696876403053, 0.2860212110245455


class Outcome(NamedTuple):
    """An objective value and, when it is NaN, the reason.

    Attributes:
        value: the objective (NaN when it cannot be computed).
        reason: ``None``, or why the value is NaN.
    """

    value: float
    reason: str | None = None


def _fail(reason: str) -> Outcome:
    return Outcome(math.nan, reason)


def expression_target(x: np.ndarray = EXPRESSION_GRID) -> np.ndarray:
    """The target function ``1/3 + x + sin(x * x)``.

    Args:
        x: the points (default: the objective's grid).

    Returns:
        Target values.
    """
    return 1 / 3 + x + np.sin(x * x)


def expression_objective(text: str) -> Outcome:
    """``-log(1 + MSE)`` of an expression against ``1/3 + x + sin(x * x)``.

    The expression is parsed by the grammar and evaluated with numpy on
    ``numpy.linspace(-10, 10, 1000)``; the best value is 0.

    Args:
        text: an expression (with or without spaces between tokens).

    Returns:
        The value, or NaN with a reason for an invalid expression or non-finite
        values (``exp`` overflow, division by zero).
    """
    if not isinstance(text, str):
        return _fail(f"not a string: {type(text).__name__}")
    try:
        tree = parse_expression(text).tree
    except ExpressionSyntaxError as error:
        return _fail(f"invalid expression: {error}")
    try:
        values = evaluate_tree(tree, EXPRESSION_GRID)
    except Exception as error:  # noqa: BLE001 - objectives never raise
        return _fail(f"evaluation failed: {type(error).__name__}: {error}")
    finite = np.isfinite(values)
    if not finite.all():
        return _fail(
            f"expression is not finite at {int((~finite).sum())} of "
            f"{values.size} points (overflow or division by zero)"
        )
    with np.errstate(all="ignore"):
        mse = float(np.mean((values - expression_target(EXPRESSION_GRID)) ** 2))
    if not math.isfinite(mse):
        return _fail("squared error overflows")
    return Outcome(-math.log1p(mse) + 0.0)


@cache
def _sascorer() -> Any:
    from rdkit.Contrib.SA_Score import sascorer  # RDConfig.RDContribDir/SA_Score

    return sascorer


def penalized_logp_terms(smiles: str) -> tuple[float, float, float]:
    """The raw terms ``(logP, SA score, cycle penalty)`` of a valid molecule.

    ``logP`` is Crippen's (``Descriptors.MolLogP``), SA the synthetic
    accessibility score of Ertl and Schuffenhauer (RDKit Contrib), and the cycle
    penalty ``max(0, L - 6)`` for ``L`` the largest cycle of the molecular
    graph's ``networkx.cycle_basis`` (the convention of the JT-VAE code).

    Args:
        smiles: a valid SMILES.

    Returns:
        The three terms.

    Raises:
        ValueError: when the SMILES does not parse.
    """
    import networkx as nx
    from rdkit.Chem import Descriptors, rdmolops

    mol = mol_from_smiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    logp = Descriptors.MolLogP(mol)
    sa = _sascorer().calculateScore(mol)
    cycles = nx.cycle_basis(nx.Graph(rdmolops.GetAdjacencyMatrix(mol)))
    largest = max((len(cycle) for cycle in cycles), default=0)
    return logp, sa, float(max(largest - 6, 0))


def penalized_logp(smiles: str) -> Outcome:
    """Penalized logP, each term normalized with the ZINC-250k constants.

    ``(logP - mu_logP)/s_logP + (-SA - mu_SA)/s_SA + (-cycle - mu_cycle)/s_cycle``.

    Args:
        smiles: the molecule.

    Returns:
        The value, or NaN with a reason for an invalid SMILES.
    """
    reason = smiles_invalid_reason(smiles)
    if reason is not None:
        return _fail(reason)
    try:
        logp, sa, cycle = penalized_logp_terms(smiles)
    except Exception as error:  # noqa: BLE001 - objectives never raise
        return _fail(f"penalized logP failed: {type(error).__name__}: {error}")
    return Outcome(
        (logp - LOGP_MEAN) / LOGP_STD
        + (-sa - SA_MEAN) / SA_STD
        + (-cycle - CYCLE_MEAN) / CYCLE_STD
    )


# task name -> guacamol.standard_benchmarks factory
GUACAMOL_BENCHMARKS: dict[str, str] = {
    "perindopril_mpo": "perindopril_rings",
    "ranolazine_mpo": "ranolazine_mpo",
    "zaleplon_mpo": "zaleplon_with_other_formula",
}


@cache
def guacamol_scoring_function(name: str) -> Any:
    """GuacaMol's scoring-function object of a benchmark.

    Args:
        name: ``"perindopril_mpo"``, ``"ranolazine_mpo"`` or ``"zaleplon_mpo"``.

    Returns:
        The ``objective`` of the ``guacamol.standard_benchmarks`` benchmark (it has
        ``.score(smiles)``).

    Raises:
        ValueError: on an unknown name.
    """
    if name not in GUACAMOL_BENCHMARKS:
        raise ValueError(
            f"unknown GuacaMol task {name!r}: {sorted(GUACAMOL_BENCHMARKS)}"
        )
    import scipy

    if not hasattr(scipy, "histogram"):  # guacamol 0.5.5 imports scipy.histogram
        scipy.histogram = np.histogram
    from guacamol import standard_benchmarks

    return getattr(standard_benchmarks, GUACAMOL_BENCHMARKS[name])().objective


def guacamol_objective(name: str, smiles: str) -> Outcome:
    """Score a molecule with a GuacaMol benchmark's scoring function.

    Args:
        name: a key of :data:`GUACAMOL_BENCHMARKS`.
        smiles: the molecule.

    Returns:
        The score in ``[0, 1]``, or NaN with a reason for an invalid SMILES (where
        GuacaMol itself would return its ``corrupt_score`` of -1).

    Raises:
        ValueError: on an unknown benchmark name.
    """
    scorer = guacamol_scoring_function(name)
    reason = smiles_invalid_reason(smiles)
    if reason is not None:
        return _fail(reason)
    try:
        value = float(scorer.score(smiles))
    except Exception as error:  # noqa: BLE001 - objectives never raise
        return _fail(f"{name} failed: {type(error).__name__}: {error}")
    if value < 0:
        return _fail(f"GuacaMol rejected the molecule (score {value})")
    return Outcome(value)


def _guacamol(name: str) -> Callable[[str], Outcome]:
    def objective(smiles: str) -> Outcome:
        return guacamol_objective(name, smiles)

    objective.__name__ = name
    objective.__doc__ = f"GuacaMol {name} of a molecule (see guacamol_objective)."
    return objective


perindopril_mpo = _guacamol("perindopril_mpo")
ranolazine_mpo = _guacamol("ranolazine_mpo")
zaleplon_mpo = _guacamol("zaleplon_mpo")
