"""Sweeps on Dask: resumable runs, the CLI, loading and the summary table."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from conftest import needs_data

from scales_core import sweep
from scales_core.bo import PAPER_METHODS, RunRecord, read_run
from scales_core.bo.run_record import compacted_path
from scales_core.results import (
    PAPER_B3_EXPRESSIONS,
    PAPER_TABLE2_VALIDITY,
    load_step_times,
    load_sweep,
    means_on_seeds,
    paper_table,
    proposal_ranking,
    summarize_sweep,
    top_values,
    trajectories,
    trajectory_bands,
)
from scales_core.sweep import main, run_path, run_sweep

CKPT = "checkpoints/paper/expressions_gru_1/w.pth"
TINY = dict(n_init=12, q=2)


# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def fake_run(out, method, seed, calls, done=True, steps=()):
    """A run file with oracle records ``(objective or None, scales)``, one per step,
    and ``step`` records of the given wall-clock splits."""
    header = {
        "task": "toy",
        "method": method,
        "seed": seed,
        "parameters": {},
        "problem": {},
        "method_config": {},
    }
    with RunRecord(run_path(out, "toy", method, seed), header) as record:
        for i, (value, scales) in enumerate(calls):
            record.write(
                {
                    "type": "oracle",
                    "step": i,
                    "index": 0,
                    "latent": [0.0],
                    "string": "s",
                    "objective": value,
                    "valid": value is not None,
                    "scales": scales,
                }
            )
        for i, times in enumerate(steps):
            record.write({"type": "step", "step": i, "n_train": 10 + i, **times})
        if done:
            record.write({"type": "done"})


def test_summary_numbers(tmp_path):
    fake_run(tmp_path, "ga", 0, [(1.0, 10.0), (None, 20.0), (3.0, 30.0), (2.0, 40.0)])
    fake_run(tmp_path, "ga", 1, [(5.0, 0.0), (None, 0.0)])
    fake_run(tmp_path, "scales_0.5", 0, [(None, 1.0)])
    frame = load_sweep(tmp_path)
    assert len(frame) == 7 and set(frame["method"]) == {"ga", "scales_0.5"}
    table = summarize_sweep(tmp_path, k=2).set_index("method")
    ga = table.loc["ga"]
    assert ga["n_seeds"] == 2
    assert ga["validity_mean"] == pytest.approx((0.75 + 0.5) / 2)
    assert ga["mean_scales_mean"] == pytest.approx((25.0 + 0.0) / 2)
    assert ga["top1_mean"] == pytest.approx(4.0) and ga["top1_sd"] == pytest.approx(
        math.sqrt(2)
    )
    # seed 1 has one valid value, fewer than k = 2: its top-2 is NaN and left out
    assert ga["top10_mean"] == pytest.approx(2.5)
    assert ga["validity_se"] == pytest.approx(ga["validity_sd"] / math.sqrt(2))
    assert ga["validity"] == "0.62 (0.12)"  # mean (standard error), as in the paper
    assert math.isnan(table.loc["scales_0.5", "top1_mean"])
    assert table.loc["scales_0.5", "top1"] == "-"  # no valid value: no mean to print
    assert table.loc["scales_0.5", "validity"].endswith("(1 seed)")  # no standard error
    assert list(table.index) == ["ga", "scales_0.5"]  # the paper's order


def test_top_k_counts_each_value_once(tmp_path):
    # the same solution proposed three times counts once, as in the published analysis
    fake_run(
        tmp_path, "ga", 0, [(3.0, 0.0), (3.0, 0.0), (None, 0.0), (3.0, 0.0), (1.0, 0.0)]
    )
    table = summarize_sweep(tmp_path, k=2).set_index("method")
    assert table.loc["ga", "top10_mean"] == pytest.approx((3.0 + 1.0) / 2)
    repeats = summarize_sweep(tmp_path, k=2, distinct=False).set_index("method")
    assert repeats.loc["ga", "top10_mean"] == pytest.approx(3.0)
    traj = trajectories(tmp_path, k=2)
    torch.testing.assert_close(
        torch.tensor(traj["top_k"].tolist()),
        torch.tensor([math.nan, math.nan, math.nan, math.nan, 2.0]),
        equal_nan=True,
    )


def test_top_values_closed_form():
    assert top_values([1.0, 5.0, 5.0, 2.0], k=2) == (5.0, 3.5)
    assert top_values([1.0, 5.0, 5.0, 2.0], k=2, distinct=False) == (5.0, 5.0)
    best, top = top_values([4.0, 4.0], k=2)
    assert best == 4.0 and math.isnan(top)
    assert all(math.isnan(v) for v in top_values([], k=1))


def test_complete_only_drops_unfinished_runs(tmp_path):
    fake_run(tmp_path, "ga", 0, [(1.0, 0.0)])
    fake_run(tmp_path, "ga", 1, [(5.0, 0.0)], done=False)
    assert summarize_sweep(tmp_path).loc[0, "n_seeds"] == 2
    table = summarize_sweep(tmp_path, complete_only=True)
    assert table.loc[0, "n_seeds"] == 1 and table.loc[0, "top1_mean"] == 1.0


def test_trajectories_by_hand(tmp_path):
    fake_run(tmp_path, "ga", 0, [(1.0, 0.0), (None, 0.0), (3.0, 0.0), (2.0, 0.0)])
    fake_run(tmp_path, "ga", 1, [(0.0, 0.0), (4.0, 0.0)], done=False)
    traj = trajectories(tmp_path, k=2)
    run0 = traj[traj["seed"] == 0]
    assert run0["best"].tolist() == [1.0, 1.0, 3.0, 3.0]
    assert run0["n_valid"].tolist() == [1, 1, 2, 3]
    torch.testing.assert_close(
        torch.tensor(run0["top_k"].tolist()),
        torch.tensor([math.nan, math.nan, 2.0, 2.5]),
        equal_nan=True,
    )
    bands = trajectory_bands(traj)  # seed 1 has two steps: only steps 0, 1 kept
    assert bands["step"].tolist() == [0, 1] and (bands["n_seeds"] == 2).all()
    assert bands["best_mean"].tolist() == [0.5, 2.5]
    assert bands["best_sd"].tolist() == pytest.approx([math.sqrt(0.5), math.sqrt(4.5)])
    assert len(trajectory_bands(traj, complete=False)) == 4


def test_step_times(tmp_path):
    times = [dict(fit_s=1.0, acq_s=2.0, oracle_s=0.5, score_s=0.25)] * 2
    fake_run(tmp_path, "ga", 0, [(1.0, 0.0), (2.0, 0.0)], steps=times)
    frame = load_step_times(tmp_path)
    assert frame["step"].tolist() == [0, 1] and frame["n_train"].tolist() == [10, 11]
    assert frame["total_s"].tolist() == [3.75, 3.75]


def test_paper_tables_cover_the_methods():
    assert set(PAPER_B3_EXPRESSIONS) == set(PAPER_METHODS)
    table = paper_table().set_index("method")
    assert table.loc["ga", "validity"] == "0.70 (0.01)"
    for method, (pct, _) in PAPER_TABLE2_VALIDITY["expressions"].items():
        # Table 2 (percent) and App. B.3 (fraction) report the same runs
        assert abs(pct / 100 - table.loc[method, "validity_mean"]) <= 0.005 + 1e-12


def test_empty_sweep(tmp_path):
    assert load_sweep(tmp_path).empty and summarize_sweep(tmp_path).empty


def test_bad_parameters(tmp_path):
    with pytest.raises(ValueError, match="unknown method"):
        run_sweep("expressions", ["nope"], [0], 1, str(tmp_path))
    with pytest.raises(ValueError, match="lambda"):
        run_sweep("expressions", ["scales_-1"], [0], 1, str(tmp_path))
    with pytest.raises(ValueError, match="no BO problem"):
        run_sweep("chess", ["ga"], [0], 1, str(tmp_path))
    with pytest.raises(ValueError, match="seeds"):
        run_sweep("expressions", ["ga"], [-1], 1, str(tmp_path))
    with pytest.raises(ValueError, match="workers"):
        run_sweep("expressions", ["ga"], [0], 1, str(tmp_path), workers=-1)


@needs_data(CKPT)
def test_in_process_sweep_writes_the_records_a_dask_sweep_writes(
    tmp_path, caplog, monkeypatch
):
    """workers=0 runs without Dask, in this process, to the same oracle records; a
    run that fails there is a failed row and the others still run."""
    kwargs = dict(compact=False, **TINY)
    dask_out, here_out = str(tmp_path / "dask"), str(tmp_path / "here")
    run_sweep(
        "expressions",
        ["ga", "prior_0.5"],
        [0],
        1,
        dask_out,
        workers=1,
        processes=False,
        **kwargs,
    )
    with caplog.at_level("INFO", logger="scales_core.sweep"):
        status = run_sweep(
            "expressions", ["ga", "prior_0.5"], [0], 1, here_out, workers=0, **kwargs
        )
    assert list(status["status"]) == ["done", "done"], status["error"].tolist()
    assert "expressions/ga/seed0 done" in caplog.text
    for method in ["ga", "prior_0.5"]:
        got = read_run(run_path(here_out, "expressions", method, 0))
        want = read_run(run_path(dask_out, "expressions", method, 0))
        assert got.oracle == want.oracle and len(got.oracle) == TINY["q"]
    # a run that raises is a failed row; the next one still runs
    import scales_core.sweep.run as run_module

    real = run_module.run_one

    def fails_on_seed_1(task, method, seed, out, spec):
        if seed == 1:
            raise RuntimeError("out of memory")
        return real(task, method, seed, out, spec)

    monkeypatch.setattr(run_module, "run_one", fails_on_seed_1)
    status = run_sweep("expressions", ["ga"], [1, 2], 1, here_out, workers=0, **kwargs)
    assert list(status["status"]) == ["failed", "done"]
    assert status.loc[0, "error"] == "RuntimeError: out of memory"


@needs_data(CKPT)
def test_sweep_runs_skips_and_resumes(tmp_path):
    """Finished runs are skipped, a cut run is resumed to the same records."""
    out = str(tmp_path)
    status = run_sweep(
        "expressions",
        ["ga", "prior_0.5"],
        [0],
        1,
        out,
        workers=1,
        processes=False,
        compact=False,
        **TINY,
    )
    assert list(status["status"]) == ["done", "done"], status["error"].tolist()
    again = run_sweep(
        "expressions",
        ["ga", "prior_0.5"],
        [0],
        1,
        out,
        workers=1,
        processes=False,
        compact=False,
        **TINY,
    )
    assert list(again["status"]) == ["skipped", "skipped"]
    frame = load_sweep(out)
    assert len(frame) == 2 * TINY["q"] and frame["complete"].all()
    # cut the last oracle call and the done record of one run: the sweep resumes it
    path = run_path(out, "expressions", "ga", 0)
    lines = path.read_text().splitlines(keepends=True)
    full = lines[:]
    assert '"done"' in lines[-1] and '"step"' in lines[-2] and '"oracle"' in lines[-3]
    path.write_text("".join(lines[:-3]))
    resumed = run_sweep(
        "expressions",
        ["ga", "prior_0.5"],
        [0],
        1,
        out,
        workers=1,
        processes=False,
        compact=False,
        **TINY,
    )
    assert list(resumed["status"]) == ["done", "skipped"]
    oracle = [
        line
        for line in path.read_text().splitlines(keepends=True)
        if '"oracle"' in line
    ]
    assert oracle == [line for line in full if '"oracle"' in line]
    table = summarize_sweep(load_sweep(out))
    assert list(table["method"]) == ["ga", "prior_0.5"]
    assert {"validity", "mean_scales", "top1", "top10"} <= set(table.columns)


@needs_data(CKPT)
def test_cli_with_scheduler_address(tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster:
        code = main(
            [
                "--task",
                "expressions",
                "--methods",
                "scales_es_50",
                "--seeds",
                "1",
                "--steps",
                "1",
                "--out",
                str(tmp_path),
                "--n-init",
                "12",
                "--q",
                "2",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
    assert code == 0
    # a finished run is stored compacted, as <run>.jsonl.gz
    path = compacted_path(run_path(tmp_path, "expressions", "scales_es_50", 1))
    frame = load_sweep(tmp_path)
    assert len(frame) == 2 and frame["path"].iloc[0] == str(path)
    header = pd.read_json(path, lines=True, nrows=1, compression="gzip").iloc[0]
    assert header["command"].startswith("python -m scales_core.sweep")


def test_config_overrides_reach_the_run_config():
    from scales_core.sweep import run_config
    from scales_core.sweep.cli import _parse_overrides

    over = _parse_overrides(["half_width=0.3", "scales_prior=latent"])
    assert over == {"half_width": 0.3, "scales_prior": "latent"}
    config = run_config("expressions", 2, overrides=over)
    assert (config.half_width, config.scales_prior) == (0.3, "latent")
    with pytest.raises(ValueError, match="own options"):
        run_config("expressions", 2, overrides={"q": 3})
    with pytest.raises(ValueError, match="bad BOConfig override"):
        run_config("expressions", 2, overrides={"no_such_field": 1})
    with pytest.raises(ValueError, match="scales_prior"):
        run_config("expressions", 2, overrides={"scales_prior": "wide"})
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        _parse_overrides(["half_width"])


def test_run_config_takes_the_dataset_defaults_in_latent_scales():
    from scales_core.datasets import get_dataset
    from scales_core.sweep import run_config

    record = get_dataset("expressions")
    config = run_config("expressions")
    assert (config.n_steps, config.q, config.lr) == (100, 5, 0.5)
    # the box is 3 latent scales: eps_std 0.1 of the published expressions VAEs
    assert (
        config.half_width
        == pytest.approx(3 * record.latent_scale)
        == pytest.approx(0.3)
    )
    assert run_config("expressions", overrides={"half_width": 3.0}).half_width == 3.0
    assert run_config("expressions", steps=7, q=2).n_steps == 7


def test_paired_verdict_picks_best_member_on_shared_seeds(tmp_path):
    from scales_core.results import best_of_families, paired_verdict, per_run_metrics

    # ga: seeds 0, 1, 2; scales_0.5 seeds 0, 1 (better top); scales_2 seed 0 (worse);
    # an unfinished scales_0.5 seed 2 is not paired
    fake_run(tmp_path, "ga", 0, [(1.0, 0.0), (None, 0.0)])
    fake_run(tmp_path, "ga", 1, [(2.0, 0.0), (None, 0.0)])
    fake_run(tmp_path, "ga", 2, [(9.0, 0.0), (9.0, 0.0)])
    fake_run(tmp_path, "scales_0.5", 0, [(3.0, 0.0), (4.0, 0.0)])
    fake_run(tmp_path, "scales_0.5", 1, [(1.0, 0.0), (None, 0.0)])
    fake_run(tmp_path, "scales_0.5", 2, [(50.0, 0.0)], done=False)
    fake_run(tmp_path, "scales_2", 0, [(0.5, 0.0), (0.5, 0.0)])
    frame = load_sweep(tmp_path)
    runs = per_run_metrics(frame, k=1)
    assert runs.loc[("scales_0.5", 1), "validity"] == 0.5
    assert ("scales_0.5", 2) not in runs.index
    verdict, pairs = paired_verdict(
        frame,
        {"ScaLES": ["scales_0.5", "scales_2", "scales_0.8"], "none": ["prior_0.5"]},
        k=1,
    )
    assert list(verdict.index) == ["ScaLES"]
    row = verdict.loc["ScaLES"]
    assert row["best lambda"] == "scales_0.5" and row["paired seeds"] == 2
    assert row["validity"] == pytest.approx(0.75) and row[
        "validity GA"
    ] == pytest.approx(0.5)
    # top-1: scales_0.5 (4, 1) against ga (1, 2): differences +3 and -1
    assert row["top-1 mean difference"] == pytest.approx(1.0)
    assert row["top-1 higher on"] == "1 of 2" and row["validity higher on"] == "1 of 2"
    assert pairs["ScaLES"][0] == "scales_0.5" and len(pairs["ScaLES"][1]) == 2
    bands = trajectory_bands(trajectories(frame[frame["complete"]], k=1))
    assert best_of_families(bands) == {"LSO (GA)": "ga", "ScaLES": "scales_0.5"}


def test_checkpoint_is_part_of_the_run_header(tmp_path):
    from scales_core import sweep as sw

    config = sw.run_config("logp", 2, None, None, "cpa", "exact", "cpu", None)
    own = sw.RunSpec(checkpoint="smiles_gru_0.1").header("logp", "ga", 0, config)
    default = sw.RunSpec().header("logp", "ga", 0, config)
    assert own["problem"]["checkpoint"] == "smiles_gru_0.1"
    assert default["problem"]["checkpoint"] == "smiles_gru_1"
    path = run_path(tmp_path, "logp", "ga", 0)
    with RunRecord(path, {**default, "type": "header"}) as record:
        record.write({"type": "done"})
    with pytest.raises(ValueError, match="problem.checkpoint"):
        sw.check_existing(
            ["logp"],
            ["ga"],
            [0],
            tmp_path,
            sw.RunSpec(checkpoint="smiles_gru_0.1"),
            {"logp": config},
        )
    sw.check_existing(
        ["logp"], ["ga"], [0], tmp_path, sw.RunSpec(), {"logp": config}
    )  # same


def test_proposal_norms_of_finished_runs(tmp_path):
    from scales_core.bo.run_record import read_run
    from scales_core.results import proposal_norms

    fake_run(tmp_path, "ga", 0, [(1.0, 0.0), (None, 0.0)])
    fake_run(tmp_path, "ga", 1, [(1.0, 0.0)], done=False)
    runs = [read_run(p) for p in sorted(tmp_path.rglob("seed*.jsonl"))]
    runs[0].oracle[0]["latent"], runs[0].oracle[1]["latent"] = [3.0, 4.0], [0.0, 0.0]
    norms, init = proposal_norms(runs)
    assert list(norms["norm"]) == [5.0, 0.0] and list(norms["valid"]) == [True, False]
    assert (
        set(norms["seed"]) == {0} and init != init
    )  # unfinished run left out; no init record


def test_compare_variants_on_shared_seeds(tmp_path):
    from scales_core.results import compare_variants

    base, other = tmp_path / "base", tmp_path / "other"
    fake_run(base, "ga", 0, [(1.0, 0.0), (None, 0.0)])
    fake_run(base, "ga", 1, [(9.0, 0.0), (9.0, 0.0)])  # seed 1: not in the variant
    fake_run(other, "ga", 0, [(2.0, 0.0), (3.0, 0.0)])
    fake_run(other, "ga", 2, [(5.0, 0.0)], done=False)
    table = compare_variants({"base": load_sweep(base), "drop": load_sweep(other)}, k=1)
    assert table.loc[("base", "ga"), "seeds"] == 1
    assert (
        table.loc[("base", "ga"), "validity"] == 0.5
        and table.loc[("base", "ga"), "top1"] == 1.0
    )
    assert (
        table.loc[("drop", "ga"), "validity"] == 1.0
        and table.loc[("drop", "ga"), "top1"] == 3.0
    )


def test_local_workers_keep_glibc_trim_threshold():
    """Dask's MALLOC_TRIM_THRESHOLD_=65536 doubled the SELFIES ascent time; workers drop it."""
    from scales_core.sweep.run import _worker_environ

    environ = _worker_environ()["distributed.nanny.pre-spawn-environ"]
    assert "MALLOC_TRIM_THRESHOLD_" not in environ
    assert environ["OMP_NUM_THREADS"] == 1  # the thread caps stay


def test_proposal_ranking_within_and_pooled():
    # method a ranks perfectly, method b backwards at a higher score level: the
    # pooled AUROC is the share of (valid, invalid) pairs ordered right, by hand
    frame = pd.DataFrame(
        {
            "method": ["a"] * 4 + ["b"] * 4 + ["c"],
            "complete": [True] * 8 + [False],
            "valid": [True, True, False, False, False, False, True, True, True],
            "scales": [2.0, 3.0, 0.0, 1.0, 12.0, 13.0, 10.0, 11.0, -50.0],
        }
    )
    table = proposal_ranking(frame)
    assert list(table.index) == ["a", "b", "all pooled"]  # unfinished c left out
    assert table.loc["a", "auroc"] == 1.0 and table.loc["b", "auroc"] == 0.0
    done = frame[frame["complete"]]
    pos, neg = done[done["valid"]]["scales"], done[~done["valid"]]["scales"]
    by_hand = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (
        len(pos) * len(neg)
    )
    assert table.loc["all pooled", "auroc"] == pytest.approx(by_hand)
    assert (
        table.loc["b", "mean ScaLES"] == 11.5
        and table.loc["all pooled", "proposals"] == 8
    )
    one_class = proposal_ranking(frame[frame["method"] == "a"].assign(valid=True))
    assert math.isnan(one_class.loc["a", "auroc"])


def test_means_on_seeds_needs_every_seed():
    index = pd.MultiIndex.from_tuples(
        [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)], names=["method", "seed"]
    )
    per_run = pd.Series([0.1, 0.2, 0.6, 0.5, 0.7], index=index)
    three = means_on_seeds(per_run, ["b", "a", "c"], [0, 1, 2])
    assert list(three.index) == ["b", "a", "c"]
    assert three["a"] == pytest.approx(0.3)
    assert math.isnan(three["b"]) and math.isnan(
        three["c"]
    )  # b lacks seed 2; c never ran
    two = means_on_seeds(per_run, ["a", "b"], [1, 0])
    assert two.tolist() == pytest.approx([0.15, 0.6])
    assert means_on_seeds(per_run, ["a"], []).isna().all()


@needs_data(CKPT)
def test_sweep_killed_then_rerun_with_changed_configuration(tmp_path):
    """Nothing lost or mixed: a cut run is refused under another configuration
    (files untouched), then resumed under its own to the uninterrupted records."""
    out = str(tmp_path)
    kwargs = dict(workers=1, processes=False, compact=False, **TINY)
    status = sweep.run_sweep("expressions", ["ga"], [0, 1], 2, out, **kwargs)
    assert list(status["status"]) == ["done", "done"], status["error"].tolist()
    path = sweep.run_path(out, "expressions", "ga", 0)
    full = read_run(path).oracle
    lines = path.read_text().splitlines(keepends=True)
    cut = "".join(lines[:-4]) + lines[-4][:25]  # killed inside an oracle record
    path.write_text(cut)
    other = sweep.run_path(out, "expressions", "ga", 1)
    other_bytes = other.read_bytes()
    for changed in (dict(q=3), dict(n_init=13), dict(lr=0.25)):
        with pytest.raises(ValueError, match="another configuration"):
            sweep.run_sweep(
                "expressions", ["ga"], [0, 1], 2, out, **{**kwargs, **changed}
            )
        assert path.read_text() == cut and other.read_bytes() == other_bytes
    status = sweep.run_sweep("expressions", ["ga"], [0, 1], 2, out, **kwargs)
    assert list(status["status"]) == ["done", "skipped"]
    assert read_run(path).oracle == full
    assert other.read_bytes() == other_bytes


@pytest.mark.parametrize("kill", ["mid-run", "inside compaction"])
def test_a_killed_sweep_reads_back_as_an_uninterrupted_one(tmp_path, monkeypatch, kill):
    import random
    from pathlib import Path

    from scales_core.bo.step import StepRunner
    from scales_core.results import load_sweep
    from scales_core.sweep import RunSpec, run_one

    torch.set_num_threads(1)
    spec = RunSpec(steps=3, n_init=8, q=2, overrides={"ga_steps": 2, "mc_samples": 8})
    run_one("expressions", "ga", 0, str(tmp_path / "clean"), spec)
    out = str(tmp_path / "killed")

    class Kill(BaseException):
        pass

    if kill == "mid-run":
        real, calls, at = StepRunner.oracle, [], random.Random(0).randrange(1, 6)

        def oracle(self, z):
            calls.append(1)
            if len(calls) == at:
                raise Kill
            return real(self, z)

        monkeypatch.setattr(StepRunner, "oracle", oracle)
    else:
        real_unlink = Path.unlink

        def unlink(self, *args, **kwargs):
            if self.name.endswith(".jsonl"):
                raise Kill  # after the .gz is renamed into place
            return real_unlink(self, *args, **kwargs)

        monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(Kill):
        run_one("expressions", "ga", 0, out, spec)
    monkeypatch.undo()
    for lock in Path(out).rglob("*.lock"):
        lock.unlink()  # the killed process's lock (a real kill releases its flock)
    run_one("expressions", "ga", 0, out, spec)
    clean, again = load_sweep(tmp_path / "clean"), load_sweep(out)
    cols = [c for c in clean.columns if c != "path"]
    assert len(clean) == 6
    assert clean[cols].equals(again[cols])
    assert sorted(p.name for p in Path(out, "expressions", "ga").iterdir()) == [
        "seed0.jsonl.gz"
    ]
