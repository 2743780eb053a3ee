"""Methods, penalties, optimizers and scores resolve through one table each."""

from __future__ import annotations

import pytest

from scales_core.bo import methods, step
from scales_core.validity_auroc import JACOBIAN_SCORES, SCORES


def test_step_tables_cover_the_method_fields():
    assert set(step.OPTIMIZERS) == set(methods.OPTIMIZERS)
    assert set(step.PENALTIES) == set(methods.PENALTIES)
    assert set(step.STOPPING) == {s for s in methods.STOPPING_SCORES if s is not None}


@pytest.mark.parametrize("prefix", sorted(methods.METHOD_FAMILIES))
def test_every_family_parses(prefix):
    value = "1" if "lbfgs" in prefix else "50" if "es_" in prefix else "0.5"
    config = methods.get_method(prefix + value)
    assert config.name == prefix + value


def test_longest_prefix_wins():
    assert methods.get_method("scales_es_50").stopping == "scales"
    assert methods.get_method("scales_pub_0.5").penalty == "published"
    assert methods.get_method("scales_0.5").penalty == "scales"


def test_validity_scores_table():
    assert set(JACOBIAN_SCORES) | {"scales", "prior", "uncertainty"} == set(SCORES)
