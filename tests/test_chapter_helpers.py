"""The helpers the chapters call (scales_core.results, scales_core.notebook_glue),
each on a small constructed input: run folders written like the sweeps write them,
frames built by hand, and a recorder in place of myst-nb's glue."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import scales_core.bo
from scales_core import notebook_glue
from scales_core.bo import RunRecord
from scales_core.notebook_params import Text
from scales_core.results import (
    PAPER_BO_TABLES,
    SHARED_BASELINE_PIPELINES,
    ClaimTable,
    compare_variant_dirs,
    finished_steps,
    finished_table,
    gpu_timing_table,
    load_sweep,
    method_summary,
    metric_pairs,
    most_common_share,
    ordering_sentence,
    paired_validity,
    paper_pipeline_rows,
    pipeline_frames,
    pipeline_table,
    reason_group,
    reason_groups,
    result_source,
    row_mean,
    run_table,
    same_baseline_proposals,
    start_validity,
    step_split,
    task_values,
    validity_ceiling,
    validity_table,
    value_and_grad,
    with_default_baseline,
    within_tolerance,
)
from scales_core.sweep import run_path


def fake_run(out, method, seed, calls, task="toy", done=True):
    """A run file as a sweep writes it; ``calls``: ``(objective or None, string)`` per step."""
    header = {
        "task": task,
        "method": method,
        "seed": seed,
        "parameters": {},
        "problem": {},
        "method_config": {},
    }
    with RunRecord(run_path(out, task, method, seed), header) as record:
        for i, (value, string) in enumerate(calls):
            record.write(
                {
                    "type": "oracle",
                    "step": i,
                    "index": 0,
                    "latent": [0.0],
                    "string": string,
                    "objective": value,
                    "valid": value is not None,
                    "scales": 0.0,
                }
            )
        if done:
            record.write({"type": "done"})


def frame_of(rows):
    """A ``load_sweep``-like frame from ``(method, seed, valid, objective, complete)`` rows."""
    out = pd.DataFrame(
        rows, columns=["method", "seed", "valid", "objective", "complete"]
    )
    out["task"] = "toy"
    out["step"] = out.groupby(["method", "seed"]).cumcount()
    out["index"] = 0
    out["string"] = [
        f"{m}{s}-{i}" for m, s, i in zip(out["method"], out["seed"], out["step"])
    ]
    out["scales"] = 0.0
    return out


# --- the summary chapter's verdict table ---------------------------------------------


def test_claim_table_rows_sources_and_counts():
    claims = ClaimTable()
    claims.add(
        "A",
        "1",
        "2",
        "partly",
        "close",
        "04_x",
        "sec-a",
        "4 A",
        {"results": "r", "commit": "c"},
    )
    claims.add("B", "1", "2", "reproduces", "equal", "05_x", "sec-b", "5 B")
    claims.add("C", "1", "2", "partly", "far", "06_x", "sec-c", "6 C")
    table = claims.frame()
    assert list(table.columns) == ["claim", "ours", "paper", "verdict", "evidence"]
    assert table.loc[0, "verdict"] == "<b>partly</b>: close"
    assert table.loc[1, "evidence"] == '<a href="05_x.html#sec-b">5 B</a>'
    html = claims.html()
    assert (
        '<a href="04_x.html#sec-a">' in html
        and "<b>reproduces</b>" in html
        and "verdicts" in html
    )
    sources = claims.sources_frame()
    assert list(sources.index) == ["A"] and sources.loc["A", "commit"] == "c"
    assert claims.verdict_counts() == "2 partly, 1 reproduces"


def test_result_source_and_tolerance():
    gpu = result_source(
        {"device_name": "H200", "commit": "0123456789abcdef"}, "results/gpu"
    )
    assert gpu == {
        "results": "results/gpu",
        "hardware": "H200",
        "commit": "0123456789ab",
    }
    assert result_source({"threads": 2})["hardware"] == "CPU, 2 torch thread(s)"
    assert within_tolerance(0.9, 0.88, 0.05) and within_tolerance(0.93, 0.88, 0.0500001)
    assert not within_tolerance(0.94, 0.88, 0.05)


def test_paired_claim_verdict_follows_the_test():
    from scales_core.results import paired_claim_verdict, paired_p_value

    up = [0.01 * (i + 1) for i in range(10)]  # 10 of 10 above: p = 0.002
    assert paired_claim_verdict(0.05, paired_p_value(up), 10) == (
        "partly",
        "above the baseline, p = 0.002",
    )
    assert (
        paired_claim_verdict(-0.05, paired_p_value([-d for d in up]), 10)[0]
        == "reversed"
    )
    # 5 of 6 above but the one below is the largest: the test does not reject
    mixed = [0.01, 0.02, 0.03, 0.04, 0.05, -0.2]
    assert (
        paired_claim_verdict(0.1, paired_p_value(mixed), 6)[0] == "does not reproduce"
    )
    assert paired_claim_verdict(0.0, float("nan"), 10)[0] == "does not reproduce"
    # 5 seeds all above give p = 0.0625: no verdict below 6 paired seeds
    verdict, why = paired_claim_verdict(0.05, paired_p_value(up[:5]), 5)
    assert verdict == "not comparable" and why.startswith("5 paired seed(s)")


def test_method_summary_from_a_folder_or_a_frame_and_metric_pairs(tmp_path):
    fake_run(tmp_path, "ga", 0, [(1.0, "a"), (None, "b")])
    fake_run(tmp_path, "scales_0.5", 0, [(2.0, "c"), (3.0, "d")])
    fake_run(
        tmp_path, "scales_0.5", 1, [(None, "e")], done=False
    )  # unfinished: left out
    ours = method_summary(tmp_path, k=1)
    pd.testing.assert_frame_equal(ours, method_summary(load_sweep(tmp_path), k=1))
    assert (
        ours.loc["ga", "validity_mean"] == 0.5
        and ours.loc["scales_0.5", "n_seeds"] == 1
    )
    paper = pd.DataFrame({"validity_mean": [0.2, 0.3]}, index=["ga", "scales_0.5"])
    assert metric_pairs(ours, paper, "scales_0.5", "validity_mean") == (
        1.0,
        0.5,
        0.3,
        0.2,
    )


# --- run folders and pipelines ---------------------------------------------------------


def test_run_table_and_finished_table():
    frame = frame_of(
        [
            ("ga", 0, True, 1.0, True),
            ("ga", 0, False, None, True),
            ("ga", 1, True, 2.0, False),
            ("scales_0.8", 0, True, 3.0, True),
        ]
    )
    runs = run_table(frame)
    assert runs.set_index(["method", "seed"])["calls"].to_dict() == {
        ("ga", 0): 2,
        ("ga", 1): 1,
        ("scales_0.8", 0): 1,
    }
    shown = finished_table(runs, ["scales_0.8", "ga"])
    assert list(shown.index) == ["scales_0.8", "ga"]
    assert (
        shown.loc["ga", "finished runs"] == 1
        and shown.loc["ga", "unfinished runs"] == 1
    )
    assert shown.loc["scales_0.8", "unfinished runs"] == 0


def test_finished_steps_and_step_split():
    runs = pd.DataFrame(
        {
            "method": ["ga", "ga", "s"],
            "seed": [0, 1, 0],
            "complete": [True, True, False],
        }
    )
    steps = pd.DataFrame(
        {
            "method": ["ga", "ga", "ga", "s"],
            "seed": [0, 0, 1, 0],
            "device": "cpu",
            "fit_s": [1.0, 3.0, 5.0, 9.0],
            "acq_s": 0.0,
            "oracle_s": 0.0,
            "score_s": 0.0,
        }
    )
    steps["total_s"] = steps["fit_s"] * 60
    done = finished_steps(steps, runs)
    assert set(done["method"]) == {"ga"} and len(done) == 3
    split = step_split(done)
    assert split.index.name == "method" and split.loc["ga", "fit_s"] == 3.0
    # run totals: seed 0 (1 + 3) min, seed 1 5 min -> median 4.5
    assert split.loc["ga", "run_min (100 steps)"] == pytest.approx(4.5)
    by_device = step_split(done, by=["device", "method"])
    assert by_device.loc[("cpu", "ga"), "run_min (100 steps)"] == pytest.approx(4.5)


def test_compare_variant_dirs(tmp_path):
    chapter = frame_of(
        [
            ("ga", 0, True, 1.0, True),
            ("ga", 1, True, 1.0, True),
            ("scales_0.5", 0, True, 2.0, True),
            ("prior_0.5", 0, True, 3.0, True),
        ]
    )
    variant = tmp_path / "variant"
    fake_run(variant, "ga", 0, [(1.0, "a"), (None, "b")])
    fake_run(variant, "scales_0.5", 0, [(None, "c")])
    assert compare_variant_dirs(chapter, {"none": tmp_path / "missing"}, k=1) is None
    table = compare_variant_dirs(
        chapter, {"v": variant, "none": tmp_path / "missing"}, k=1, label="here"
    )
    assert set(table.index.get_level_values("variant")) == {"here", "v"}
    assert ("here", "prior_0.5") not in table.index  # a method no variant ran
    assert table.loc[("here", "ga"), "seeds"] == 1  # the seeds every variant finished
    assert (
        table.loc[("v", "ga"), "validity"] == 0.5
        and table.loc[("v", "scales_0.5"), "validity"] == 0.0
    )


def test_pipeline_frames_take_the_default_ga_for_the_shared_pipelines(tmp_path):
    default = frame_of(
        [("ga", 0, True, 1.0, True), ("scales_0.8", 0, False, None, True)]
    )
    own = frame_of([("ga", 0, False, None, True), ("scales_0.8", 0, True, 2.0, True)])
    later = tmp_path / "later"
    fake_run(later, "ga", 0, [(1.0, "x")], task="toy")
    assert "paper_2024" in SHARED_BASELINE_PIPELINES
    frames = pipeline_frames(
        default, {"paper_2024": own, "paper_2025": later, "gone": tmp_path / "no"}
    )
    assert list(frames) == ["default", "paper_2024", "paper_2025"]
    shared = frames["paper_2024"]
    assert shared[shared["method"] == "ga"]["valid"].tolist() == [
        True
    ]  # the default's GA
    assert shared[shared["method"] == "scales_0.8"]["valid"].tolist() == [
        True
    ]  # its own method
    pd.testing.assert_frame_equal(with_default_baseline(own, default), shared)
    assert frames["paper_2025"]["string"].tolist() == ["x"]  # not shared: its own GA
    table = pipeline_table(frames, ["scales_0.8"], k=1)
    assert table.loc[("paper_2024", "scales_0.8"), "validity - GA"] == 0.0
    assert table.loc[("default", "scales_0.8"), "validity - GA"] == -1.0


def test_same_baseline_proposals():
    ref = frame_of(
        [
            ("ga", 0, True, 1.0, True),
            ("ga", 0, True, 1.0, True),
            ("ga", 1, True, 1.0, True),
        ]
    )
    same = ref[ref["seed"] == 0].iloc[
        ::-1
    ]  # order does not matter, the seed's calls do
    assert same_baseline_proposals(same, ref) is True
    other = same.assign(string=["z", "y"])
    assert same_baseline_proposals(other, ref) is False
    assert same_baseline_proposals(same.assign(complete=False), ref) is None
    assert same_baseline_proposals(same[same["method"] == "x"], ref) is None


def test_paper_pipeline_rows_and_validity_table():
    paper = pd.DataFrame(
        {
            "validity_mean": [0.1, 0.2],
            "top1_mean": [1.0, 2.0],
            "top10_mean": [0.5, 0.7],
        },
        index=["ga", "scales_0.8"],
    )
    rows = paper_pipeline_rows(paper, ["ga", "scales_0.8"])
    assert list(rows.index) == [("paper", "ga"), ("paper", "scales_0.8")]
    assert rows.loc[("paper", "scales_0.8")].tolist() == [0.2, 2.0, 0.7]
    ours = pd.DataFrame(
        {
            "validity_mean": [0.123, 0.5],
            "validity_se": [0.01, 0.02],
            "n_seeds": [10.0, 3.0],
        },
        index=["ga", "new"],
    )
    table = validity_table(ours, {"ga": (19.0, 1.5)}, ["new", "missing", "ga"])
    assert list(table.index) == ["new", "ga"]
    assert table.loc["ga"].tolist() == ["12.3 (1.0)", 10, "19 (1.5)"]
    assert table.loc["new", "paper (%)"] == "\u2014"


def test_ordering_sentence():
    index = pd.MultiIndex.from_tuples(
        [("p", "ga"), ("p", "a"), ("p", "b"), ("q", "ga")], names=["pipeline", "method"]
    )
    pipes = pd.DataFrame(
        {
            "validity": [0.1, 0.2, 0.3, 0.1],
            "validity - GA": [0.0, 0.1, 0.2, 0.0],
            "seeds": [3, 3, 2, 3],
        },
        index=index,
    )
    assert ordering_sentence(pipes, "p", ["a", "b"]) == (
        "reproduces the rising validity (0.10 < 0.20 < 0.30); every lambda above GA; 2 paired seeds"
    )
    assert ordering_sentence(pipes, "p", ["b", "a"]).startswith(
        "does not reproduce the rising validity (0.10, 0.30, 0.20)"
    )
    pipes.loc[("p", "a"), "validity - GA"] = -0.1
    assert ordering_sentence(pipes, "p", ["a", "b"]).endswith(
        "; above GA only with b; 2 paired seeds"
    )
    pipes.loc[("p", "b"), "validity - GA"] = 0.0
    assert "; no lambda above GA;" in ordering_sentence(pipes, "p", ["a", "b"])
    assert ordering_sentence(pipes, "q", ["a"]) == "incomplete"
    assert ordering_sentence(pipes, "r", ["a"]) == "not run yet"


# --- validity ------------------------------------------------------------------------


class _FakeProblem:
    def __init__(self, seed):
        self.seed = seed

    def decoded_validity(self):
        return torch.tensor([True] * self.seed + [False] * (4 - self.seed))


def test_start_validity_and_validity_ceiling(monkeypatch):
    made = []

    def make_problem(task, seed=0, checkpoint=None):
        made.append((task, seed, checkpoint))
        return _FakeProblem(seed)

    monkeypatch.setattr(scales_core.bo, "make_problem", make_problem)
    shares = start_validity("logp", [1, 2], checkpoint="vae")
    assert shares.to_dict() == {1: 0.25, 2: 0.5} and made == [
        ("logp", 1, "vae"),
        ("logp", 2, "vae"),
    ]

    frame = frame_of(
        [("ga", s, s % 2 == 0, 1.0, True) for s in range(4)]
        + [("scales_0.8", s, True, 1.0, True) for s in (1, 2)]
        + [("prior", 1, True, 1.0, True)]
    )
    row = validity_ceiling(frame, "logp", ["ga", "scales_0.8", "prior"], 3, k=1)
    # GA's first 3 seeds (0, 1, 2) for every method; prior lacks two of them
    assert row["seeds"] == 3 and row["initial latents decode valid"] == pytest.approx(
        0.25
    )
    assert row["ga proposals"] == pytest.approx(2 / 3)
    assert math.isnan(row["scales_0.8 proposals"]) and math.isnan(
        row["prior proposals"]
    )
    assert (
        validity_ceiling(frame[frame["method"] != "ga"], "logp", ["prior"], 3) is None
    )


def test_paired_validity():
    rows = [
        ("ga", s, v, 1.0, True)
        for s, v in [(0, True), (0, False), (1, False), (2, True)]
    ] + [("scales_0.8", s, True, 1.0, True) for s in (0, 1, 5)]
    frame = frame_of(rows).assign(task="logp")
    got = paired_validity(frame, "logp", "scales_0.8", k=1)
    assert got["paired seeds"] == 2 and got["higher on"] == "2/2"
    assert got["validity GA"] == pytest.approx(0.25) and got[
        "mean difference"
    ] == pytest.approx(0.75)
    assert got["paper scales_0.8"] == PAPER_BO_TABLES["logp"]["scales_0.8"][0][0]
    assert (
        paired_validity(frame, "ranolazine_mpo", "scales_0.8") is None
    )  # no runs of the task
    assert (
        paired_validity(
            frame[frame["seed"] != 0].assign(
                seed=lambda f: f["seed"] + 10 * (f["method"] == "ga")
            ),
            "logp",
            "scales_0.8",
        )
        is None
    )  # no shared seed


def test_reason_groups():
    assert reason_group(None) == "valid" and reason_group(float("nan")) == "valid"
    assert reason_group("structural alert: nitro") == "structural alert"
    assert reason_group("logP 9 outside [0, 5]") == "property out of range"
    assert reason_group("cannot parse") == "other (parse, empty, ...)"
    header = {"task": "t", "method": "ga", "seed": 0}
    done = SimpleNamespace(
        header=header,
        done={},
        oracle=[
            {"step": 0, "index": 0, "reason": None},
            {"step": 0, "index": 1, "reason": "structural alert: x"},
        ],
    )
    unfinished = SimpleNamespace(
        header={**header, "seed": 1},
        done=None,
        oracle=[{"step": 0, "index": 0, "reason": "bad"}],
    )
    frame = pd.DataFrame(
        {"task": "t", "method": "ga", "seed": [0, 0, 1], "step": 0, "index": [1, 0, 0]}
    )
    assert reason_groups(frame, [done, unfinished]) == [
        "structural alert",
        "valid",
        "valid",
    ]


def test_task_values_and_row_mean():
    tables = {
        "a": pd.DataFrame({"x": [1.0]}, index=["m"]),
        "b": pd.DataFrame({"x": [2.0]}, index=["n"]),
        "c": pd.DataFrame({"x": [3.0]}, index=["m"]),
    }
    assert task_values(tables, ["c", "b", "a", "d"], "m", "x") == {"c": 3.0, "a": 1.0}
    table = pd.DataFrame(
        {"a": [1.0, 5.0], "b": [np.nan, 5.0], "c": [3.0, 5.0]}, index=["m", "n"]
    )
    assert (
        row_mean(table, "m", ["a", "b", "c", "d"]) == 2.0
    )  # NaN and missing columns left out
    assert row_mean(table, "m", ["a"]) == 1.0
    assert math.isnan(row_mean(table, "z", ["a"]))


# --- other chapters ------------------------------------------------------------------


def test_value_and_grad():
    z = torch.tensor([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]], dtype=torch.float64)
    values, grad = value_and_grad(lambda x: (x**2).sum(1), z)
    assert values.shape == (3,) and grad.shape == (3, 2)
    torch.testing.assert_close(
        values, torch.tensor([5.0, 1.0, 9.25], dtype=torch.float64)
    )
    torch.testing.assert_close(grad, 2 * z)
    assert not values.requires_grad and not z.requires_grad


def test_gpu_timing_table():
    base = {
        "checkpoint": "m",
        "B": 10,
        "score_s": 1.0,
        "score_grad_exact_s": 2.0,
        "score_grad_cpa_s": 3.0,
        "score_fd_s": 4.0,
        "decoder_forward_B(d+1)_s": 5.0,
    }
    table = gpu_timing_table([base, {**base, "score_s": 9.0}, {**base, "B": 5}])
    assert (
        table["positions"].tolist() == ["all", "all"]
        and table["decoder_dtype"].tolist() == ["float32"] * 2
    )
    assert table["score_s"].tolist() == [1.0, 1.0]  # the first row of a duplicate
    rows = [
        {**base, "positions": 30.0, "decoder_dtype": None},
        {**base, "positions": None, "decoder_dtype": "float64"},
    ]
    table = gpu_timing_table(rows)
    assert table["positions"].tolist() == ["30", "all"] and table[
        "decoder_dtype"
    ].tolist() == ["float32", "float64"]
    assert list(table.columns)[:4] == ["checkpoint", "B", "positions", "decoder_dtype"]


def test_most_common_share():
    assert most_common_share(pd.Series(["()", "()", "[]", "()", "x"])) == "() (60%)"
    assert most_common_share(pd.Series(["", "", "()"])) == "(empty) (67%)"


# --- glue ------------------------------------------------------------------------------


@pytest.fixture
def glued(monkeypatch):
    """The (name, value) pairs glued, in order, instead of myst-nb's glue."""
    got = []
    monkeypatch.setattr(
        notebook_glue, "_glue", lambda name, value: got.append((name, value))
    )
    return got


def test_glue_float_and_text(glued):
    notebook_glue.glue_float("x", np.float32(0.5))
    notebook_glue.glue_text("t", "smiles_gru_1")
    assert glued[0] == ("x", 0.5) and type(glued[0][1]) is float
    assert isinstance(glued[1][1], Text) and repr(glued[1][1]) == "smiles_gru_1"


def test_slash_list():
    assert notebook_glue.slash_list([0.123, 1, None]) == "0.12/1.00/n/a"
    assert notebook_glue.slash_list([0.1, 0.2], 3) == "n/a"
    assert notebook_glue.slash_list(iter([0.1, 0.2]), 2, digits=1) == "0.1/0.2"
    assert isinstance(notebook_glue.slash_list([]), Text)


def test_glue_variant_metrics(glued):
    table = pd.DataFrame(
        {"validity": [0.5], "top10": [2.0]},
        index=pd.MultiIndex.from_tuples([("here", "ga")], names=["variant", "method"]),
    )
    notebook_glue.glue_variant_metrics(
        table, [("here", "h"), ("there", "t")], [("ga", "ga")]
    )
    assert [n for n, _ in glued] == [
        "h_ga_validity",
        "h_ga_top10",
        "t_ga_validity",
        "t_ga_top10",
    ]
    assert glued[0][1] == 0.5 and glued[1][1] == 2.0 and math.isnan(glued[2][1])
    glued.clear()
    notebook_glue.glue_variant_metrics(
        None, [("here", "h")], [("ga", "ga")], columns=["top10"]
    )
    assert len(glued) == 1 and math.isnan(glued[0][1])


def test_glue_paired_verdict(glued):
    verdict = pd.DataFrame(
        {
            "best lambda": ["scales_0.8"],
            "paired seeds": [3],
            "validity GA": [0.4],
            "validity": [0.3],
            "validity higher on": ["1 of 3"],
            "top-10 GA": [2.0],
            "top-10": [2.0],
            "top-10 mean difference": [0.0],
            "top-10 higher on": ["2 of 3"],
        },
        index=["ScaLES"],
    )
    notebook_glue.glue_paired_verdict(
        verdict, "ScaLES", prefix="x_", seeds_key="paired"
    )
    got = dict(glued)
    assert [n for n, _ in glued] == [
        "x_best",
        "x_paired",
        "x_ga_validity",
        "x_validity",
        "x_ga_top10",
        "x_top10",
        "x_top10_diff",
        "x_validity_higher",
        "x_top10_higher",
        "x_validity_verdict",
        "x_top10_verdict",
    ]
    assert (
        got["x_best"] == "scales_0.8"
        and got["x_paired"] == 3
        and got["x_ga_validity"] == 0.4
    )
    assert (
        got["x_validity_verdict"] == "not above"
        and got["x_top10_verdict"] == "at least"
    )
    glued.clear()
    notebook_glue.glue_paired_verdict(verdict, "Prior")
    got = dict(glued)
    assert (
        got["best"] == "n/a" and got["seeds"] == "n/a" and math.isnan(got["top10_diff"])
    )
    assert len(got) == 11
