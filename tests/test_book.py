"""The executed book notebooks are complete: papermill ran every code cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = sorted((ROOT / "book").glob("*.ipynb"))
SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_has_one_parameters_cell_and_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} parameters cells"
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("path", BOOK, ids=lambda p: p.name)
def test_book_notebook_was_executed(path):
    cells = json.loads(path.read_text())["cells"]
    missing = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and c.get("execution_count") is None
    ]
    assert not missing, f"{path.name}: code cells {missing} were not executed"
    errors = [
        o
        for c in cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
