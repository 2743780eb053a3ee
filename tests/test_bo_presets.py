"""Published-pipeline components as BO options: penalty, direction, presets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import MLPDecoder

import scales_core as sc
from scales_core.bo.config import LATER_FIELDS, BOConfig
from scales_core.bo.optimize import gen_candidates_normalized_ga
from scales_core.bo.presets import PRESETS, preset_fields
from scales_core.bo.published import ReleasePenalty


def test_default_components_are_the_exact_cpa_score():
    dec = MLPDecoder().double().requires_grad_(False)
    z = torch.randn(4, 3, dtype=torch.float64)
    pen = ReleasePenalty(dec, jacobian="forward", tau=0.7)
    exact = sc.ScaLES(dec, rho=0.7, grad="cpa")
    torch.testing.assert_close(pen(z), exact(z))
    x = z.clone().requires_grad_(True)
    (g_pen,) = torch.autograd.grad(pen(x).sum(), x)
    x = z.clone().requires_grad_(True)
    (g_exact,) = torch.autograd.grad(exact(x).sum(), x)
    torch.testing.assert_close(g_pen, g_exact)


def test_later_release_components():
    dec = MLPDecoder().double().requires_grad_(False)
    z0 = torch.randn(3, 3, dtype=torch.float64)
    pen = ReleasePenalty(
        dec,
        formula="forward",
        normalizer="inv_c",
        jacobian="forward",
        anchor="start",
        prior_scale=None,
    )
    score = pen.anchored(z0)
    want = sc.ScaLES(dec, formula="forward", normalizer="inv_c").log_det(z0)
    torch.testing.assert_close(score(z0), want)
    # anchored: away from z0 the Jacobian stays z0's
    z1 = z0 + 0.3
    assert not torch.allclose(score(z1), pen(z1))
    with pytest.raises(ValueError, match="anchors"):
        score(z0[:2])


def test_bad_components_are_refused():
    dec = MLPDecoder()
    for kwargs, match in [
        (dict(formula="x"), "formula"),
        (dict(normalizer="inv_c"), "inv_c"),
        (dict(jacobian="reverse"), "jacobian"),
        (dict(anchor="end"), "anchor"),
        (dict(logit_clip=-1), "logit_clip"),
    ]:
        with pytest.raises(ValueError, match=match):
            ReleasePenalty(dec, **kwargs)


def test_renormalized_direction_steps_exactly_lr():
    dec = MLPDecoder().double().requires_grad_(False)
    pen = sc.ScaLES(dec, grad="cpa")
    X0 = torch.randn(2, 1, 3, dtype=torch.float64)
    acq = lambda X: -(X - 1).square().sum((-1, -2))  # noqa: E731
    lam, lr = 2.0, 0.1
    one, _ = gen_candidates_normalized_ga(
        X0, acq, pen, lam=lam, lr=lr, n_steps=1, renormalize=True
    )
    torch.testing.assert_close(
        (one - X0).flatten(1).norm(dim=1), torch.full((2,), lr, dtype=torch.float64)
    )
    summed, _ = gen_candidates_normalized_ga(X0, acq, pen, lam=lam, lr=lr, n_steps=1)
    # same direction, different length
    d1, d2 = (one - X0).flatten(1), (summed - X0).flatten(1)
    torch.testing.assert_close(
        d1 / d1.norm(dim=1, keepdim=True), d2 / d2.norm(dim=1, keepdim=True)
    )
    assert ((summed - X0).flatten(1).norm(dim=1) > lr * 1.01).all()


def test_config_fields_are_checked_and_old_headers_unchanged():
    assert BOConfig().to_dict().keys().isdisjoint(LATER_FIELDS)
    assert not BOConfig().release_penalty
    cfg = BOConfig(logit_clip=12.0, direction="renormalized")
    assert cfg.release_penalty and cfg.to_dict()["logit_clip"] == 12.0
    for kwargs in [
        dict(direction="up"),
        dict(scales_normalizer="inv_c"),
        dict(scales_tau=0),
        dict(logit_clip=float("inf")),
        dict(scales_anchor="end"),
        dict(scales_prior="flat"),
    ]:
        with pytest.raises(ValueError):
            BOConfig(**kwargs)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("dataset", ["expressions", "smiles", "selfies"])
def test_every_preset_is_a_valid_config(preset, dataset):
    fields, positions = preset_fields(preset, dataset)
    cfg = BOConfig(**fields)
    assert cfg.release_penalty == (preset != "default")
    assert positions is None or positions >= 19


def test_preset_facts():
    fields, positions = preset_fields("paper_2024", "smiles")
    assert (fields["scales_tau"], fields["logit_clip"], positions) == (0.001, 12.0, 30)
    assert fields["direction"] == "renormalized"
    fields, positions = preset_fields("paper_2025", "smiles")
    assert (fields["refit"], fields["invalid"], positions) == ("never", "drop", 120)
    with pytest.raises(ValueError, match="preset"):
        preset_fields("paper_2023", "smiles")
    with pytest.raises(ValueError, match="dataset"):
        preset_fields("paper_2024", "dyck")


def test_unmoved_proposals_finds_requeried_latents():
    import numpy as np

    from scales_core.bo.run_record import RunData
    from scales_core.results import unmoved_proposals, unmoved_summary

    rng = np.random.default_rng(0)
    init = rng.normal(size=(20, 4))
    moved = init[3] + 0.5
    oracle = [
        dict(
            step=0, index=0, latent=init[3].tolist(), valid=True
        ),  # a start point again
        dict(step=0, index=1, latent=moved.tolist(), valid=False),  # moved
        dict(
            step=1, index=0, latent=(moved + 1e-9).tolist(), valid=True
        ),  # an earlier proposal
        dict(
            step=1, index=1, latent=(init[5] + 1e-2).tolist(), valid=True
        ),  # close, but moved
    ]
    run = RunData(
        header=dict(method="scales_es_75", seed=0),
        init=dict(latents=init.tolist()),
        oracle=oracle,
        done=dict(type="done"),
    )
    calls = unmoved_proposals([run])
    assert calls["unmoved"].tolist() == [True, False, True, False]
    table = unmoved_summary(calls)
    row = table.loc["scales_es_75"]
    assert row["unmoved share"] == 0.5 and row["valid (unmoved)"] == 1.0
    assert row["valid (moved)"] == 0.5 and row["proposals"] == 4
    # an unfinished run is skipped
    assert unmoved_proposals(
        [RunData(header=run.header, init=run.init, oracle=oracle)]
    ).empty


def _frame(rows):
    import pandas as pd

    from scales_core.results.runs import COLUMNS

    out = []
    for method, seed, valid_objectives in rows:
        for i, (valid, obj) in enumerate(valid_objectives):
            out.append(
                dict(
                    task="t",
                    method=method,
                    seed=seed,
                    step=i,
                    index=0,
                    string=str(i),
                    objective=obj if valid else None,
                    valid=valid,
                    scales=0.0,
                    complete=True,
                    path=f"{method}/{seed}",
                )
            )
    return pd.DataFrame(out, columns=list(COLUMNS)).astype({"objective": float})


def _two_pipelines():
    """Pipeline A: GA on seeds 0-1, scales_0.5 on 0-2 (seed 2 has no GA: not
    paired); pipeline B: both on seed 0. Four calls per run, the first few valid."""
    calls = lambda n_valid, n, base: [(i < n_valid, base + i) for i in range(n)]  # noqa: E731
    a = _frame(
        [
            ("ga", 0, calls(2, 4, 0.0)),
            ("ga", 1, calls(1, 4, 0.0)),
            ("scales_0.5", 0, calls(4, 4, 1.0)),
            ("scales_0.5", 1, calls(0, 4, 0.0)),
            ("scales_0.5", 2, calls(4, 4, 0.0)),
        ]
    )
    b = _frame([("ga", 0, calls(4, 4, 0.0)), ("scales_0.5", 0, calls(2, 4, 0.0))])
    return a, b


def test_pipeline_table_pairs_each_pipeline_with_its_own_ga():
    from scales_core.results import pipeline_table

    a, b = _two_pipelines()
    table = pipeline_table({"A": a, "B": b}, ["scales_0.5", "scales_2"], k=1)
    assert list(table.index) == [
        ("A", "ga"),
        ("A", "scales_0.5"),
        ("B", "ga"),
        ("B", "scales_0.5"),
    ]
    row = table.loc[("A", "scales_0.5")]
    assert row["seeds"] == 2
    assert row["validity"] == 0.5 and row["validity - GA"] == pytest.approx(0.5 - 0.375)
    assert row["validity higher"] == "1 of 2"
    # differences +0.5 (seed 0) and -0.25 (seed 1): ranks 2 and 1, W+ = 2 of the
    # four equally likely sign patterns' {0, 1, 2, 3}: two-sided p = 2 * P(W+ >= 2) = 1
    assert row["validity p"] == pytest.approx(1.0)
    assert math.isnan(table.loc[("A", "ga"), "validity p"])
    assert table.loc[("B", "scales_0.5"), "validity - GA"] == -0.5


def test_pair_summary_pools_tasks_as_one_set_of_pairs():
    import pandas as pd

    from scales_core.results import pair_summary, pipeline_seeds

    a, b = _two_pipelines()
    # the same runs as two tasks of one pipeline: 2 + 1 pairs of scales_0.5 with its GA
    pairs = pd.concat(
        [
            pipeline_seeds({"A": a}, ["scales_0.5"], k=1).assign(task="t1"),
            pipeline_seeds({"A": b}, ["scales_0.5"], k=1).assign(task="t2"),
        ],
        ignore_index=True,
    )
    row = pair_summary(pairs).loc[("A", "scales_0.5")]
    assert row["seeds"] == 3
    assert row["validity - GA"] == pytest.approx((0.5 - 0.25 - 0.5) / 3)
    assert row["validity higher"] == "1 of 3"
    # |d| = 0.5, 0.25, 0.5: ranks 2.5, 1, 2.5; W+ = 2.5, the centre of W+'s range: p = 1
    assert row["validity p"] == pytest.approx(1.0)


def test_pipeline_seeds_and_their_figure():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from scales_core.results import pipeline_seeds, plot_pipelines

    a, b = _two_pipelines()
    seeds = pipeline_seeds({"A": a, "B": b}, ["scales_0.5"], k=1)
    got = seeds[seeds["method"] == "scales_0.5"]
    assert got[["pipeline", "seed"]].values.tolist() == [["A", 0], ["A", 1], ["B", 0]]
    assert got["validity - GA"].tolist() == pytest.approx([0.5, -0.25, -0.5])
    # top-1 of the valid: A seed 0 reaches 4.0 against GA's 1.0
    assert got["top10 - GA"].iloc[0] == pytest.approx(3.0)
    assert pipeline_seeds({"C": b[b["method"] != "ga"]}, ["scales_0.5"]).empty
    paper = pd.DataFrame(
        {"validity_mean": [0.2, 0.5], "top10_mean": [1.0, 3.0]},
        index=["ga", "scales_0.5"],
    )
    fig = plot_pipelines(seeds, paper)
    validity, top10 = fig.axes
    assert [t.get_text() for t in validity.get_xticklabels()] == ["scales_0.5"]
    assert [p.get_height() for p in validity.patches] == pytest.approx([0.125, -0.5])
    cross = validity.collections[-1].get_offsets()
    assert cross[0].tolist() == pytest.approx([0.0, 0.3])  # the paper: 0.5 - 0.2
    assert top10.collections[-1].get_offsets()[0].tolist() == pytest.approx([0.0, 2.0])


def test_paired_p_value_matches_the_exact_signed_rank_distribution():
    import itertools

    from scales_core.results import paired_p_value

    # all n differences on one side: only 1 of 2**n sign patterns per side is as extreme
    assert paired_p_value([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 2**5)
    assert paired_p_value(-np.arange(1, 11) / 10) == pytest.approx(2 / 2**10)
    # by enumeration: W+ of the ranks 1..6 over all 64 sign patterns
    diff = np.array([0.3, -0.1, 0.6, 0.2, -0.5, 0.4])
    ranks = np.argsort(np.argsort(np.abs(diff))) + 1
    w = ranks[diff > 0].sum()
    null = [
        sum(r for r, s in zip(ranks, signs) if s)
        for signs in itertools.product([0, 1], repeat=6)
    ]
    tail = min(np.mean([x >= w for x in null]), np.mean([x <= w for x in null]))
    assert paired_p_value(diff) == pytest.approx(min(1.0, 2 * tail))
    # zeros are dropped; no nonzero difference: no test
    assert paired_p_value([0.0, 0.1, 0.2]) == pytest.approx(paired_p_value([0.1, 0.2]))
    assert math.isnan(paired_p_value([0.0, 0.0]))


def test_validity_ordering():
    import pandas as pd

    from scales_core.results import validity_ordering

    idx = pd.MultiIndex.from_tuples(
        [("A", "ga"), ("A", "s1"), ("A", "s2"), ("B", "ga")]
    )
    table = pd.DataFrame(
        {
            "validity": [0.1, 0.2, 0.3, 0.5],
            "validity - GA": [0, 0.1, 0.2, 0],
            "seeds": [3, 3, 2, 1],
        },
        index=idx,
    )
    got = validity_ordering(table, "A", ["s1", "s2"])
    assert got == {"values": [0.1, 0.2, 0.3], "rising": True, "above": True, "seeds": 2}
    assert not validity_ordering(table, "A", ["s2", "s1"])["rising"]
    assert validity_ordering(table, "B", ["s1"]) is None
    assert validity_ordering(table, "C", ["s1"]) is None


def test_penalty_float64_scores_a_float64_copy():
    from test_bo_loop import toy_problem

    from scales_core.bo import get_method
    from scales_core.bo.step import StepRunner

    problem = toy_problem()
    problem.decoder.float()
    runner = StepRunner(
        problem, get_method("scales_0.5"), 0, BOConfig(penalty_float64=True)
    )
    assert next(runner.penalty.decoder.parameters()).dtype == torch.float64
    assert next(problem.decoder.parameters()).dtype == torch.float32
    assert runner.penalty is not runner.scales
    plain = StepRunner(problem, get_method("scales_0.5"), 0, BOConfig())
    assert plain.penalty is plain.scales


def test_run_facts_summarize_what_ran():
    from scales_core.bo.run_record import RunData
    from scales_core.results import run_facts

    def run(method, seed, done=True):
        header = dict(
            method=method,
            seed=seed,
            threads=1,
            problem=dict(checkpoint="m", n_init=50),
            parameters=dict(n_steps=12, q=5, device="cpu"),
        )
        return RunData(header=header, done=dict(type="done") if done else None)

    facts = run_facts(
        [run("ga", 0), run("ga", 1), run("scales_0.5", 0), run("ga", 2, done=False)]
    )
    assert (
        facts["model"] == "m"
        and facts["BO"] == "12 steps of 5 points, 50 initial points"
    )
    assert (
        facts["seeds per method"] == "2 (ga); 1 (scales_0.5)"
        and facts["runs"] == "3 finished"
    )
    assert run_facts([run("ga", 0, done=False)]) == {"runs": "none finished"}


def test_ablation_arguments_switch_one_component_back_to_the_default():
    from scales_core.bo import BOConfig
    from scales_core.bo.presets import ABLATION_ARMS, ablation_arguments, preset_fields
    from scales_core.sweep.cli import _parse_overrides

    default = BOConfig()
    for preset in ["paper_2024", "paper_2025"]:
        arms = ablation_arguments(preset)
        assert list(arms) == list(ABLATION_ARMS[preset])
        fields, _ = preset_fields(preset, "smiles")
        for arm, args in arms.items():
            if args[0] == "--positions":
                assert args == ["--positions", "30"]
                continue
            assert args[0] == "--set"
            back = _parse_overrides(args[1:])
            assert back == ABLATION_ARMS[preset][arm]  # read back as written
            for key, value in back.items():
                assert getattr(default, key) == value  # the default's value
                assert fields[key] != value  # which the preset changes
    with pytest.raises(ValueError, match="no ablation arms"):
        ablation_arguments("default")


def test_ablation_script_runs_each_arm_on_each_seed(tmp_path):
    import os
    import stat
    import subprocess
    import sys
    from pathlib import Path

    log = tmp_path / "calls.txt"
    fake = tmp_path / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'if [ "$1" = -m ]; then echo "$@" >> {log}; else exec {sys.executable} "$@"; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHON": str(fake), "OUT": str(tmp_path / "out")}
    subprocess.run(
        ["bash", "scripts/run_ablation_sweep.sh", "paper_2024", "logp", "scales_0.8"],
        cwd=root,
        env=env,
        check=True,
    )
    calls = log.read_text().splitlines()
    assert len(calls) == 4 * 5  # arms x seeds
    first = calls[0].split()
    assert first[first.index("--seeds") + 1] == "0"
    assert first[first.index("--out") + 1].endswith("out/logp_ablation_paper_2024/tau")
    assert first[-2:] == ["--set", "scales_tau=null"]
    assert any(c.endswith("--set direction=sum") and "--seeds 4" in c for c in calls)
    bad = subprocess.run(
        ["bash", "scripts/run_ablation_sweep.sh", "default", "logp", "scales_0.8"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no ablation arms" in bad.stderr


def test_strongest_pipeline_ranks_by_mean_validity_gain():
    from scales_core.results import pipeline_table, strongest_pipeline

    a, b = _two_pipelines()
    table = pipeline_table({"A": a, "B": b}, ["scales_0.5", "scales_2"], k=1)
    # A's scales_0.5 gains +0.125 over its GA on average, B's loses 0.5
    label, gains = strongest_pipeline(table, ["scales_0.5"], exclude=())
    assert label == "A"
    assert gains.to_dict() == pytest.approx({"A": 0.125, "B": -0.5})
    assert list(gains.index) == ["A", "B"]
    # an excluded pipeline does not compete
    assert strongest_pipeline(table, ["scales_0.5"], exclude=("A",))[0] == "B"
    # only A ran scales_2 (B has no finished pair): a pipeline must run every method
    with pytest.raises(ValueError, match="ran every one"):
        strongest_pipeline(table, ["scales_0.5", "scales_2"], exclude=("A",))
