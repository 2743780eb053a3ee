"""A sweep's inputs are checked before any worker starts: arguments, the CLI,
repeated seeds, stored runs of another configuration, files that are not run
records, an output path that is a file, a scheduler that does not answer."""

from __future__ import annotations

import pytest

from scales_core import sweep
from scales_core.bo import RunRecord

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def _no_cluster(monkeypatch):
    """Make any attempt to start workers fail the test."""
    import dask.distributed

    def refuse(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(dask.distributed, "LocalCluster", refuse)
    monkeypatch.setattr(dask.distributed, "Client", refuse)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(q=0), "q must be an int >= 1"),
        (dict(threads=0), "threads must be an int >= 1"),
        (dict(lr=-1.0), "lr and half_width must be positive"),
        (dict(lr=float("nan")), "lr and half_width must be positive"),
        (dict(n_init=0), "n_init must be an int >= 1"),
        (dict(scales_grad="fd"), "scales_grad"),
        (dict(surrogate="forest"), "surrogate"),
    ],
)
def test_sweep_arguments_are_checked_before_any_worker(
    tmp_path, monkeypatch, kwargs, message
):
    _no_cluster(monkeypatch)
    with pytest.raises(ValueError, match=message):
        sweep.run_sweep("expressions", ["ga"], [0], 1, str(tmp_path), **kwargs)


def test_sweep_cli_bad_argument_exits_2_without_running(tmp_path, monkeypatch):
    _no_cluster(monkeypatch)
    argv = ["--methods", "ga", "--out", str(tmp_path), "--steps", "1"]
    assert sweep.main([*argv, "--q", "0"]) == 2
    assert sweep.main([*argv, "--threads", "0"]) == 2
    assert sweep.main([*argv, "--lr", "-1"]) == 2
    assert not any(tmp_path.iterdir())


def _fake_run_one(task, method, seed, out, spec):
    return dict(
        task=task,
        method=method.name,
        seed=seed,
        path="",
        status="done",
        seconds=0.0,
        n_oracle=0,
    )


def test_repeated_seeds_are_run_once(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep.run, "run_one", _fake_run_one)
    with pytest.warns(UserWarning) as caught:
        status = sweep.run_sweep(
            "expressions",
            ["ga", "ga"],
            [0, 0, 1],
            1,
            str(tmp_path),
            workers=1,
            processes=False,
        )
    messages = " | ".join(str(w.message) for w in caught)
    assert "seeds [0, 0, 1] has repeats" in messages and "methods" in messages
    assert status[["method", "seed"]].values.tolist() == [["ga", 0], ["ga", 1]]


def _stored_run(out, method, seed, config, n_init=12, done=True):
    """A run file with the header a sweep would write for this configuration."""
    path = sweep.run_path(out, "expressions", method, seed)
    header = sweep.RunSpec(n_init=n_init).header("expressions", method, seed, config)
    with RunRecord(path, header) as record:
        if done:
            record.write({"type": "done", "n_oracle": 0})
    return path


def test_sweep_refuses_a_stored_run_with_another_configuration(tmp_path, monkeypatch):
    _no_cluster(monkeypatch)
    config = sweep.run_config("expressions", 1, q=2)
    done = _stored_run(tmp_path, "ga", 0, config)
    partial = _stored_run(tmp_path, "ga", 1, config, done=False)
    before = {p: p.read_bytes() for p in (done, partial)}
    with pytest.raises(ValueError) as error:
        sweep.run_sweep("expressions", ["ga"], [0, 1], 1, str(tmp_path), q=3, n_init=12)
    message = str(error.value)
    assert "2 existing run file(s)" in message
    assert f"{done}: parameters.q: stored 2, requested 3" in message
    assert str(partial) in message
    with pytest.raises(ValueError, match=r"problem\.n_init: stored 12, requested 13"):
        sweep.run_sweep("expressions", ["ga"], [0], 1, str(tmp_path), q=2, n_init=13)
    with pytest.raises(ValueError, match=r"parameters\.n_steps: stored 1, requested 2"):
        sweep.run_sweep("expressions", ["ga"], [0], 2, str(tmp_path), q=2, n_init=12)
    assert {p: p.read_bytes() for p in (done, partial)} == before
    # run_one (on a worker) checks too: a finished run is never silently skipped
    with pytest.raises(ValueError, match="parameters.q"):
        sweep.run_one("expressions", "ga", 0, str(tmp_path), sweep.RunSpec(1, 12, q=3))
    row = sweep.run_one(
        "expressions", "ga", 0, str(tmp_path), sweep.RunSpec(1, 12, q=2)
    )
    assert row["status"] == "skipped"


def test_sweep_refuses_a_file_that_is_not_a_run_record(tmp_path, monkeypatch):
    _no_cluster(monkeypatch)
    path = sweep.run_path(tmp_path, "expressions", "ga", 0)
    path.parent.mkdir(parents=True)
    path.write_text("my notes")
    with pytest.raises(ValueError, match="not a BO run record"):
        sweep.run_sweep("expressions", ["ga"], [0], 1, str(tmp_path))
    assert path.read_text() == "my notes"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_init=1), "initial points"),
        (dict(positions=0), "positions"),
        (dict(checkpoint="nope"), "no checkpoint"),
    ],
)
def test_sweep_inputs_every_worker_would_fail_on_are_refused_up_front(
    tmp_path, kwargs, match
):
    from scales_core.sweep import run_sweep

    with pytest.raises(ValueError, match=match):
        run_sweep(
            "expressions", ["ga"], [0], 1, str(tmp_path), processes=False, **kwargs
        )
    assert not list(tmp_path.iterdir())


def test_sweep_out_that_is_a_file_is_refused(tmp_path):
    from scales_core.sweep import run_sweep

    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        run_sweep("expressions", ["ga"], [0], 1, str(out), processes=False)


def test_a_silent_scheduler_is_a_one_line_error(monkeypatch, tmp_path):
    import time

    from scales_core.sweep import run as sweep

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT_S", 1)
    tic = time.perf_counter()
    with pytest.raises(ValueError, match="no Dask scheduler answered"):
        sweep.run_sweep(
            "expressions", ["ga"], [0], 1, str(tmp_path), scheduler="tcp://127.0.0.1:1"
        )
    assert time.perf_counter() - tic < 15
