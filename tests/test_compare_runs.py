"""scripts/compare_runs.py: two sweep folders, record by record, without provenance."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_runs.py"
spec = importlib.util.spec_from_file_location("compare_runs", SCRIPT)
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def _write(folder: Path, commit: str, objective: float, fit_s: float) -> None:
    path = folder / "logp" / "ga" / "seed0.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [
        {"type": "header", "task": "logp", "commit": commit, "created": commit},
        {"type": "oracle", "step": 0, "objective": objective},
        {"type": "step", "step": 0, "fit_s": fit_s},
    ]
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)


def test_provenance_and_timings_do_not_count(tmp_path):
    _write(tmp_path / "a", "abc", 1.5, 0.1)
    _write(tmp_path / "b", "def", 1.5, 9.9)
    assert compare_runs.compare(tmp_path / "a", tmp_path / "b") == {
        "logp/ga/seed0.jsonl.gz": "identical"
    }
    assert compare_runs.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 0


def test_a_changed_objective_is_found(tmp_path):
    _write(tmp_path / "a", "abc", 1.5, 0.1)
    _write(tmp_path / "b", "abc", 1.25, 0.1)
    found = compare_runs.compare(tmp_path / "a", tmp_path / "b")
    assert found == {
        "logp/ga/seed0.jsonl.gz": "line 2 (oracle) differs in ['objective']"
    }
    assert compare_runs.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
