"""BOConfig (bo/config.py): every field is valid or refused with a ValueError."""

from __future__ import annotations

import pytest

from scales_core.bo import BOConfig

hypothesis = pytest.importorskip("hypothesis")
given, settings, st = hypothesis.given, hypothesis.settings, hypothesis.strategies


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=float("inf")),
        dict(lr=float("nan")),
        dict(half_width=float("inf")),
        dict(half_width=1e-300),
        dict(lr=True),
    ],
)
def test_bad_step_or_box_is_refused_by_the_config(kwargs):
    with pytest.raises(ValueError, match="lr|half_width"):
        BOConfig(**kwargs)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(
        ["cpa", "exact", "sum", "renormalized", "forward", "fd", "inv_c", "start"]
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(
        [
            "n_steps",
            "q",
            "lr",
            "ga_steps",
            "start",
            "scales_grad",
            "half_width",
            "scales_prior",
            "invalid",
            "refit",
            "direction",
            "scales_formula",
            "scales_normalizer",
            "scales_jacobian",
            "scales_anchor",
            "scales_dropout",
            "scales_tau",
            "logit_clip",
            "max_cholesky",
        ]
    ),
    value=_VALUES,
)
def test_bo_config_fields_are_valid_or_refused_with_value_error(field, value):
    import json

    try:
        config = BOConfig(**{field: value})
    except ValueError:
        return
    json.dumps(config.to_dict(), allow_nan=False)  # a header the run file can hold
