"""The timing helpers: which GPU check the wall-clock chapter and the summary read."""

from __future__ import annotations

import json

import pytest

from scales_core.timing import median_time, newest_gpu_check


def _write(path, content):
    path.write_text(json.dumps(content))
    return path


def test_newest_gpu_check_takes_the_newest_file_with_benchmark_rows(tmp_path):
    _write(tmp_path / "2026-11-26.json", {"rows": [{"B": 10}], "meta": {"day": 1}})
    newest = _write(
        tmp_path / "2026-11-27.json", {"rows": [{"B": 100}], "meta": {"day": 2}}
    )
    # the newest file by name, but it records a sweep, not a check
    _write(tmp_path / "2026-11-28-logp-sweep.json", {"runs": [], "meta": {}})
    path, result = newest_gpu_check(tmp_path)
    assert path == newest
    assert result["meta"]["day"] == 2


def test_newest_gpu_check_is_none_without_a_check(tmp_path):
    assert newest_gpu_check(tmp_path) is None
    _write(tmp_path / "2026-11-26-guacamol-sweep.json", {"runs": []})
    assert newest_gpu_check(tmp_path) is None


def test_median_time_rejects_no_repeats():
    with pytest.raises(ValueError, match="repeats"):
        median_time(lambda: None, repeats=0)
