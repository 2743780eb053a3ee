"""scripts/run_notebooks.py: notebook names, parameter sets and parameter files are
checked, a failed run keeps the previous copy, --out and -p, the status page."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# one torch thread: bit-for-bit runs and no oversubscription under Dask
pytestmark = pytest.mark.usefixtures("one_thread")


def _runner():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "scripts" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_book(tmp_path, params="n: 1\n"):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "params" / "quick").mkdir(parents=True)
    (root / "book").mkdir()
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "p1",
        "metadata": {"tags": ["parameters"]},
        "outputs": [],
        "source": ["n = 0\n"],
    }
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "notebooks" / "ch.ipynb").write_text(json.dumps(nb))
    (root / "params" / "quick" / "ch.yaml").write_text(params)
    (root / "book" / "ch.ipynb").write_text("previous executed copy")
    return root


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
            list((ROOT / "notebooks").glob("*.ipynb"))
        )


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
    assert sorted(p.name for p in (root / "book").iterdir()) == [
        "ch.ipynb",
        "execution.md",
    ]


def test_injected_parameters_cell_is_hidden_in_the_book(tmp_path):
    runner = _runner()
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ""},
            {
                "cell_type": "code",
                "metadata": {"tags": ["injected-parameters"]},
                "source": "",
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "ch.ipynb"
    path.write_text(json.dumps(nb))
    runner.hide_injected_parameters(path)
    tags = [c["metadata"]["tags"] for c in json.loads(path.read_text())["cells"]]
    assert tags == [["parameters"], ["injected-parameters", "hide-cell"]]


@pytest.mark.parametrize(
    "params, match",
    [
        ("n: [1, 2\n", r"ch\.yaml, line \d"),
        ("n: 1\nn: 2\n", r"ch\.yaml, line 2: duplicate key 'n'"),
    ],
)
def test_notebook_parameter_file_errors_name_the_file(tmp_path, params, match):
    root = _fake_book(tmp_path, params=params)
    with pytest.raises(ValueError, match=match):
        _runner().plan(root, [], "quick")


def test_run_notebooks_out_folder_and_parameter_overrides(tmp_path, monkeypatch):
    import subprocess
    from pathlib import Path

    runner = _runner()
    root = _fake_book(tmp_path)
    seen = []

    def fake_run(cmd, timeout):
        seen.append(cmd)
        Path(cmd[4]).write_text("run")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(runner.subprocess, "run", fake_run)
    out = tmp_path / "mine"
    assert runner.main(["--out", str(out), "-p", "n=7"], root=root) == 0
    assert (out / "ch.ipynb").read_text() == "run"
    assert (root / "book" / "ch.ipynb").read_text() == "previous executed copy"
    import yaml

    assert yaml.safe_load(seen[0][-1])["n"] == 7  # the parameter set with the override
    with pytest.raises(SystemExit):
        runner.main(["-p", "m=1"], root=root)  # not a parameter of the notebook
    with pytest.raises(SystemExit):
        runner.main(["-p", "n"], root=root)  # no value


def test_run_notebooks_writes_the_execution_status_page(tmp_path):
    import json

    runner = _runner()
    book = tmp_path / "book"
    book.mkdir()
    meta = {
        "papermill": {
            "duration": 12.3,
            "end_time": "2026-12-03T09:00:00",
            "parameters": {"n": 5},
        }
    }
    for name, title in [("01_a", "First"), ("02_b", "Second")]:
        nb = {
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n"]}
            ],
            "metadata": meta,
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (book / f"{name}.ipynb").write_text(json.dumps(nb))
    (book / "03_c.ipynb").write_text("not a notebook")
    page = runner.write_status(book, failed=["02_b.ipynb"]).read_text()
    assert "| [First](01_a.ipynb) | ok | 12 | 2026-12-03 09:00 | `n=5` |" in page
    assert "| [Second](02_b.ipynb) | failed; the previous run is shown |" in page
    assert "03_c" not in page
