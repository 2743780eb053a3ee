"""scripts/book_check.py: error outputs and missing figures in built HTML pages."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("book_check", ROOT / "scripts" / "book_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site(tmp_path, body: str) -> Path:
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    (html / "_images").mkdir()
    (html / "_images" / "fig.png").write_bytes(b"\x89PNG")
    (html / "book" / "ch.html").write_text(f"<html><body>{body}</body></html>")
    (html / "genindex.html").write_text('<img src="nothing.png">')
    (html / "_static").mkdir()
    (html / "_static" / "x.html").write_text('<div class="output traceback">x</div>')
    return html


def test_clean_page_passes(tmp_path):
    bc = _checker()
    html = _site(tmp_path, '<img src="../_images/fig.png"><img src="data:image/png;base64,AA==">'
                           '<div class="output stderr"><pre>UserWarning: slow</pre></div>')
    assert [p.relative_to(html).as_posix() for p in bc.book_pages(html)] == ["book/ch.html"]
    assert bc.check_page(html / "book" / "ch.html", html) == []
    assert bc.main(["--html", str(html), "--no-screenshots"]) == 0


@pytest.mark.parametrize("body, reason", [
    ('<div class="cell_output"><div class="output traceback highlight-ipythontb">'
     '<pre>ValueError</pre></div></div>', "error output (class traceback)"),
    ('<div class="output_error">boom</div>', "error output (class output_error)"),
    ('<div class="output stderr"><div class="highlight"><pre><span>Traceback</span> '
     '(most recent call last)</pre></div></div>', "stderr output with a Traceback"),
    ('<img src="../_images/gone.png" alt="">', "missing figure: ../_images/gone.png"),
    ('<img src="../../elsewhere.png">', "figure outside the book: ../../elsewhere.png"),
])
def test_bad_page_fails_with_its_reason(tmp_path, body, reason, capsys):
    bc = _checker()
    html = _site(tmp_path, body)
    assert bc.check_page(html / "book" / "ch.html", html) == [reason]
    assert bc.main(["--html", str(html), "--no-screenshots"]) == 1
    assert f"FAIL book/ch.html: {reason}" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("/usr/bin/chromium") is None, reason="no Chromium here")
def test_screenshot_of_a_page(tmp_path):
    bc = _checker()
    html = _site(tmp_path, "<h1>Hello</h1>")
    out = tmp_path / "shots"
    assert bc.main(["--html", str(html), "--out", str(out)]) == 0
    assert (out / "book" / "ch.png").stat().st_size > 0
