"""Methods, penalties, optimizers and scores resolve through one table each."""

from __future__ import annotations

import pytest

from scales_core.bo import methods, strategies
from scales_core.validity_auroc import JACOBIAN_SCORES, SCORES


def test_method_fields_are_checked_against_the_strategy_tables():
    for optimizer in strategies.OPTIMIZERS:
        fields = dict(facet=1.0) if optimizer == "lbfgs" else {}
        assert (
            methods.MethodConfig("m", optimizer=optimizer, **fields).optimizer
            == optimizer
        )
    for penalty in strategies.PENALTIES:
        lam = 0.0 if penalty is None else 0.5
        assert methods.MethodConfig("m", penalty=penalty, lam=lam).penalty == penalty
    for stopping in strategies.STOPPING:
        assert (
            methods.MethodConfig("m", stopping=stopping, quantile=50).stopping
            == stopping
        )
    for field, value in (
        ("optimizer", "adam"),
        ("penalty", "l2"),
        ("stopping", "loss"),
    ):
        with pytest.raises(ValueError, match=f"unknown {field}"):
            methods.MethodConfig("m", **{field: value, "lam": 0.5, "quantile": 50})


def test_every_family_names_entries_of_the_tables():
    for prefix, family in methods.METHOD_FAMILIES.items():
        for name in family.members(prefix):
            config = methods.get_method(name)
            assert config.optimizer in strategies.OPTIMIZERS
            assert config.penalty in strategies.PENALTIES
            assert config.stopping is None or config.stopping in strategies.STOPPING


@pytest.mark.parametrize("prefix", sorted(methods.METHOD_FAMILIES))
def test_every_family_parses(prefix):
    if methods.METHOD_FAMILIES[prefix].parameter is None:
        assert methods.get_method(prefix).name == prefix
        return
    value = "1" if "lbfgs" in prefix else "50" if "es_" in prefix else "0.5"
    config = methods.get_method(prefix + value)
    assert config.name == prefix + value


def test_figure_families_are_the_paper_methods_and_the_published_variant():
    families = methods.figure_families()
    assert families["ScaLES"] == ("scales_0.2", "scales_0.5", "scales_0.8", "scales_2")
    shown = [m for members in families.values() for m in members]
    assert sorted(shown) == sorted(
        methods.PAPER_METHODS + methods.PUBLISHED_VARIANT_METHODS
    )


def test_longest_prefix_wins():
    assert methods.get_method("scales_es_50").stopping == "scales"
    assert methods.get_method("scales_pub_0.5").penalty == "published"
    assert methods.get_method("scales_0.5").penalty == "scales"


def test_validity_scores_table():
    assert set(JACOBIAN_SCORES) | {"scales", "prior", "uncertainty"} == set(SCORES)
