"""Validity of expressions and SMILES, and the molecule quality filters."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import needs_data
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, FilterCatalog, Lipinski, rdMolDescriptors

from scales_core import data
from scales_core.grammar import parse_expression
from scales_core.grammar_sampling import generate_expressions
from scales_core.tasks import (
    check_batch,
    expression_invalid_reason,
    is_valid_expression,
    is_valid_smiles,
    passes_quality_filters,
    quality_filter_reason,
    smiles_invalid_reason,
)

DATA = os.environ.get("SCALES_DATA_DIR")


VALID = ["x", "1", "x+1", "sin(x*2)", "exp(x)/3", "((x))", "x+x+(x)+(x+1)"]
VALID += ["x + sin( x )", "1/3+x+sin(x*x)", "sin(exp(sin(x)))*x/2"]
INVALID = ["sin(xxx", "x+", "(x", "", "   ", "x)", "sin x", "12", "xx", "cos(x)"]
INVALID += ["x**2", "+x", "exp()", "()", "x+*1", "si n(x)", "__import__('os')", "x-1"]


@pytest.mark.parametrize("text", VALID)
def test_valid_expressions(text: str) -> None:
    assert is_valid_expression(text)
    assert expression_invalid_reason(text) is None


@pytest.mark.parametrize("text", INVALID)
def test_invalid_expressions(text: str) -> None:
    assert not is_valid_expression(text)
    assert isinstance(expression_invalid_reason(text), str)


def test_rule_count_hand_worked() -> None:
    # S->S+T x3, S->T, T->x x2, T->(S), S->T, T->x, T->(S), S->S+T, S->T, T->x x2
    assert parse_expression("x+x+(x)+(x+x)").n_rules == 14
    assert parse_expression("x").n_rules == 2  # S -> T -> x
    assert parse_expression("sin(x)").n_rules == 4


def test_generated_expressions_are_valid() -> None:
    assert all(is_valid_expression(s) for s in generate_expressions(200, seed=7))


def test_deep_nesting_is_rejected_not_crashing() -> None:
    assert not is_valid_expression("(" * 5000 + "x" + ")" * 5000)


@needs_data("expressions/equation2_15_dataset.txt")
def test_dataset_expressions_are_valid() -> None:
    assert all(is_valid_expression(s) for s in data.load_expressions(n=2000))


def test_smiles_validity() -> None:
    assert is_valid_smiles("C1CCCCC1") and is_valid_smiles("c1ccccc1O")
    for bad in ["C1CCCCC2", "C1CCCCC)", "", " ", "xyz"]:
        assert not is_valid_smiles(bad)
        assert isinstance(smiles_invalid_reason(bad), str)
    assert not is_valid_smiles(None)  # type: ignore[arg-type]


def test_check_batch() -> None:
    valid, reasons = check_batch(["C1CCCCC1", "C1CCCCC2", ""], smiles_invalid_reason)
    assert valid == [True, False, False]
    assert reasons[0] is None and "parse" in reasons[1] and "empty" in reasons[2]

    def explode(text: str) -> str | None:
        raise RuntimeError("boom")

    valid, reasons = check_batch(["x"], explode)
    assert valid == [False] and "boom" in reasons[0]


def _reference_quality(smiles: str, rules: dict) -> bool:
    """Straight re-implementation: Inpharmatica catalog and inclusive ranges."""
    mol = Chem.MolFromSmiles(smiles)
    params = FilterCatalog.FilterCatalogParams()
    params.AddCatalog(
        FilterCatalog.FilterCatalogParams.FilterCatalogs.CHEMBL_Inpharmatica
    )
    if FilterCatalog.FilterCatalog(params).HasMatch(mol):
        return False
    values = {
        "MW": Descriptors.MolWt(mol),
        "LogP": Crippen.MolLogP(mol),
        "HBD": Lipinski.NumHDonors(mol),
        "HBA": Lipinski.NumHAcceptors(mol),
        "TPSA": rdMolDescriptors.CalcTPSA(mol),
        "Rot": rdMolDescriptors.CalcNumRotatableBonds(mol),
    }
    return all(rules[k][0] <= v <= rules[k][1] for k, v in values.items())


@needs_data("rd_filters/rules.json", "zinc/zinc250k_jtvae_test.txt")
def test_quality_filters() -> None:
    rules = json.loads((Path(DATA) / "rd_filters" / "rules.json").read_text())
    enabled = sorted(k for k, v in rules.items() if k.startswith("Rule_") and v)
    assert enabled == ["Rule_Inpharmatica"]
    assert passes_quality_filters("CC(=O)Oc1ccccc1C(=O)O")  # aspirin
    assert quality_filter_reason("O=C(O)c1ccccc1N=Nc1ccccc1").startswith(
        "structural alert"
    )
    assert quality_filter_reason("OCC(O)C(O)C(O)C(O)CO").startswith("HBD")
    assert quality_filter_reason("CCCCCCCC1CCC(CC1)C1CCC(CCCCCCC)CC1").startswith(
        "LogP"
    )
    assert not passes_quality_filters("C1CCCCC2")
    molecules = data.load_zinc("test")[:150]
    ours = [passes_quality_filters(s) for s in molecules]
    assert ours == [_reference_quality(s, rules) for s in molecules]
    assert 0 < sum(ours) < len(ours)


@pytest.mark.usefixtures("one_thread")
def test_check_batch_refuses_misuse():
    from scales_core.tasks import check_batch, is_valid_smiles, smiles_invalid_reason

    with pytest.raises(TypeError, match="single string"):
        check_batch("CCO", smiles_invalid_reason)
    with pytest.raises(TypeError, match="strings first"):
        check_batch(smiles_invalid_reason, ["CCO"])  # swapped
    with pytest.raises(TypeError, match="strings first"):
        check_batch(["CCO"], "smiles")
    with pytest.raises(TypeError, match="is_valid_smiles returned True.*_reason"):
        check_batch(["CCO"], is_valid_smiles)
    assert check_batch(["CCO", "C1CC"], smiles_invalid_reason)[0] == [True, False]


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", ["logp", "perindopril_mpo"])
def test_overlong_smiles_is_invalid_at_once(name):
    from scales_core.tasks import get_task
    from scales_core.tasks.validity import MAX_SMILES_LENGTH

    if name == "perindopril_mpo":
        pytest.importorskip("guacamol")
    long = "C" * 20_000
    tic = time.perf_counter()
    values, valid, reasons = get_task(name).evaluate([long, "C" * 50])
    assert time.perf_counter() - tic < 2.0  # was 22 s for penalized logP
    assert not valid[0] and values[0] != values[0]  # NaN
    assert f"more than the cap of {MAX_SMILES_LENGTH}" in reasons[0]
    assert valid[1] or "cap" not in str(reasons[1])
