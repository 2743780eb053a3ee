"""The BO loop: determinism, records, resume after a kill, and bad parameters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MLPDecoder

from scales_core.bo import (
    BOConfig,
    Problem,
    SurrogateConfig,
    gp_state_path,
    make_problem,
    read_run,
    run_bo,
)

TESTS = Path(__file__).resolve().parent
CONFIG = BOConfig(
    n_steps=3,
    q=2,
    ga_steps=3,
    mc_samples=16,
    uc_weights=2,
    uc_samples=2,
    lbfgs_restarts=2,
    lbfgs_maxiter=5,
    surrogate=SurrogateConfig(maxiter=5, maxiter_cold=10),
)


# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def toy_evaluate(strings):
    """Valid unless the string has 'ee'; objective: a's minus half the c's."""
    values, valid, reasons = [], [], []
    for s in strings:
        ok = "ee" not in s
        values.append(s.count("a") - 0.5 * s.count("c") if ok else float("nan"))
        valid.append(ok)
        reasons.append(None if ok else "has 'ee'")
    return np.array(values), np.array(valid), reasons


def toy_problem(evaluate=toy_evaluate) -> Problem:
    """A 3-d latent, 4 x 5 logits problem with 12 labelled points."""
    torch.manual_seed(0)
    decoder = MLPDecoder(d=3, L=4, D=5, dropout=0.2, scale=3.0).double().eval()

    def decode(z):
        with torch.no_grad():
            return [
                "".join("abcde"[i] for i in row)
                for row in decoder(z).argmax(-1).tolist()
            ]

    X = torch.randn(
        16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    strings = decode(X)
    values, valid, _ = toy_evaluate(strings)
    keep = torch.as_tensor(valid)
    return Problem(
        task="toy",
        decoder=decoder,
        decode=decode,
        evaluate=evaluate,
        strings=[s for s, k in zip(strings, valid) if k],
        train_X=X[keep],
        train_Y=torch.as_tensor(values[valid]),
        info={"n_init": 16},
    )


class Killed(Exception):
    """Stands for a kill in the middle of a black-box call."""


class Counter:
    """Counts black-box calls; raises after ``fail_after`` calls."""

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = 0, fail_after

    def __call__(self, strings):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise Killed
        self.calls += len(strings)
        return toy_evaluate(strings)


def _oracle(data):
    return [r for r in data.oracle]


@pytest.mark.parametrize("method", ["ga", "scales_0.5", "uc_es_95", "lbfgs_5"])
def test_same_seed_same_run(method):
    a = run_bo(toy_problem(), method, seed=3, config=CONFIG, progress=False)
    b = run_bo(toy_problem(), method, seed=3, config=CONFIG, progress=False)
    assert len(a.oracle) == CONFIG.n_steps * CONFIG.q
    assert _oracle(a) == _oracle(b)  # bitwise: floats compare exactly


def test_ascent_steps_are_recorded_and_zero_for_an_unmoved_proposal():
    from scales_core.results import unmoved_proposals

    data = run_bo(toy_problem(), "uc_es_95", seed=3, config=CONFIG, progress=False)
    calls = unmoved_proposals([data], rel_tol=1e-9)
    steps = calls["ascent_steps"].to_numpy()
    assert ((steps >= 0) & (steps <= CONFIG.ga_steps)).all()
    assert (
        calls["unmoved"] == (steps == 0)
    ).all()  # no update taken <=> a start point again
    ga = run_bo(toy_problem(), "ga", seed=3, config=CONFIG, progress=False)
    assert {c["ascent_steps"] for c in ga.oracle} == {CONFIG.ga_steps}
    lbfgs = run_bo(toy_problem(), "lbfgs_5", seed=3, config=CONFIG, progress=False)
    assert all("ascent_steps" not in c for c in lbfgs.oracle)


def test_other_seed_other_run():
    a = run_bo(toy_problem(), "ga", seed=0, config=CONFIG, progress=False)
    b = run_bo(toy_problem(), "ga", seed=1, config=CONFIG, progress=False)
    assert [r["latent"] for r in a.oracle] != [r["latent"] for r in b.oracle]


@pytest.mark.parametrize("method,k", [("ga", 3), ("uc_es_95", 4), ("scales_es_50", 1)])
def test_resume_after_interrupt_matches_uninterrupted(tmp_path, method, k):
    full = run_bo(
        toy_problem(),
        method,
        seed=2,
        config=CONFIG,
        path=tmp_path / "a.jsonl",
        progress=False,
    )
    path = tmp_path / "b.jsonl"
    with pytest.raises(Killed):
        run_bo(
            toy_problem(Counter(fail_after=k)),
            method,
            seed=2,
            config=CONFIG,
            path=path,
            progress=False,
        )
    assert len(read_run(path).oracle) == k
    counter = Counter()
    resumed = run_bo(
        toy_problem(counter), method, seed=2, config=CONFIG, path=path, progress=False
    )
    assert counter.calls == CONFIG.n_steps * CONFIG.q - k  # none repeated, none lost
    assert _oracle(resumed) == _oracle(full)
    assert _oracle(read_run(path)) == _oracle(read_run(tmp_path / "a.jsonl"))
    keys = [(r["step"], r["index"]) for r in read_run(path).oracle]
    assert len(keys) == len(set(keys))


def test_resume_without_gp_state_replays_fits(tmp_path):
    full = run_bo(toy_problem(), "ga", seed=4, config=CONFIG, progress=False)
    path = tmp_path / "run.jsonl"
    with pytest.raises(Killed):
        run_bo(
            toy_problem(Counter(fail_after=5)),
            "ga",
            seed=4,
            config=CONFIG,
            path=path,
            progress=False,
        )
    gp_state_path(path).unlink()
    with open(path, "a") as fh:
        fh.write('{"type": "oracle", "step": 2, "ind')  # a record cut by the kill
    resumed = run_bo(
        toy_problem(), "ga", seed=4, config=CONFIG, path=path, progress=False
    )
    assert _oracle(resumed) == _oracle(full)


def test_finished_run_is_not_rerun(tmp_path):
    path = tmp_path / "run.jsonl"
    run_bo(toy_problem(), "ga", seed=0, config=CONFIG, path=path, progress=False)
    counter = Counter()
    data = run_bo(
        toy_problem(counter), "ga", seed=0, config=CONFIG, path=path, progress=False
    )
    assert counter.calls == 0 and data.done is not None


def test_record_contents(tmp_path):
    path = tmp_path / "run.jsonl"
    run_bo(
        toy_problem(),
        "scales_0.5",
        seed=0,
        config=CONFIG,
        path=path,
        compact=False,
        progress=False,
        command="pytest",
    )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header = lines[0]
    assert header["type"] == "header" and header["command"] == "pytest"
    assert header["method"] == "scales_0.5" and header["method_config"]["lam"] == 0.5
    assert (
        header["parameters"]["q"] == CONFIG.q
        and header["seed"] == 0
        and "commit" in header
    )
    assert [r["type"] for r in lines].count("oracle") == 6 and lines[-1][
        "type"
    ] == "done"
    oracle = [r for r in lines if r["type"] == "oracle"]
    for r in oracle:
        assert {
            "latent",
            "string",
            "objective",
            "valid",
            "scales",
            "step",
            "index",
            "method",
            "seed",
        } <= set(r)
        assert (r["objective"] is None) == (not r["valid"])
    steps = [r for r in lines if r["type"] == "step"]
    assert len(steps) == 3 and all(s["fit_s"] >= 0 and s["acq_s"] > 0 for s in steps)


def test_resume_with_other_parameters_raises(tmp_path):
    path = tmp_path / "run.jsonl"
    run_bo(toy_problem(), "ga", seed=0, config=CONFIG, path=path, progress=False)
    other = BOConfig(**{**CONFIG.to_dict(), "q": 1})
    with pytest.raises(ValueError, match="different run"):
        run_bo(toy_problem(), "ga", seed=0, config=other, path=path, progress=False)
    with pytest.raises(ValueError, match="different run"):
        run_bo(
            toy_problem(), "prior_0.5", seed=0, config=CONFIG, path=path, progress=False
        )


def test_bad_parameters():
    problem = toy_problem()
    with pytest.raises(ValueError, match="unknown method"):
        run_bo(problem, "adam", config=CONFIG)
    with pytest.raises(ValueError, match="lambda"):
        run_bo(problem, "scales_-0.5", config=CONFIG)
    with pytest.raises(ValueError, match="q must be"):
        BOConfig(q=0)
    with pytest.raises(ValueError, match="lr"):
        BOConfig(lr=-1.0)
    with pytest.raises(ValueError, match="seed"):
        run_bo(problem, "ga", seed=-1, config=CONFIG)
    with pytest.raises(ValueError, match="missing initial data"):
        Problem(
            "toy",
            problem.decoder,
            problem.decode,
            toy_evaluate,
            [],
            torch.zeros(0, 3),
            torch.zeros(0),
        )
    with pytest.raises(ValueError, match="finite"):
        Problem(
            "toy",
            problem.decoder,
            problem.decode,
            toy_evaluate,
            ["a", "b"],
            torch.zeros(2, 3),
            torch.tensor([0.0, float("nan")]),
        )
    with pytest.raises(ValueError, match="no BO problem"):
        make_problem("sudoku")
    with pytest.raises(ValueError, match="n_init"):
        make_problem("expressions", n_init=0)


_CHILD = """
import sys, time, torch
sys.path.insert(0, {tests!r})
torch.set_num_threads(1)
import test_bo_loop as t
from scales_core.bo import run_bo

def slow(strings):
    time.sleep(0.3)
    return t.toy_evaluate(strings)

problem = t.toy_problem(slow)
run_bo(problem, "ga", seed=5, config=t.CONFIG, path={path!r}, progress=False)
"""


def test_resume_after_sigkill(tmp_path):
    path = tmp_path / "run.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(tests=str(TESTS), path=str(path))],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline and child.poll() is None:
            if path.exists() and path.read_text().count('"type": "oracle"') >= 2:
                break
            time.sleep(0.05)
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    n_before = len(read_run(path).oracle)
    assert 2 <= n_before < CONFIG.n_steps * CONFIG.q
    counter = Counter()
    resumed = run_bo(
        toy_problem(counter), "ga", seed=5, config=CONFIG, path=path, progress=False
    )
    full = run_bo(toy_problem(), "ga", seed=5, config=CONFIG, progress=False)
    assert counter.calls == CONFIG.n_steps * CONFIG.q - n_before
    assert _oracle(resumed) == _oracle(full)


def test_resume_after_kill_between_steps_warm_starts_from_saved_state(
    tmp_path, monkeypatch
):
    import scales_core.bo.step as step

    full = run_bo(toy_problem(), "ga", seed=6, config=CONFIG, progress=False)
    path = tmp_path / "run.jsonl"
    fits = []
    real_fit = step.fit_surrogate

    def failing_fit(*args, **kwargs):
        if len(fits) == 2:  # the fit of step 2, after steps 0 and 1 are recorded
            raise Killed
        fits.append(kwargs.get("state"))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(step, "fit_surrogate", failing_fit)
    with pytest.raises(Killed):
        run_bo(toy_problem(), "ga", seed=6, config=CONFIG, path=path, progress=False)
    monkeypatch.setattr(step, "fit_surrogate", real_fit)
    assert torch.load(gp_state_path(path), weights_only=True)["step"] == 1
    resumed = run_bo(
        toy_problem(), "ga", seed=6, config=CONFIG, path=path, progress=False
    )
    assert _oracle(resumed) == _oracle(full)


def test_scales_prior_at_the_latent_scale():
    import dataclasses

    from scales_core.bo.methods import get_method
    from scales_core.bo.step import StepRunner

    problem = dataclasses.replace(toy_problem(), latent_scale=0.1)
    unit = StepRunner(problem, get_method("scales_0.5"), 0, BOConfig(n_steps=1))
    latent = StepRunner(
        problem, get_method("scales_0.5"), 0, BOConfig(n_steps=1, scales_prior="latent")
    )
    assert (unit.scales.prior_scale, latent.scales.prior_scale) == (1.0, 0.1)
    with pytest.raises(ValueError, match="latent_scale"):
        dataclasses.replace(toy_problem(), latent_scale=0.0)


def test_finished_run_is_compacted_and_read_back(tmp_path):
    from scales_core.bo.gp_state import gp_state_path
    from scales_core.bo.run_record import compacted_path, lock_path, read_run

    path = tmp_path / "run.jsonl"
    data = run_bo(toy_problem(), "ga", 0, CONFIG, path=path, progress=False)
    gz = compacted_path(path)
    assert gz.exists() and not path.exists()
    assert not lock_path(path).exists() and not gp_state_path(path).exists()
    stored = read_run(path)  # finds the .gz
    assert (
        stored.header["compacted"]["latents"] == "float32" and stored.done is not None
    )
    assert [r["string"] for r in stored.oracle] == [r["string"] for r in data.oracle]
    for mine, back in zip(data.oracle, stored.oracle):
        # the shortest decimal of each float32 value: it reads back to that float32
        torch.testing.assert_close(
            torch.tensor(back["latent"], dtype=torch.float64).float(),
            torch.tensor(mine["latent"], dtype=torch.float64).float(),
            rtol=0,
            atol=0,
        )
    # a second call returns the stored run without running anything
    again = run_bo(toy_problem(), "ga", 0, CONFIG, path=path, progress=False)
    assert len(again.oracle) == len(data.oracle) and not path.exists()
    with pytest.raises(ValueError, match="different run"):
        run_bo(toy_problem(), "ga", 1, CONFIG, path=path, progress=False)


def test_unfinished_run_is_not_compacted(tmp_path):
    from scales_core.bo.compaction import compact_run

    path = tmp_path / "run.jsonl"
    run_bo(toy_problem(), "ga", 0, CONFIG, path=path, progress=False, compact=False)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # no done record
    with pytest.raises(ValueError, match="not finished"):
        compact_run(path)


def test_invalid_drop_keeps_invalid_calls_out_of_the_gp_data():
    from scales_core.bo.step import Observations

    X, Y = (
        torch.zeros(2, 3, dtype=torch.float64),
        torch.tensor([1.0, 2.0], dtype=torch.float64),
    )
    calls = [
        {"latent": [1.0, 1.0, 1.0], "objective": 5.0, "valid": True},
        {"latent": [2.0, 2.0, 2.0], "objective": float("nan"), "valid": False},
    ]
    lowest, drop = Observations(X, Y), Observations(X, Y, invalid="drop")
    lowest.add(calls)
    drop.add(calls)
    assert lowest.Y.tolist() == [1.0, 2.0, 5.0, 1.0] and lowest.X.shape == (4, 3)
    assert drop.Y.tolist() == [1.0, 2.0, 5.0] and drop.X.shape == (3, 3)
    drop.add(calls[1:])  # a step with no valid call adds nothing
    assert drop.X.shape == (3, 3)
    with pytest.raises(ValueError, match="invalid must be"):
        Observations(X, Y, invalid="zero")
    with pytest.raises(ValueError, match="invalid must be"):
        BOConfig(invalid="zero")


def test_invalid_rule_in_header_only_when_not_default():
    assert "invalid" not in BOConfig().to_dict()  # stored runs' headers keep matching
    assert BOConfig(invalid="drop").to_dict()["invalid"] == "drop"
    config = BOConfig(n_steps=3, q=2, ga_steps=2, invalid="drop")
    count = iter(range(10**6))

    def every_other_invalid(strings):  # calls 1, 3, 5 invalid
        values, valid, reasons = toy_evaluate(strings)
        for i in range(len(strings)):
            if next(count) % 2:
                values[i], valid[i], reasons[i] = float("nan"), False, "odd call"
        return values, valid, reasons

    data = run_bo(
        toy_problem(every_other_invalid), "ga", seed=0, config=config, progress=False
    )
    assert data.header["parameters"]["invalid"] == "drop"
    assert [c["valid"] for c in data.oracle] == [True, False] * 3
    # the GP data of each step holds the initial set and the valid calls before it
    n0 = toy_problem().train_X.shape[0]
    valid_before = [
        sum(c["valid"] for c in data.oracle if c["step"] < t) for t in range(3)
    ]
    assert [s["n_train"] for s in data.steps] == [n0 + v for v in valid_before]


def test_refit_never_keeps_the_initial_fit(tmp_path, monkeypatch):
    """``refit="never"`` (the published loop): one fit, on the initial data only."""
    from scales_core.bo.step import StepRunner

    assert "refit" not in BOConfig().to_dict()  # stored runs' headers keep matching
    with pytest.raises(ValueError, match="refit must be"):
        BOConfig(refit="sometimes")
    config = BOConfig(**{**CONFIG.__dict__, "refit": "never"})
    fits, sizes = [], []
    fit, propose = StepRunner.fit, StepRunner.propose

    def counting_fit(self, X, Y, state, fit=True):
        fits.append((X.shape[0], fit))
        return fit_(self, X, Y, state, fit)

    def spying_propose(self, model, *args):
        sizes.append(model.train_inputs[0].shape[0])
        return propose(self, model, *args)

    fit_ = fit
    monkeypatch.setattr(StepRunner, "fit", counting_fit)
    monkeypatch.setattr(StepRunner, "propose", spying_propose)
    n0 = toy_problem().train_X.shape[0]
    full = run_bo(
        toy_problem(),
        "ga",
        seed=5,
        config=config,
        path=tmp_path / "a.jsonl",
        progress=False,
    )
    assert fits == [(n0, True)]
    assert sizes == [n0] * (config.n_steps * config.q)
    assert full.header["parameters"]["refit"] == "never"
    every = run_bo(toy_problem(), "ga", seed=5, config=CONFIG, progress=False)
    assert _oracle(every)[: config.q] == _oracle(full)[: config.q]  # same first fit
    assert [r["latent"] for r in every.oracle] != [r["latent"] for r in full.oracle]
    # a killed run resumes from the saved initial fit, without fitting again
    fits.clear()
    path = tmp_path / "b.jsonl"
    with pytest.raises(Killed):
        run_bo(
            toy_problem(Counter(fail_after=3)),
            "ga",
            seed=5,
            config=config,
            path=path,
            progress=False,
        )
    resumed = run_bo(
        toy_problem(), "ga", seed=5, config=config, path=path, progress=False
    )
    assert fits == [(n0, True), (n0, False)]
    assert _oracle(resumed) == _oracle(full)


def test_init_store_shares_latents_and_caches_the_threshold_scores(
    tmp_path, monkeypatch
):
    """Compacted runs refer to one shared latents file; ES scores are computed once."""
    from scales_core.bo import InitStore
    from scales_core.bo import step as step_module

    problem = toy_problem()
    problem.info = {**problem.info, "checkpoint": "toy"}
    store = tmp_path / "_init"
    calls = []
    values = step_module.score_values

    def counting_values(score, X, batch_size=256):
        calls.append(X.shape[0])
        return values(score, X, batch_size)

    monkeypatch.setattr(step_module, "score_values", counting_values)
    runs = {}
    for method in ("scales_es_50", "scales_es_75", "ga"):
        path = tmp_path / "toy" / method / "seed0.jsonl"
        inline = run_bo(problem, method, seed=0, config=CONFIG, progress=False)
        stored = run_bo(
            problem,
            method,
            seed=0,
            config=CONFIG,
            path=path,
            progress=False,
            init_store=store,
        )
        runs[method] = read_run(path)
        assert _oracle(stored) == _oracle(inline)  # the store changes no record
        assert stored.init["threshold"] == inline.init["threshold"]
    # two in-memory ES runs compute the scores; the two that share the store, once
    assert calls == [problem.train_X.shape[0]] * 3
    files = sorted(p.name for p in store.iterdir())
    assert len(files) == 2 and files[0].endswith(".latents.npy")
    for method, run in runs.items():
        assert "latents" not in run.init and run.init["latents_file"].startswith(
            "../../"
        )
        np.testing.assert_array_equal(
            run.init_latents(), problem.train_X.numpy().astype(np.float32)
        )
    # a changed file is refused
    latents = store / files[0]
    np.save(latents, np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="differs"):
        runs["ga"].init_latents()
    assert InitStore.key(problem.train_X) == files[0].split(".")[0]


def test_a_constant_stopping_score_is_refused():
    """UC of a decoder without dropout is 0 everywhere: no threshold can stop anything."""
    problem = toy_problem()
    problem.decoder.net[2].p = 0.0  # the toy decoder's only dropout
    with pytest.raises(ValueError, match="uc score is 0 on every initial latent"):
        run_bo(problem, "uc_es_95", seed=0, config=CONFIG, progress=False)


def test_decoded_validity_matches_a_per_item_loop():
    """Latents with a positive first coordinate decode to an invalid string."""

    def decode(z):
        return ["aee" if float(row[0]) > 0 else "abc" for row in z]

    X = torch.randn(
        7, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    problem = Problem("toy", None, decode, toy_evaluate, ["abc"] * 7, X, torch.zeros(7))
    expected = torch.tensor([toy_evaluate(decode(x[None]))[1][0] for x in X])
    assert 0 < int(expected.sum()) < 7  # both kinds are present
    for batch_size in (1, 3, 500):
        assert torch.equal(problem.decoded_validity(batch_size), expected)
    with pytest.raises(ValueError, match="batch_size"):
        problem.decoded_validity(0)
