"""Objectives and the task registry, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import needs_data
from rdkit import Chem
from rdkit.Chem import Crippen

from scales_core.tasks import (
    TASKS,
    Outcome,
    evaluate,
    expression_objective,
    get_task,
    guacamol_objective,
    penalized_logp,
    penalized_logp_terms,
)

MOLECULES = ["CCO", "c1ccccc1", "C1CCCCCCCC1", "CC(=O)Oc1ccccc1C(=O)O"]
MOLECULES += ["CCCC(NC(C)C(=O)N1C2CCCCC2CC1C(=O)O)C(=O)OCC"]  # perindopril


# ------------------------------------------------------------------ expressions


def test_target_expression_scores_exactly_zero() -> None:
    assert expression_objective("1/3+x+sin(x*x)") == Outcome(0.0, None)
    assert expression_objective("1 / 3 + x + sin( x * x )").value == 0.0


@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("x", lambda x: x),
        ("1/x", lambda x: 1 / x),
        ("sin(x)*exp(1)+2", lambda x: np.sin(x) * np.e + 2),
        ("x/2/3", lambda x: (x / 2) / 3),  # left associative
    ],
)
def test_expression_objective_by_hand(text: str, function) -> None:
    x = np.linspace(-10, 10, 1000)
    mse = np.mean((function(x) - (1 / 3 + x + np.sin(x**2))) ** 2)
    value, reason = expression_objective(text)
    assert reason is None
    assert value == pytest.approx(-np.log(1 + mse), rel=1e-12)


def test_expression_objective_failures() -> None:
    value, reason = expression_objective("exp(exp(exp(x)))")
    assert math.isnan(value) and "not finite" in reason
    value, reason = expression_objective("sin(xxx")
    assert math.isnan(value) and reason.startswith("invalid expression")
    assert math.isnan(expression_objective("").value)


# ------------------------------------------------------------------ penalized logP


def test_penalized_logp_against_rdkit() -> None:
    from rdkit.Contrib.SA_Score import sascorer

    for smiles in MOLECULES:
        mol = Chem.MolFromSmiles(smiles)
        rings = [len(r) for r in mol.GetRingInfo().AtomRings()]  # simple rings here
        cycle = max(max(rings, default=0) - 6, 0)
        logp, sa = Crippen.MolLogP(mol), sascorer.calculateScore(mol)
        assert penalized_logp_terms(smiles) == pytest.approx((logp, sa, cycle))
        expected = (
            (logp - 2.4570953396190123) / 1.434324401111988
            + (-sa + 3.0525811293166134) / 0.8335207024513095
            + (-cycle + 0.0485696876403053) / 0.2860212110245455
        )
        assert penalized_logp(smiles).value == pytest.approx(expected, rel=1e-12)
    assert penalized_logp_terms("C1CCCCCCCC1")[2] == 3.0


def test_penalized_logp_invalid() -> None:
    for bad in ["C1CCCCC2", "", "C1CCCCC)"]:
        value, reason = penalized_logp(bad)
        assert math.isnan(value) and reason


# ------------------------------------------------------------------ GuacaMol


@pytest.mark.parametrize(
    ("name", "factory"),
    [
        ("perindopril_mpo", "perindopril_rings"),
        ("ranolazine_mpo", "ranolazine_mpo"),
        ("zaleplon_mpo", "zaleplon_with_other_formula"),
    ],
)
def test_guacamol_against_its_own_objects(name: str, factory: str) -> None:
    import scipy

    scipy.histogram = np.histogram
    from guacamol import standard_benchmarks

    reference = getattr(standard_benchmarks, factory)().objective
    for smiles in MOLECULES:
        assert guacamol_objective(name, smiles).value == pytest.approx(
            reference.score(smiles), abs=1e-12
        )
    assert reference.score("C1CCCCC2") == -1  # guacamol's corrupt score ...
    value, reason = guacamol_objective(name, "C1CCCCC2")  # ... becomes NaN here
    assert math.isnan(value) and reason


def test_unknown_guacamol_name() -> None:
    with pytest.raises(ValueError, match="unknown GuacaMol task"):
        guacamol_objective("celecoxib", "CCO")


# ------------------------------------------------------------------ registry


def test_registry_names() -> None:
    assert sorted(TASKS) == sorted(
        ["expressions", "logp", "perindopril_mpo", "ranolazine_mpo", "zaleplon_mpo"]
    )
    with pytest.raises(ValueError, match="unknown task 'qed'"):
        get_task("qed")


def test_evaluate_expressions_batch() -> None:
    batch = ["1/3+x+sin(x*x)", "x", "exp(exp(exp(x)))", "sin(xxx", ""]
    values, valid, reasons = evaluate("expressions", batch)
    assert values.dtype == np.float64 and valid.dtype == bool
    assert valid.tolist() == [True, True, False, False, False]
    assert values[0] == 0.0 and values[1] == expression_objective("x").value
    assert np.isnan(values[2:]).all()
    assert reasons[:2] == [None, None] and all(reasons[2:])
    assert get_task("expressions")("x") == values[1]


def test_evaluate_logp_batch() -> None:
    values, valid, reasons = get_task("logp").evaluate([*MOLECULES, "C1CCCCC2"])
    assert valid.tolist() == [True] * len(MOLECULES) + [False]
    assert values[:-1] == pytest.approx([penalized_logp(s).value for s in MOLECULES])
    assert np.isnan(values[-1]) and "parse" in reasons[-1]


@needs_data("rd_filters/rules.json")
def test_evaluate_mpo_uses_quality_filters() -> None:
    azo = "O=C(O)c1ccccc1N=Nc1ccccc1"  # parses, but fails a structural alert
    task = get_task("zaleplon_mpo")
    values, valid, reasons = task.evaluate(["CC(=O)Oc1ccccc1C(=O)O", azo, "x("])
    assert valid.tolist() == [True, False, False]
    assert values[0] == pytest.approx(
        guacamol_objective("zaleplon_mpo", MOLECULES[3]).value
    )
    assert "alert" in reasons[1] and np.isnan(values[1:]).all()
    assert not task.is_valid(azo) and task.is_valid("CCO")


def test_a_missing_data_file_is_raised_not_called_invalid() -> None:
    """A check that cannot read its data would make every string invalid: it raises."""
    from scales_core.paths import DataNotFoundError
    from scales_core.tasks import Outcome, Task

    def missing(text):
        raise DataNotFoundError("data file 'rd_filters/rules.json' not found")

    def broken(text):
        raise ValueError("unparsable")

    ok = lambda text: Outcome(1.0, None)  # noqa: E731
    with pytest.raises(DataNotFoundError, match="rules.json"):
        Task("t", "toy", ok, missing).evaluate(["CCO"])
    with pytest.raises(DataNotFoundError):
        Task("t", "toy", missing, lambda text: None).evaluate(["CCO"])
    values, valid, reasons = Task("t", "toy", ok, broken).evaluate(["CCO"])
    assert (
        not valid[0]
        and math.isnan(values[0])
        and "ValueError: unparsable" in reasons[0]
    )


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name, item", [("expressions", "x+1"), ("logp", "CCO")])
def test_task_evaluate_refuses_a_bare_string(name, item):
    from scales_core.tasks import evaluate, get_task

    task = get_task(name)
    with pytest.raises(TypeError, match=r"single string .*evaluate\(\[s\]\)"):
        task.evaluate(item)
    with pytest.raises(TypeError, match="single string"):
        evaluate(name, item)
    with pytest.raises(TypeError, match="list of strings, got int"):
        task.evaluate(3)
    values, valid, _ = task.evaluate([item])
    assert len(values) == 1 and valid[0] and task(item) == values[0]
