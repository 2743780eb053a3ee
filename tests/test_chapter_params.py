"""Documented non-default parameters of chapter 3 execute, build, and never touch
committed results (issue 29): a subset of datasets and a fresh results_dir."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pm = pytest.importorskip("papermill")
from test_your_vae_notebook import ROOT, _execute  # noqa: E402

CHAPTER_3 = ROOT / "notebooks" / "03_validity_auroc.ipynb"
COMMITTED = ROOT / "results" / "validity_auroc"
SMALL = dict(datasets=["expressions"], n=12, n_calibration=8, rho_grid=[0.1, 1.0, 10.0])


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


def _build(notebook: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """A one-page Jupyter Book of an executed notebook, built with -W."""
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(notebook, book / "chapter.ipynb")
    shutil.copy(ROOT / "references.bib", book / "references.bib")
    (book / "_config.yml").write_text(
        "title: t\nexecute:\n  execute_notebooks: 'off'\nbibtex_bibfiles:\n  - references.bib\n"
        "parse:\n  myst_enable_extensions: [dollarmath, amsmath]\n"
        "sphinx:\n  config:\n    suppress_warnings: ['mystnb.unknown_mime_type']\n"
    )
    shutil.copy(ROOT / "book" / "references.md", book / "references.md")
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: chapter\nchapters:\n  - file: references\n"
    )
    jb = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jb), "build", str(book), "-W", "--keep-going"],
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(
    not (COMMITTED / "protocols.csv").exists(), reason="committed results missing"
)
def test_chapter_3_with_one_dataset_and_a_fresh_results_dir(tmp_path, monkeypatch):
    before = _digest(COMMITTED)
    fresh = tmp_path / "va"
    text = _execute(
        CHAPTER_3,
        tmp_path,
        monkeypatch,
        {**SMALL, "recompute": True, "results_dir": str(fresh)},
    )
    assert (fresh / "expressions.json").exists() and not (
        fresh / "smiles.json"
    ).exists()
    assert "expressions: notebooks/03_validity_auroc.ipynb" in text
    built = _build(tmp_path / CHAPTER_3.name, tmp_path)
    assert built.returncode == 0, built.stderr[-3000:] + built.stdout[-3000:]
    # a second recompute into the same folder is refused before anything is run
    (tmp_path / "again").mkdir()
    with pytest.raises(pm.PapermillExecutionError, match="overwrite=True"):
        _execute(
            CHAPTER_3,
            tmp_path / "again",
            monkeypatch,
            {**SMALL, "recompute": True, "results_dir": str(fresh)},
        )
    assert _digest(COMMITTED) == before  # committed results untouched
