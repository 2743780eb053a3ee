"""The run writer (bo/run_writer.py): one writer at a time, in this process or
another, and a file that is not a run record is never truncated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from conftest import toy_header

from scales_core.bo import RunLockedError, RunRecord, read_run, run_bo

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


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
            run_bo(
                toy_problem(), "ga", seed=3, config=CONFIG, path=path, progress=False
            )
        assert path.read_bytes() == before  # nothing duplicated or written
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    resumed = run_bo(
        toy_problem(), "ga", seed=3, config=CONFIG, path=path, progress=False
    )
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
