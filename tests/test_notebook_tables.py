"""scales_core.notebook_params.readable: tables as the book shows them."""

import math

import numpy as np
import pandas as pd

from scales_core.notebook_params import MISSING, readable


def test_readable_rounds_counts_and_marks_missing_values_one_way():
    frame = pd.DataFrame(
        {
            "seeds": [10.0, 3.0, np.nan],  # counts stored as floats
            "validity": [0.30000000000000004, np.nan, 0.844444],
            "name": ["a", None, "c"],
            "valid": [True, False, True],
        },
        index=["ga", "scales_0.5", "scales_2"],
    )
    out = readable(frame)
    assert out["seeds"].tolist() == [10, 3, MISSING] and isinstance(
        out.loc["ga", "seeds"], int | np.integer
    )
    assert out["validity"].tolist() == [0.3, MISSING, 0.844]
    assert out["name"].tolist() == ["a", MISSING, "c"]
    assert out["valid"].tolist() == [True, False, True]
    html = out.to_html()
    for bad in ("NaN", "nan", "None", "<NA>", "0.30000000000000004"):
        assert bad not in html, bad
    # a Series becomes a one-column table; the input is untouched
    assert readable(frame["validity"], digits=1)["validity"].tolist() == [
        0.3,
        MISSING,
        0.8,
    ]
    assert math.isnan(frame.loc["scales_0.5", "validity"])


def test_chapter_box_says_what_ran_and_how_to_rerun(tmp_path):
    import json

    from scales_core.notebook_params import chapter_box, last_run_seconds

    (tmp_path / "05_logp_bo.ipynb").write_text(
        json.dumps({"metadata": {"papermill": {"duration": 83.4}}})
    )
    box = chapter_box(
        "05_logp_bo",
        {"model": "smiles_gru_1", "seeds": "0-9 <all>"},
        ["12 steps, not 250"],
        "ScaLES lowers validity.",
        book_dir=tmp_path,
    ).data
    assert (
        "What ran" in box and "smiles_gru_1" in box and "&lt;all&gt;" in box
    )  # escaped
    assert (
        "python scripts/run_notebooks.py 05_logp_bo --params quick" in box
        and "83 s" in box
    )
    assert 'class="admonition warning"' in box and "12 steps, not 250" in box
    assert (
        "admonition warning"
        not in chapter_box("x", {}, [], "v", book_dir=tmp_path).data
    )
    assert last_run_seconds("missing", tmp_path) is None
