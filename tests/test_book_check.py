"""scripts/book_check.py: error outputs and missing figures in built HTML pages."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location(
        "book_check", ROOT / "scripts" / "book_check.py"
    )
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
    html = _site(
        tmp_path,
        '<img src="../_images/fig.png"><img src="data:image/png;base64,AA==">'
        '<div class="output stderr"><pre>UserWarning: slow</pre></div>',
    )
    assert [p.relative_to(html).as_posix() for p in bc.book_pages(html)] == [
        "book/ch.html"
    ]
    assert bc.check_page(html / "book" / "ch.html", html) == []
    assert bc.main(["--html", str(html), "--no-screenshots"]) == 0


def test_captioned_figures_and_clean_tables_pass(tmp_path):
    bc = _checker()
    html = _site(
        tmp_path,
        '<div class="cell_output"><figure><img src="../_images/fig.png">'
        "<figcaption><p>Fig. 1: a caption</p></figcaption></figure>"
        "<table><tr><td>—</td><td>0.5</td><td>nano</td></tr></table>"
        "<pre>results/bo/logp, 1/2 of the runs</pre></div>",
    )
    assert bc.check_page(html / "book" / "ch.html", html) == []


@pytest.mark.parametrize(
    "body, reason",
    [
        (
            '<div class="cell_output"><div class="output traceback highlight-ipythontb">'
            "<pre>ValueError</pre></div></div>",
            "error output (class traceback)",
        ),
        ('<div class="output_error">boom</div>', "error output (class output_error)"),
        (
            '<div class="output stderr"><div class="highlight"><pre><span>Traceback</span> '
            "(most recent call last)</pre></div></div>",
            "stderr output with a Traceback",
        ),
        (
            '<img src="../_images/gone.png" alt="">',
            "missing figure: ../_images/gone.png",
        ),
        (
            '<img src="../../elsewhere.png">',
            "figure outside the book: ../../elsewhere.png",
        ),
        (
            '<div class="cell_output"><div class="output stream">'
            "<pre>wrote /tmp/run_3/x.json</pre></div></div>",
            "a machine path in an output: /tmp/run_3/x.json",
        ),
        (
            '<div class="cell_output"><pre>python /work/wt/.venv/bin/python</pre></div>',
            "a machine path in an output: /work/wt/.venv/bin/python",
        ),
        (
            '<div class="cell_output"><pre>x.py:3: UserWarning: slow</pre></div>',
            "a warning or traceback in an output: ...'x.py:3: UserWarning: slow'",
        ),
        (
            '<div class="cell_output"><table><tr><td>0.5</td><td>NaN</td></tr></table></div>',
            "a table cell reads 'NaN' (write a missing value as an em dash)",
        ),
        (
            '<div class="cell_output"><table><tr><th>None</th></tr></table></div>',
            "a table cell reads 'None' (write a missing value as an em dash)",
        ),
        (
            '<div class="cell_output"><img src="../_images/fig.png"></div>',
            "a figure without a caption",
        ),
        (
            '<div class="cell_output"><figure><img src="../_images/fig.png"></figure></div>',
            "a figure without a caption",
        ),
    ],
)
def test_bad_page_fails_with_its_reason(tmp_path, body, reason, capsys):
    bc = _checker()
    html = _site(tmp_path, body)
    assert bc.check_page(html / "book" / "ch.html", html) == [reason]
    assert bc.main(["--html", str(html), "--no-screenshots"]) == 1
    assert f"FAIL book/ch.html: {reason}" in capsys.readouterr().out


@pytest.mark.skipif(
    shutil.which("/usr/bin/chromium") is None, reason="no Chromium here"
)
def test_screenshot_of_a_page(tmp_path):
    bc = _checker()
    html = _site(tmp_path, "<h1>Hello</h1>")
    out = tmp_path / "shots"
    assert bc.main(["--html", str(html), "--out", str(out)]) == 0
    assert (out / "book" / "ch.png").stat().st_size > 0


@pytest.mark.skipif(
    shutil.which("/usr/bin/chromium") is None, reason="no Chromium here"
)
def test_an_output_wider_than_its_column_fails(tmp_path):
    bc = _checker()
    wide = (
        "<tr>"
        + "".join(f"<td>column_{i}_with_a_long_name</td>" for i in range(60))
        + "</tr>"
    )
    html = _site(
        tmp_path,
        f'<div class="cell_output" style="width:600px;overflow-x:auto">'
        f'<div class="output text_html" style="overflow-x:auto"><table>{wide}</table></div></div>',
    )
    problems = bc.wide_outputs(html / "book" / "ch.html", "/usr/bin/chromium")
    assert problems and "wider than its column at 1280 px" in problems[0]
    narrow = _site(
        tmp_path / "n",
        '<div class="cell_output"><div class="output">'
        "<table><tr><td>1</td></tr></table></div></div>",
    )
    assert bc.wide_outputs(narrow / "book" / "ch.html", "/usr/bin/chromium") == []
    assert not list((html / "book").glob(".book_check_*"))  # the probe copy is removed
