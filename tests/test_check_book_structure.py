"""scripts/check_book_structure.py: figures, tables and errors per code cell, not text."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_book_structure.py"
_spec = importlib.util.spec_from_file_location("check_book_structure", SCRIPT)
cbs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cbs)

PNG = "iVBORw0KGgo="
TABLE = '<div><table class="dataframe"><tr><td>1</td></tr></table></div>'


def figure():
    return new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})


def table(text="   a\n0  1"):
    return new_output(
        "execute_result",
        data={"text/html": TABLE, "text/plain": text},
        execution_count=1,
    )


def chapter(elapsed="1.2 s", with_figure=True, error=False):
    """A small executed chapter: parameters, a table, a timing print, a figure."""
    params = new_code_cell("n = 3", id="params")
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell("n = 5")  # papermill: a new random id every run
    injected.metadata["tags"] = ["injected-parameters"]
    plot = new_code_cell(
        "plt.plot(x)\nplt.show()", id="plot", outputs=[figure()] if with_figure else []
    )
    if error:
        plot.outputs.append(
            new_output("error", ename="RuntimeError", evalue="boom", traceback=[])
        )
    return new_notebook(
        cells=[
            new_markdown_cell("# Chapter"),
            params,
            injected,
            new_code_cell("df", id="table", outputs=[table()]),
            new_code_cell(
                "print(t)",
                id="timing",
                outputs=[new_output("stream", name="stdout", text=f"took {elapsed}\n")],
            ),
            plot,
        ]
    )


def test_identical_structure_passes_despite_different_text():
    fresh, committed = chapter(elapsed="0.9 s"), chapter(elapsed="3.4 s")
    fresh.cells[3].outputs = [table("   a\n0  2")]
    assert cbs.compare(fresh, committed) == []


def test_missing_figure_is_reported():
    problems = cbs.compare(chapter(with_figure=False), chapter())
    assert len(problems) == 1
    assert "cell 5" in problems[0] and "1 figure committed, 0 now" in problems[0]


def test_missing_table_new_error_and_removed_cell():
    fresh = chapter(error=True)
    fresh.cells[3].outputs = []
    assert len(cbs.compare(fresh, chapter())) == 2
    fresh = chapter()
    del fresh.cells[5]  # the plotting cell is gone from the notebook
    [problem] = cbs.compare(fresh, chapter())
    assert "no longer in the notebook" in problem and "figure" in problem


def test_cli_exit_codes(tmp_path, capsys):
    fresh, committed = tmp_path / "fresh", tmp_path / "committed"
    fresh.mkdir()
    committed.mkdir()
    for folder, nb in [(fresh, chapter("0.5 s")), (committed, chapter("2.0 s"))]:
        (folder / "01_a.ipynb").write_text(json.dumps(nb))
    args = ["--fresh", str(fresh), "--committed", str(committed)]
    assert cbs.main(args) == 0
    (fresh / "01_a.ipynb").write_text(json.dumps(chapter(with_figure=False)))
    assert cbs.main(args) == 1
    assert "01_a.ipynb cell 5" in capsys.readouterr().err
    (fresh / "01_a.ipynb").unlink()
    assert cbs.main(args) == 1
    assert "no fresh copy" in capsys.readouterr().err
