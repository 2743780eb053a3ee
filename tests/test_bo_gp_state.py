"""The GP side file (bo/gp_state.py): its name, and a damaged one discarded with a
warning (the fits are replayed)."""

from __future__ import annotations

import os

import pytest
import torch

from scales_core.bo import GPStateFile, RunFileWarning, gp_state_path, run_bo

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def test_gp_side_file_is_named_from_the_whole_run_file_name(tmp_path):
    a, b = tmp_path / "ga_0.5", tmp_path / "ga_0.8"
    assert gp_state_path(a) != gp_state_path(b)
    assert gp_state_path(a).name == "ga_0.5.gp.pt"
    assert gp_state_path(tmp_path / "seed0.jsonl").name == "seed0.jsonl.gp.pt"
    GPStateFile(a).save(1, {"w": torch.ones(1)})
    GPStateFile(b).save(2, {"w": torch.zeros(1)})
    step, state = GPStateFile(a).load()
    assert step == 1 and torch.equal(state["w"], torch.ones(1))


@pytest.mark.parametrize("kind", ["garbage", "truncated", "other-run", "not-a-state"])
def test_corrupt_gp_side_file_is_discarded_with_a_warning(tmp_path, kind):
    run = tmp_path / "seed0.jsonl"
    states = GPStateFile(run)
    states.save(3, {"w": torch.arange(4.0)})
    side = gp_state_path(run)
    if kind == "garbage":
        side.write_bytes(b"not a torch file")
    elif kind == "truncated":
        side.write_bytes(side.read_bytes()[:40])
    elif kind == "other-run":
        GPStateFile(tmp_path / "seed1.jsonl").save(3, {"w": torch.zeros(4)})
        os.replace(gp_state_path(tmp_path / "seed1.jsonl"), side)
    else:
        torch.save({"weights": [1, 2]}, side)
    with pytest.warns(RunFileWarning, match="discarding the GP side file.*replayed"):
        assert GPStateFile(run).load() is None
    assert not side.exists()


def test_resume_with_a_corrupt_gp_side_file_replays_the_fits(tmp_path):
    from test_bo_loop import CONFIG, Counter, Killed, toy_problem

    full = run_bo(toy_problem(), "ga", seed=4, config=CONFIG, progress=False)
    path = tmp_path / "run.jsonl"
    with pytest.raises(Killed):
        run_bo(
            toy_problem(Counter(fail_after=3)),
            "ga",
            seed=4,
            config=CONFIG,
            path=path,
            progress=False,
        )
    gp_state_path(path).write_bytes(b"\x00" * 100)
    with pytest.warns(RunFileWarning):
        resumed = run_bo(
            toy_problem(), "ga", seed=4, config=CONFIG, path=path, progress=False
        )
    assert resumed.oracle == full.oracle
