"""The ablation table pairs each arm with the preset, and names what carries the gain."""

import pandas as pd
import pytest

from scales_core.results.ablation import (
    ablation_seeds,
    ablation_table,
    carrying_components,
)


def runs(method, valid_by_seed, complete=True):
    """A ``load_sweep``-like frame: per seed, a list of valid flags (objective = call index)."""
    rows = []
    for seed, flags in valid_by_seed.items():
        for step, valid in enumerate(flags):
            rows.append(
                dict(
                    task="toy",
                    method=method,
                    seed=seed,
                    step=step,
                    index=0,
                    string=f"{method}{seed}-{step}",
                    valid=valid,
                    objective=float(step) if valid else None,
                    scales=0.0,
                    complete=complete,
                )
            )
    return pd.DataFrame(rows).astype({"objective": float})


M = "scales_0.8"
PRESET = runs(M, {0: [1, 1, 1, 0], 1: [1, 1, 0, 0], 2: [1, 1, 1, 1]})  # 0.75 0.5 1
DEFAULT = runs(M, {0: [1, 0, 0, 0], 1: [0, 0, 0, 0], 2: [1, 1, 0, 0]})  # 0.25 0 0.5


def test_arms_are_paired_with_the_preset_on_shared_seeds():
    arms = {
        "clip": runs(M, {0: [1, 0, 0, 0], 1: [0, 0, 0, 0], 3: [1, 1, 1, 1]}),
        "tau": runs(M, {0: [1, 1, 1, 1], 1: [1, 1, 0, 0], 2: [1, 1, 1, 0]}),
        "unfinished": runs(M, {0: [1, 1, 1, 1]}, complete=False),
        "other method": runs("ga", {0: [1, 1, 1, 1]}),
    }
    table = ablation_table(ablation_seeds(PRESET, arms, DEFAULT, M, k=1))
    assert list(table.index) == ["clip", "tau"]
    clip = table.loc["clip"]
    assert clip["seeds"] == 2  # seed 3 has no preset run
    assert clip["validity"] == pytest.approx(0.125)
    assert clip["validity (preset)"] == pytest.approx(0.625)
    assert clip["validity - preset"] == pytest.approx(-0.5)
    assert clip["validity lower"] == "2 of 2"
    assert clip["preset gain"] == pytest.approx(0.5)  # (0.5 + 0.5) / 2 on seeds 0, 1
    tau = table.loc["tau"]
    assert tau["validity - preset"] == pytest.approx((0.25 + 0 - 0.25) / 3)
    assert tau["validity lower"] == "1 of 3"
    assert tau["top10 - preset"] == pytest.approx(0.0)  # top-1: the best valid call


def test_gain_is_nan_where_the_default_lacks_a_seed():
    default = runs(M, {0: [0, 0, 0, 0]})
    arms = {"clip": runs(M, {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]})}
    table = ablation_table(ablation_seeds(PRESET, arms, default, M, k=1))
    assert pd.isna(table.loc["clip", "preset gain"])
    assert ablation_table(ablation_seeds(runs("ga", {0: [1]}), arms, default, M)).empty


def test_the_sentence_names_only_large_majority_drops():
    table = pd.DataFrame(
        {
            "seeds": [5, 5, 5, 2],
            "validity - preset": [-0.05, -0.01, -0.06, -0.09],
            "validity lower": ["5 of 5", "4 of 5", "2 of 5", "2 of 2"],
            "preset gain": [0.06, 0.06, 0.06, 0.06],
        },
        index=["clip", "tau", "direction", "jacobian"],
    )
    text = carrying_components(table)
    assert text.startswith(
        "clip (-0.050 against a gain of +0.060; lower on 5 of 5 seeds)"
    )
    assert "carries the gain" in text
    assert "tau, direction do not" in text  # too small; not on most seeds
    assert "jacobian still under 5 paired seeds" in text
    table["validity - preset"] = 0.0
    assert carrying_components(table).startswith("no single component carries")
    assert carrying_components(pd.DataFrame()) == "no ablation runs yet"
    table["preset gain"] = -0.01  # nothing to carry
    table["validity - preset"] = -0.05
    assert carrying_components(table).startswith("no single component")


def test_load_arms_reads_one_folder_per_arm(tmp_path):
    from test_chapter_helpers import fake_run

    from scales_core.results import load_arms

    fake_run(tmp_path / "clip", M, 0, [(1.0, "C")], task="logp")
    fake_run(tmp_path / "tau", M, 1, [(None, "x")], task="logp")
    (tmp_path / "empty").mkdir()
    arms = load_arms(tmp_path, "logp")
    assert list(arms) == ["clip", "tau"]
    assert arms["clip"]["string"].tolist() == ["C"]
    assert arms["tau"]["seed"].tolist() == [1]
    assert load_arms(tmp_path / "missing", "logp") == {}


def test_seeds_and_plot_show_each_arm_beside_the_default():
    import matplotlib

    matplotlib.use("Agg")
    from scales_core.results import ablation_seeds, plot_ablation

    arms = {
        "clip": runs(M, {0: [1, 0, 0, 0], 1: [0, 0, 0, 0]}),
        "tau": runs(M, {2: [1, 1, 1, 0]}),
    }
    seeds = ablation_seeds(PRESET, arms, DEFAULT, M, k=1)
    assert seeds[["arm", "seed"]].values.tolist() == [
        ["clip", 0],
        ["clip", 1],
        ["tau", 2],
    ]
    assert seeds["validity (preset)"].tolist() == [0.75, 0.5, 1.0]
    assert seeds["validity (default)"].tolist() == [0.25, 0.0, 0.5]
    fig = plot_ablation(seeds)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "clip",
        "tau",
        "all back (default)",
    ]
    bars = [p.get_height() for p in ax.patches]
    assert bars == pytest.approx([-0.5, -0.25, -0.5])  # default: (-0.5 - 0.5 - 0.5) / 3
