"""The device sweep script's job list and what it packs."""

import gzip
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "run_device_sweep", ROOT / "scripts" / "run_device_sweep.py"
)
run_device_sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_device_sweep)


def test_parse_jobs_keeps_order_and_names_tasks():
    jobs = run_device_sweep.parse_jobs(
        ["ranolazine_mpo:1:scales_0.8,ga", "2:ga"], task="logp"
    )
    assert jobs == [
        ("ranolazine_mpo", "scales_0.8", 1),
        ("ranolazine_mpo", "ga", 1),
        ("logp", "ga", 2),
    ]


def test_parse_jobs_refuses_a_seed_without_a_task():
    with pytest.raises(SystemExit, match="TASK:SEED:METHODS"):
        run_device_sweep.parse_jobs(["1:ga"], task=None)


def test_finished_files_are_init_files_and_gzipped_runs(tmp_path):
    (tmp_path / "_init").mkdir()
    (tmp_path / "_init" / "abc.latents.npy").write_bytes(b"x")
    for name in (
        "ranolazine_mpo/ga/seed1.jsonl.gz",
        "ranolazine_mpo/ga/seed2.jsonl",
        "zaleplon_mpo/scales_0.8/seed1.jsonl.gz",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt") if name.endswith(".gz") else open(path, "w") as fh:
            fh.write("{}\n")
    names = [
        p.relative_to(tmp_path).as_posix()
        for p in run_device_sweep.finished_files(tmp_path)
    ]
    assert names == [
        "_init/abc.latents.npy",
        "ranolazine_mpo/ga/seed1.jsonl.gz",
        "zaleplon_mpo/scales_0.8/seed1.jsonl.gz",
    ]
