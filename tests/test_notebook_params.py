"""Notebook parameters (notebook_params.py): check_params, each notebook checks its
parameter cell, glued text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def test_check_params_refuses_a_string_batch_size():
    from scales_core.notebook_params import ParameterError, check_params

    spec = {
        "batch_size": int,
        "rho": float,
        "positions": (int, None),
        "seeds": [int],
        "sizes": {str: (int, None)},
        "progress": bool,
    }
    good = {
        "batch_size": 50,
        "rho": 1,
        "positions": None,
        "seeds": [0, 1],
        "sizes": {"a": None, "b": 3},
        "progress": False,
    }
    check_params(good, spec)
    with pytest.raises(ParameterError, match=r"batch_size must be int, got str '50'"):
        check_params({**good, "batch_size": "50"}, spec)
    bad = {
        **good,
        "rho": float("nan"),
        "seeds": [0, "1"],
        "progress": "no",
        "sizes": {"a": 1.5},
    }
    del bad["positions"]
    with pytest.raises(ParameterError) as error:
        check_params(bad, spec)
    for name in (
        "rho must be float",
        "positions is missing",
        "seeds must be list",
        "sizes must be dict",
        "progress must be bool",
    ):
        assert name in str(error.value)
    with pytest.raises(ParameterError, match="batch_size must be int, got bool"):
        check_params({**good, "batch_size": True}, spec)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem
)
def test_each_notebook_checks_its_parameters(path):
    import yaml

    from scales_core.notebook_params import ParameterError

    cells = json.loads(path.read_text())["cells"]
    index = next(
        i for i, c in enumerate(cells) if "parameters" in c["metadata"].get("tags", [])
    )
    params, check = ("".join(cells[i]["source"]) for i in (index, index + 1))
    assert check.startswith("from scales_core.notebook_params import check_params")
    for param_set in ("quick", "full"):  # defaults, then each parameter file
        namespace = {}
        exec(params, namespace)
        file = ROOT / "params" / param_set / f"{path.stem}.yaml"
        namespace.update(yaml.safe_load(file.read_text()) or {})
        exec(check, namespace)
    name = next(
        k
        for k, v in namespace.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    )
    namespace[name] = str(namespace[name])  # a number given as a string
    with pytest.raises(ParameterError, match=f"{name} must be"):
        exec(check, namespace)


def test_glued_text_has_no_quotes():
    from scales_core.notebook_params import Text

    assert repr(Text("smiles_gru_1")) == "smiles_gru_1" and Text("a") == "a"
    assert repr("smiles_gru_1") == "'smiles_gru_1'"  # what a bare str would glue as
