"""One BO step (bo/step.py): what counts as an invalid oracle call."""

from __future__ import annotations

from scales_core.bo import run_bo


def test_a_nan_objective_for_a_valid_item_is_an_invalid_call(tmp_path):
    import numpy as np
    from test_bo_loop import CONFIG, toy_evaluate, toy_problem

    def flaky(strings):
        values, valid, reasons = toy_evaluate(strings)
        values = np.where(valid, np.nan, values)  # valid, but no value
        return values, valid, reasons

    problem = toy_problem()
    problem.evaluate = flaky
    data = run_bo(
        problem, "ga", seed=0, config=CONFIG, path=tmp_path / "r.jsonl", progress=False
    )
    assert data.oracle and not any(r["valid"] for r in data.oracle)
    for r in data.oracle:
        want = "has 'ee'" if "ee" in r["string"] else "black box returned nan"
        assert want in r["reason"]
