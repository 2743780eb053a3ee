"""Issue 13: hostile or careless inputs give clear errors, never silent wrong results,
lost or mixed runs. One section per group of the issue (run files, training,
loaders, tasks, notebooks); the score (group 3) is tested in test_score.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import needs_data

from scales_core import sweep
from scales_core.bo import (
    GPStateFile,
    RunFileWarning,
    RunLockedError,
    RunRecord,
    gp_state_path,
    read_run,
    run_bo,
)
from scales_core.bo.records import header_differences

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
CKPT = "checkpoints/paper/expressions_gru_1/w.pth"
TINY = dict(n_init=12, q=2)


# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def toy_header(**parameters) -> dict:
    return {
        "task": "toy",
        "method": "ga",
        "method_config": {},
        "parameters": parameters,
        "problem": {},
        "seed": 0,
    }


# --------------------------------------------------------------------------
# 1. Run files
# --------------------------------------------------------------------------


def test_second_writer_on_a_held_lock_is_refused(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunRecord(path, toy_header()) as first:
        first.write({"type": "oracle", "step": 0, "index": 0})
        with pytest.raises(RunLockedError, match="another process.*Wait for"):
            RunRecord(path, toy_header())
        first.write({"type": "oracle", "step": 0, "index": 1})
    assert len(read_run(path).oracle) == 2  # the refused writer wrote nothing
    with RunRecord(path, toy_header()) as again:  # released by close()
        assert len(again.data.oracle) == 2


def test_refused_resume_releases_the_lock(tmp_path):
    path = tmp_path / "run.jsonl"
    RunRecord(path, toy_header(q=1)).close()
    with pytest.raises(ValueError, match=r"parameters\.q: stored 1, requested 2"):
        RunRecord(path, toy_header(q=2))
    RunRecord(path, toy_header(q=1)).close()  # not left locked


_HOLDER = """
import sys, time
from scales_core.bo import RunRecord
record = RunRecord(sys.argv[1], {header!r})
print("locked", flush=True)
time.sleep(120)
"""


def test_two_writer_processes(tmp_path):
    """A second process cannot write a run another process holds; the holder's
    death (SIGKILL) releases the lock and the run resumes with no duplicate."""
    from test_bo_loop import CONFIG, toy_problem

    path = tmp_path / "run.jsonl"
    full = run_bo(toy_problem(), "ga", seed=3, config=CONFIG, progress=False)
    header = dict(read_run_header_of(full))
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(header=header), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        before = path.read_bytes()
        with pytest.raises(RunLockedError, match=f"pid {child.pid}"):
            run_bo(toy_problem(), "ga", seed=3, config=CONFIG, path=path,
                   progress=False)
        assert path.read_bytes() == before  # nothing duplicated or written
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    resumed = run_bo(toy_problem(), "ga", seed=3, config=CONFIG, path=path,
                     progress=False)
    keys = [(r["step"], r["index"]) for r in read_run(path).oracle]
    assert len(keys) == len(set(keys)) == CONFIG.n_steps * CONFIG.q
    assert resumed.oracle == full.oracle


def read_run_header_of(data) -> dict:
    """The header fields a second writer must match (a run in memory)."""
    return {k: v for k, v in data.header.items() if k != "type"}


@pytest.mark.parametrize(
    "content",
    [b"my notes", b"my notes\n", b'{"a": 1}\n', b"[1, 2]\n", b"\xff\xfe\n"],
    ids=["text", "text-line", "json-object", "json-list", "binary"],
)
def test_a_file_that_is_not_a_run_record_is_never_truncated(tmp_path, content):
    path = tmp_path / "notes"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a BO run record.*left unchanged"):
        RunRecord(path, toy_header())
    with pytest.raises(ValueError, match="not a BO run record"):
        read_run(path)
    assert path.read_bytes() == content


def test_a_header_cut_by_a_kill_is_rewritten(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"type": "header", "task": "to')
    with RunRecord(path, toy_header()) as record:
        assert record.data.header["task"] == "toy"
    assert read_run(path).header["task"] == "toy"


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
        run_bo(toy_problem(Counter(fail_after=3)), "ga", seed=4, config=CONFIG,
               path=path, progress=False)
    gp_state_path(path).write_bytes(b"\x00" * 100)
    with pytest.warns(RunFileWarning):
        resumed = run_bo(toy_problem(), "ga", seed=4, config=CONFIG, path=path,
                         progress=False)
    assert resumed.oracle == full.oracle


def test_header_differences_name_nested_fields():
    old = toy_header(q=2, lr=0.5)
    new = {**toy_header(q=3, lr=0.5), "seed": 1}
    assert header_differences(old, new) == [
        "parameters.q: stored 2, requested 3",
        "seed: stored 0, requested 1",
    ]
    assert header_differences(old, {**old, "commit": "other"}) == []


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


def _fake_run_one(task, method, seed, steps, out, **kwargs):
    return dict(task=task, method=method, seed=seed, path="", status="done",
                seconds=0.0, n_oracle=0)


def test_repeated_seeds_are_run_once(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "run_one", _fake_run_one)
    with pytest.warns(UserWarning) as caught:
        status = sweep.run_sweep("expressions", ["ga", "ga"], [0, 0, 1], 1,
                                 str(tmp_path), workers=1, processes=False)
    messages = " | ".join(str(w.message) for w in caught)
    assert "seeds [0, 0, 1] has repeats" in messages and "methods" in messages
    assert status[["method", "seed"]].values.tolist() == [["ga", 0], ["ga", 1]]


def _stored_run(out, method, seed, config, n_init=12, done=True):
    """A run file with the header a sweep would write for this configuration."""
    path = sweep.run_path(out, "expressions", method, seed)
    header = sweep._header("expressions", method, seed, config, n_init)
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
        sweep.run_sweep("expressions", ["ga"], [0, 1], 1, str(tmp_path), q=3,
                        n_init=12)
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
        sweep.run_one("expressions", "ga", 0, 1, str(tmp_path), n_init=12, q=3)
    row = sweep.run_one("expressions", "ga", 0, 1, str(tmp_path), n_init=12, q=2)
    assert row["status"] == "skipped"


def test_sweep_refuses_a_file_that_is_not_a_run_record(tmp_path, monkeypatch):
    _no_cluster(monkeypatch)
    path = sweep.run_path(tmp_path, "expressions", "ga", 0)
    path.parent.mkdir(parents=True)
    path.write_text("my notes")
    with pytest.raises(ValueError, match="not a BO run record"):
        sweep.run_sweep("expressions", ["ga"], [0], 1, str(tmp_path))
    assert path.read_text() == "my notes"


@needs_data(CKPT)
def test_problem_info_mirrors_make_problem():
    from scales_core.bo import make_problem, problem_info

    problem = make_problem("expressions", n_init=12, seed=3)
    assert problem.info == problem_info("expressions", 12, 3)
    # the expressions header has no positions key (stored runs keep matching)
    assert problem_info("expressions", None, 3) == dict(
        checkpoint="expressions_gru_1", n_init=500, data_seed=3
    )
    assert problem.positions is None
    short = make_problem("expressions", n_init=12, seed=3, positions=5)
    assert short.positions == 5 and short.info == problem_info("expressions", 12, 3, positions=5)


def test_problem_info_logp_names_bo_model_and_positions():
    from scales_core.bo import problem_info

    assert problem_info("logp", None, 0) == dict(
        checkpoint="smiles_gru_1", n_init=500, data_seed=0, positions=30
    )
    assert problem_info("logp", 7, 1, "smiles_gru_0.1")["checkpoint"] == "smiles_gru_0.1"
    assert problem_info("logp", positions=120)["positions"] == 120
    assert problem_info("expressions", positions=5)["positions"] == 5
    with pytest.raises(ValueError, match="positions"):
        problem_info("logp", positions=0)


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
            sweep.run_sweep("expressions", ["ga"], [0, 1], 2, out,
                            **{**kwargs, **changed})
        assert path.read_text() == cut and other.read_bytes() == other_bytes
    status = sweep.run_sweep("expressions", ["ga"], [0, 1], 2, out, **kwargs)
    assert list(status["status"]) == ["done", "skipped"]
    assert read_run(path).oracle == full
    assert other.read_bytes() == other_bytes


# --------------------------------------------------------------------------
# 2. Training
# --------------------------------------------------------------------------


@pytest.fixture
def mols(tmp_path):
    from test_train import MOLECULES

    path = tmp_path / "mols.txt"
    path.write_text("\n".join(MOLECULES * 3))
    return path


def train_run(out, data, *extra):
    from test_train import TINY, common, run

    return run("--model", "selfies_transformer", "--max-steps", 1,
               *common(out, data), *TINY, *extra)


def test_training_refuses_a_non_empty_folder(tmp_path, mols):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty.*--resume.*--overwrite"):
        train_run(out, mols)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    train_run(out, mols, "--overwrite")
    first = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(SystemExit, match="not empty"):  # a finished run, too
        train_run(out, mols)
    assert (out / "checkpoint.pt").read_bytes() == first
    with pytest.raises(SystemExit, match="exclude each other"):
        train_run(out, mols, "--overwrite", "--resume")
    record = train_run(out, mols, "--overwrite", "--seed", "1")
    assert record["seed"] == 1 and len(record["sessions"]) == 1
    assert (out / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "option, value",
    [("--batch-size", "0"), ("--batch-size", "-4"), ("--epochs", "0"),
     ("--epochs", "nan"), ("--epochs", "-1"), ("--n-train", "0"),
     ("--n-train", "-3"), ("--lr", "0"), ("--n-heldout", "0"), ("--threads", "0")],
)
def test_training_options_are_validated(tmp_path, mols, option, value):
    from test_train import run

    out = tmp_path / "run"
    with pytest.raises(SystemExit, match=f"{option} must be a finite number"):
        run("--out", out, "--train-file", mols, option, value, "--no-progress")
    assert not out.exists()  # refused before anything was written


def test_training_refuses_overlapping_heldout(tmp_path, mols):
    from test_train import run

    held = tmp_path / "held.txt"
    held.write_text("CCCO\nCCO\n")  # CCO is a training molecule
    for heldout in (mols, held):
        with pytest.raises(SystemExit, match="held-out set shares"):
            run("--out", tmp_path / "run", "--train-file", mols,
                "--heldout-file", heldout, "--no-progress")
    assert not (tmp_path / "run").exists()


def test_training_without_heldout_file_holds_out_lines(tmp_path):
    from scales_core.datasets import load_training_strings

    path = tmp_path / "lines.txt"
    path.write_text("\n".join(f"C{'C' * i}O" for i in range(10)))
    train, held, _ = load_training_strings("selfies_transformer", None, 3, 0, str(path))
    assert held == ["CO", "CCO", "CCCO"] and len(train) == 7
    assert not set(train) & set(held)


def test_resume_with_another_model_is_refused(tmp_path, mols):
    from test_train import run

    out = tmp_path / "run"
    train_run(out, mols)
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(SystemExit, match="--model: saved 'selfies_transformer', "
                                         "given 'char_expressions'"):
        run("--out", out, "--resume", "--model", "char_expressions")
    with pytest.raises(SystemExit, match="--batch-size: saved 4, given 8"):
        run("--out", out, "--resume", "--batch-size", "8")
    assert (out / "checkpoint.pt").read_bytes() == before
    record = run("--out", out, "--resume", "--model", "selfies_transformer",
                 "--max-steps", "2", "--no-progress")
    assert record["steps"] == 2


def test_truncated_training_checkpoint_names_the_file(tmp_path, mols):
    from test_train import run

    out = tmp_path / "run"
    train_run(out, mols)
    ckpt = out / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(SystemExit) as error:
        run("--out", out, "--resume", "--max-steps", "2")
    message = str(error.value)
    assert str(ckpt) in message and "not a readable training checkpoint" in message
    assert "--overwrite" in message and "weights_only" not in message


# --------------------------------------------------------------------------
# 4. Loaders
# --------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """An empty data folder (and cache) of its own, offline."""
    root = tmp_path / "data"
    monkeypatch.setenv("SCALES_DATA_DIR", str(root))
    monkeypatch.setenv("SCALES_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCALES_OFFLINE", "1")
    return root


SHARED = Path(os.environ.get("SCALES_DATA_DIR", "/nonexistent"))  # before monkeypatch


def _shared(relative):
    return SHARED / relative


def _assert_names_file_and_fix(message, path, fix):
    assert str(path) in message and fix in message
    assert "weights_only" not in message


@needs_data(CKPT)
@pytest.mark.parametrize("damage", ["truncated", "other-weights", "text"])
def test_damaged_paper_checkpoint_names_the_file(data_copy, damage):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_paper_vae

    good = _shared(CKPT).read_bytes()
    path = data_copy / CKPT
    path.parent.mkdir(parents=True)
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "other-weights":
        torch.save({"encoder.mu.weight": torch.zeros(2, 2)}, path)
    else:
        path.write_text("not a checkpoint")
    with pytest.raises(CorruptFileError) as error:
        load_paper_vae("expressions_gru_1")
    _assert_names_file_and_fix(str(error.value), path, "Replace it with the published")


@needs_data("checkpoints/paper/smiles_vocab.yaml")
@pytest.mark.parametrize("damage", ["permuted", "broken-yaml"])
def test_damaged_paper_vocabulary_is_refused(data_copy, damage):
    import yaml

    from scales_core.models.paper import smiles_vocab

    relative = "checkpoints/paper/smiles_vocab.yaml"
    mapping = yaml.safe_load(_shared(relative).read_text())
    path = data_copy / relative
    path.parent.mkdir(parents=True)
    if damage == "permuted":
        first, second = list(mapping)[:2]
        mapping[first], mapping[second] = mapping[second], mapping[first]
        path.write_text(yaml.safe_dump(mapping))
    else:
        path.write_text("C: [0\n")
    with pytest.raises(ValueError, match="checksum mismatch") as error:
        smiles_vocab()
    assert str(path) in str(error.value) and "replace it" in str(error.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ("'90': [oops\n", "not a readable UC threshold file"),
        ("'90': -3\n'95': -2\n", "must map exactly the keys"),
        ("'90': -1\n'95': -2\n'99': -3\nmax: 0\n", "increasing quantiles"),
        ("'90': .nan\n'95': -2\n'99': -1\nmax: 0\n", "finite"),
        ("- 1\n- 2\n", "must map exactly the keys"),
    ],
)
def test_damaged_threshold_file_names_the_file(data_copy, content, message):
    from scales_core._files import CorruptFileError
    from scales_core.models.paper import load_uncertainty_thresholds

    path = data_copy / "checkpoints/paper/uncertainty_thresholds/expressions_gru_1.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(CorruptFileError, match=message) as error:
        load_uncertainty_thresholds("expressions_gru_1")
    _assert_names_file_and_fix(str(error.value), path, "Replace it with the published")


@pytest.fixture
def own_copy(tmp_path):
    """A copy of the shipped SELFIES transformer's folder."""
    import shutil

    from scales_core.models.own import WEIGHTS_DIR

    folder = tmp_path / "selfies"
    shutil.copytree(WEIGHTS_DIR / "selfies_transformer", folder)
    return folder


def test_shipped_model_stores_a_vocabulary_checksum(own_copy):
    from scales_core.models import load_vae
    from scales_core.models.own import vocab_checksum

    record = json.loads((own_copy / "record.json").read_text())
    vocab = json.loads((own_copy / "vocab.json").read_text())
    assert record["vocab_sha256"] == vocab_checksum(vocab)
    assert load_vae(own_copy).vocab.tokens == vocab


@pytest.mark.parametrize("where", ["record.json", "config.json"])
def test_permuted_own_vocabulary_is_detected(own_copy, where):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae
    from scales_core.models.own import vocab_checksum

    vocab = json.loads((own_copy / "vocab.json").read_text())
    if where == "config.json":  # checksum in config.json only (save_vae's folders)
        config = json.loads((own_copy / "config.json").read_text())
        config["vocab_sha256"] = vocab_checksum(vocab)
        (own_copy / "config.json").write_text(json.dumps(config))
        (own_copy / "record.json").unlink()
    vocab[5], vocab[6] = vocab[6], vocab[5]  # same symbols, two swapped
    (own_copy / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(CorruptFileError, match="reordered or edited") as error:
        load_vae(own_copy)
    assert str(own_copy / "vocab.json") in str(error.value) and where in str(
        error.value)


def test_save_vae_stores_the_vocabulary_checksum(tmp_path, own_copy):
    from scales_core.models import load_vae, save_vae

    folder = save_vae(load_vae(own_copy), tmp_path / "saved", record={"note": 1})
    config = json.loads((folder / "config.json").read_text())
    record = json.loads((folder / "record.json").read_text())
    assert len(config["vocab_sha256"]) == 64 == len(record["vocab_sha256"])
    vocab = json.loads((folder / "vocab.json").read_text())
    (folder / "vocab.json").write_text(json.dumps(vocab[:3] + vocab[4:] + vocab[3:4]))
    with pytest.raises(ValueError, match="reordered"):
        load_vae(folder)


@pytest.mark.parametrize(
    "file, content, message",
    [
        ("model.pt", b"PK\x03\x04 cut", "not a readable model weights"),
        ("config.json", b'{"model": "selfies_tr', "not a readable model config"),
        ("vocab.json", b"[1, 2, 3]", "not a list of symbols"),
        ("config.json", b'{"model": "selfies_transformer", "config": {"d": 1}}',
         "do not describe a model"),
    ],
)
def test_damaged_own_model_names_the_file(own_copy, file, content, message):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae

    (own_copy / file).write_bytes(content)
    with pytest.raises(CorruptFileError, match=message) as error:
        load_vae(own_copy)
    _assert_names_file_and_fix(str(error.value), own_copy / file, "Restore the folder")


def test_truncated_own_weights_name_the_file(own_copy):
    from scales_core._files import CorruptFileError
    from scales_core.models import load_vae

    path = own_copy / "model.pt"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CorruptFileError) as error:
        load_vae(own_copy)
    _assert_names_file_and_fix(str(error.value), path, "Restore the folder")


def tiny_char_vae():
    from scales_core.models import CharVAE, CharVAEConfig
    from scales_core.models.paper import EXPRESSIONS_VOCAB

    cfg = CharVAEConfig(vocab_size=15, max_len=19, latent_dim=25,
                        conv_channels=(2, 3, 4), conv_kernels=(2, 3, 4))
    return CharVAE(cfg, EXPRESSIONS_VOCAB, pad_index=14).eval()


@pytest.fixture(params=["char", "selfies"])
def any_vae(request):
    from scales_core.models import load_vae

    return tiny_char_vae() if request.param == "char" else load_vae(
        "selfies_transformer")


def test_encode_refuses_a_bare_string_and_an_empty_batch(any_vae):
    item = "x+1" if any_vae.latent_dim == 25 else "CCO"
    with pytest.raises(TypeError, match=r"single string .*wrap it in a list"):
        any_vae.encode(item)
    with pytest.raises(ValueError, match="nothing to encode"):
        any_vae.encode([])
    with pytest.raises(ValueError, match="nothing to encode"):
        any_vae.encode(torch.zeros(0, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="list of strings or an index tensor"):
        any_vae.encode(42)
    assert any_vae.encode((item,)).shape == (1, any_vae.latent_dim)  # a tuple is fine


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_decode_of_non_finite_latents_raises(any_vae, bad):
    z = torch.zeros(3, any_vae.latent_dim)
    z[1, 2] = bad
    with pytest.raises(ValueError, match=r"non-finite latents .*rows \[1\]"):
        any_vae.decode_strings(z)
    with pytest.raises(ValueError, match="shape"):
        any_vae.decode_strings(torch.zeros(2, any_vae.latent_dim + 1))
    assert len(any_vae.decode_strings(z[[0, 2]])) == 2


# --------------------------------------------------------------------------
# 5. Tasks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name, item", [("expressions", "x+1"), ("logp", "CCO")])
def test_task_evaluate_refuses_a_bare_string(name, item):
    from scales_core.tasks import evaluate, get_task

    task = get_task(name)
    with pytest.raises(TypeError, match=r"single string .*evaluate\(\[s\]\)"):
        task.evaluate(item)
    with pytest.raises(TypeError, match="single string"):
        evaluate(name, item)
    with pytest.raises(TypeError, match="list of strings, got int"):
        task.evaluate(3)
    values, valid, _ = task.evaluate([item])
    assert len(values) == 1 and valid[0] and task(item) == values[0]


def test_check_batch_refuses_misuse():
    from scales_core.tasks import check_batch, is_valid_smiles, smiles_invalid_reason

    with pytest.raises(TypeError, match="single string"):
        check_batch("CCO", smiles_invalid_reason)
    with pytest.raises(TypeError, match="strings first"):
        check_batch(smiles_invalid_reason, ["CCO"])  # swapped
    with pytest.raises(TypeError, match="strings first"):
        check_batch(["CCO"], "smiles")
    with pytest.raises(TypeError, match="is_valid_smiles returned True.*_reason"):
        check_batch(["CCO"], is_valid_smiles)
    assert check_batch(["CCO", "C1CC"], smiles_invalid_reason)[0] == [True, False]


@pytest.mark.parametrize("name", ["logp", "perindopril_mpo"])
def test_overlong_smiles_is_invalid_at_once(name):
    from scales_core.tasks import get_task
    from scales_core.tasks.validity import MAX_SMILES_LENGTH

    if name == "perindopril_mpo":
        pytest.importorskip("guacamol")
    long = "C" * 20_000
    tic = time.perf_counter()
    values, valid, reasons = get_task(name).evaluate([long, "C" * 50])
    assert time.perf_counter() - tic < 2.0  # was 22 s for penalized logP
    assert not valid[0] and values[0] != values[0]  # NaN
    assert f"more than the cap of {MAX_SMILES_LENGTH}" in reasons[0]
    assert valid[1] or "cap" not in str(reasons[1])


# --------------------------------------------------------------------------
# 6. Notebooks
# --------------------------------------------------------------------------


def _runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_notebooks_refuses_unknown_names_and_sets(capsys):
    runner = _runner()
    with pytest.raises(SystemExit) as error:
        runner.main(["01_score", "99_nope"])
    assert error.value.code == 2
    assert "unknown notebook(s) ['99_nope']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        runner.main(["--params", "fast"])
    assert "unknown parameter set 'fast'" in capsys.readouterr().err
    for param_set in ("quick", "full"):  # the real sets pass the checks
        assert len(runner.plan(ROOT, [], param_set)) == len(
            list((ROOT / "notebooks").glob("*.ipynb")))


def _fake_book(tmp_path, params="n: 1\n"):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "params" / "quick").mkdir(parents=True)
    (root / "book").mkdir()
    cell = {"cell_type": "code", "execution_count": None, "id": "p1",
            "metadata": {"tags": ["parameters"]}, "outputs": [], "source": ["n = 0\n"]}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "notebooks" / "ch.ipynb").write_text(json.dumps(nb))
    (root / "params" / "quick" / "ch.yaml").write_text(params)
    (root / "book" / "ch.ipynb").write_text("previous executed copy")
    return root


def test_run_notebooks_refuses_a_parameter_the_notebook_lacks(tmp_path):
    runner = _runner()
    root = _fake_book(tmp_path, params="n_samples: 5\n")
    with pytest.raises(ValueError, match=r"sets \['n_samples'\].*does not define"):
        runner.plan(root, [], "quick")


@pytest.mark.parametrize("outcome", ["error", "timeout", "ok"])
def test_failed_notebook_keeps_the_previous_copy(tmp_path, monkeypatch, outcome):
    runner = _runner()
    root = _fake_book(tmp_path)

    def fake_run(cmd, timeout):
        Path(cmd[4]).write_text("partial output")  # papermill writes as it goes
        if outcome == "timeout":
            raise subprocess.TimeoutExpired(cmd, timeout)
        return subprocess.CompletedProcess(cmd, 0 if outcome == "ok" else 1)

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    code = runner.main([], root=root)
    book = (root / "book" / "ch.ipynb").read_text()
    if outcome == "ok":
        assert code == 0 and book == "partial output"
    else:
        assert code == 1 and book == "previous executed copy"
    # no leftovers beside the notebook; the status page is rewritten by every run
    assert sorted(p.name for p in (root / "book").iterdir()) == ["ch.ipynb", "execution.md"]


def test_check_params_refuses_a_string_batch_size():
    from scales_core.notebook_params import ParameterError, check_params

    spec = {"batch_size": int, "rho": float, "positions": (int, None),
            "seeds": [int], "sizes": {str: (int, None)}, "progress": bool}
    good = {"batch_size": 50, "rho": 1, "positions": None, "seeds": [0, 1],
            "sizes": {"a": None, "b": 3}, "progress": False}
    check_params(good, spec)
    with pytest.raises(ParameterError, match=r"batch_size must be int, got str '50'"):
        check_params({**good, "batch_size": "50"}, spec)
    bad = {**good, "rho": float("nan"), "seeds": [0, "1"], "progress": "no",
           "sizes": {"a": 1.5}}
    del bad["positions"]
    with pytest.raises(ParameterError) as error:
        check_params(bad, spec)
    for name in ("rho must be float", "positions is missing", "seeds must be list",
                 "sizes must be dict", "progress must be bool"):
        assert name in str(error.value)
    with pytest.raises(ParameterError, match="batch_size must be int, got bool"):
        check_params({**good, "batch_size": True}, spec)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.stem)
def test_each_notebook_checks_its_parameters(path):
    import yaml

    from scales_core.notebook_params import ParameterError

    cells = json.loads(path.read_text())["cells"]
    index = next(i for i, c in enumerate(cells)
                 if "parameters" in c["metadata"].get("tags", []))
    params, check = ("".join(cells[i]["source"]) for i in (index, index + 1))
    assert check.startswith("from scales_core.notebook_params import check_params")
    for param_set in ("quick", "full"):  # defaults, then each parameter file
        namespace = {}
        exec(params, namespace)
        file = ROOT / "params" / param_set / f"{path.stem}.yaml"
        namespace.update(yaml.safe_load(file.read_text()) or {})
        exec(check, namespace)
    name = next(k for k, v in namespace.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool))
    namespace[name] = str(namespace[name])  # a number given as a string
    with pytest.raises(ParameterError, match=f"{name} must be"):
        exec(check, namespace)


def test_injected_parameters_cell_is_hidden_in_the_book(tmp_path):
    runner = _runner()
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ""},
                    {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": ""}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "ch.ipynb"
    path.write_text(json.dumps(nb))
    runner.hide_injected_parameters(path)
    tags = [c["metadata"]["tags"] for c in json.loads(path.read_text())["cells"]]
    assert tags == [["parameters"], ["injected-parameters", "hide-cell"]]


def test_glued_text_has_no_quotes():
    from scales_core.notebook_params import Text

    assert repr(Text("smiles_gru_1")) == "smiles_gru_1" and Text("a") == "a"
    assert repr("smiles_gru_1") == "'smiles_gru_1'"  # what a bare str would glue as


def test_provenance_records_the_commit_the_code_was_loaded_from(monkeypatch):
    import scales_core.provenance as prov

    first = prov.provenance({}, 0)["commit"]
    # the checkout moves on (another commit); this process still runs the old code
    monkeypatch.setattr(prov, "git_commit", lambda cwd=None: "moved-on")
    assert prov.provenance({}, 0)["commit"] == first == prov.loaded_commit()
