"""The method registry: the paper's list, parsing and bad parameters."""

from __future__ import annotations

import pytest

from scales_core.bo import METHODS, PAPER_METHODS, MethodConfig, get_method

hypothesis = pytest.importorskip("hypothesis")
given, settings, st = hypothesis.given, hypothesis.settings, hypothesis.strategies


def test_paper_methods():
    assert len(PAPER_METHODS) == 17 and set(METHODS) == set(PAPER_METHODS)
    assert get_method("ga") == MethodConfig("ga")
    assert [get_method(f"scales_{x}").lam for x in ("0.2", "0.5", "0.8", "2")] == [
        0.2,
        0.5,
        0.8,
        2,
    ]
    assert get_method("prior_0.8").penalty == "prior"
    uc = get_method("uc_es_95")
    assert (uc.stopping, uc.quantile, uc.penalty, uc.lam) == ("uc", 95.0, None, 0.0)
    assert get_method("scales_es_25").stopping == "scales"
    lb = get_method("lbfgs_25")
    assert (lb.optimizer, lb.facet) == ("lbfgs", 25.0)


def test_other_values_parse():
    assert get_method("scales_0.3").lam == 0.3
    assert get_method("lbfgs_10").facet == 10.0
    config = get_method("prior_1e-1")
    assert get_method(config) is config


@pytest.mark.parametrize(
    "name,match",
    [
        ("adam", "unknown method"),
        ("scales", "unknown method"),
        ("scales_-0.5", "lambda"),
        ("prior_-1", "lambda"),
        ("scales_0", "lambda > 0"),
        ("uc_es_101", "quantile"),
        ("lbfgs_0", "facet"),
        ("lbfgs_-5", "facet"),
    ],
)
def test_bad_names(name, match):
    with pytest.raises(ValueError, match=match):
        get_method(name)


def test_bad_configs():
    with pytest.raises(ValueError, match="optimizer"):
        MethodConfig("x", optimizer="sgd")
    with pytest.raises(ValueError, match="no penalty"):
        MethodConfig("x", optimizer="lbfgs", penalty="scales", lam=1.0, facet=1.0)
    with pytest.raises(ValueError, match="facet"):
        MethodConfig("x", facet=1.0)
    with pytest.raises(ValueError, match="lambda"):
        MethodConfig("x", penalty="scales", lam=float("nan"))
    with pytest.raises(ValueError, match="name"):
        get_method(0.5)


@settings(max_examples=200, deadline=None)
@given(
    name=st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "ga",
                "scales_0.5",
                "scales_es_50",
                "lbfgs_5",
                "prior_-1",
                "scales_",
                "uc_es_101",
                "scales_nan",
                "scales_1e400",
                "lbfgs_0",
            ]
        ),
    )
)
def test_method_names_parse_or_raise_value_error(name):
    from scales_core.bo import get_method

    try:
        spec = get_method(name)
    except ValueError:
        return
    assert get_method(spec.name) == spec  # a parsed name reads back to the same method
