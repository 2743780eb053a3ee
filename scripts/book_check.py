"""Check the built HTML book as a reader sees it; screenshot every page.

    python scripts/book_check.py                   # after `make html` (what `make book-pages` runs)
    python scripts/book_check.py --no-screenshots  # HTML checks only (no Chromium needed)

Book pages are ``_build/html/**/*.html`` without the generated ones (genindex, search,
py-modindex) and without ``_static``, ``_sources`` and the other ``_`` folders. A page fails
when

* it holds an error output (myst-nb renders one as an element of class ``traceback``;
  ``output_error`` is checked too), or an output whose text holds ``Traceback`` or a
  ``...Warning`` (a warning printed into the book);
* an output shows an absolute machine path (a temporary, home or work folder, a virtualenv,
  ``site-packages``);
* a table in an output has a cell that reads ``nan``, ``NaN``, ``<NA>`` or ``None`` (one
  sign marks a missing value: an em dash);
* a figure of an output has no caption (myst-nb's ``mystnb.figure`` cell metadata), or an
  ``<img>`` points at a file that is not under ``_build/html``;
* with Chromium: a table or code output is wider than its column at 1280 px
  (``scrollWidth`` over ``clientWidth`` of the output, measured in the rendered page).

Each page is screenshot (PNG) with headless Chromium into ``_build/screenshots/``, with
network requests sent to a closed proxy: the book must render from its own files. Without
Chromium the screenshots and the width check are skipped with a note. Exits 1 and names
page and reason for every failure.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
ERROR_CLASSES = {"traceback", "output_error"}
#: An absolute path of the machine that ran a chapter.
MACHINE_PATH = re.compile(
    r"(?<![\w.])(/tmp/|/home/|/work/|/root/|/Users/|/var/folders/|[\w/.-]*\.venv/|"
    r"[\w/.-]*site-packages/)[^\s\"'<>]*"
)
#: A warning or traceback printed into an output.
WARNING_TEXT = re.compile(r"\bTraceback \(most recent call last\)|\b[A-Z]\w*Warning\b")
MISSING_CELL = {"nan", "NaN", "<NA>", "None", "NaT"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",  # nothing listens there: no network
    "--window-size=1280,2400",
    "--virtual-time-budget=10000",
    "--hide-scrollbars",
]


class _PageParser(HTMLParser):
    """Collects error outputs (class and text) and image sources of one page."""

    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self._stderr_depth: int | None = None
        self._stderr_text: list[str] = []
        self._output_depth: int | None = None  # inside a cell output
        self._output_text: list[str] = []
        self._cell_text: list[str] | None = None  # inside a <td>/<th> of an output
        self._figures: list[dict] = []  # open <figure> elements

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
            if self._output_depth is not None:
                if self._figures:
                    self._figures[-1]["images"] += 1
                else:
                    self.errors.append("a figure without a caption")
        if tag in self.VOID:
            return
        self.stack.append((tag, classes))
        if "cell_output" in classes and self._output_depth is None:
            self._output_depth = len(self.stack)
            self._output_text = []
        if self._output_depth is not None:
            if tag in ("td", "th"):
                self._cell_text = []
            elif tag == "figure":
                self._figures.append({"images": 0, "caption": False})
            elif tag == "figcaption" and self._figures:
                self._figures[-1]["caption"] = True
        if classes & ERROR_CLASSES:
            self.errors.append(
                f"error output (class {' '.join(sorted(classes & ERROR_CLASSES))})"
            )
        if "stderr" in classes and self._stderr_depth is None:
            self._stderr_depth = len(self.stack)
            self._stderr_text = []

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        # pop to the matching tag (tolerates unclosed children)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                if self._stderr_depth is not None and i + 1 <= self._stderr_depth:
                    if "Traceback" in "".join(self._stderr_text):
                        self.errors.append("stderr output with a Traceback")
                    self._stderr_depth = None
                if self._output_depth is not None:
                    self._close_in_output(tag)
                    if i + 1 <= self._output_depth:
                        self._check_output_text("".join(self._output_text))
                        self._output_depth = None
                        self._figures = []
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self._stderr_depth is not None:
            self._stderr_text.append(data)
        if self._output_depth is not None:
            self._output_text.append(data)
            if self._cell_text is not None:
                self._cell_text.append(data)

    def _close_in_output(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell_text is not None:
            text = "".join(self._cell_text).strip()
            if text in MISSING_CELL:
                self.errors.append(
                    f"a table cell reads {text!r} (write a missing value as an em dash)"
                )
            self._cell_text = None
        elif tag == "figure" and self._figures:
            figure = self._figures.pop()
            if figure["images"] and not figure["caption"]:
                self.errors.append("a figure without a caption")

    def _check_output_text(self, text: str) -> None:
        for match in MACHINE_PATH.finditer(text):
            self.errors.append(f"a machine path in an output: {match.group(0)[:80]}")
        for match in WARNING_TEXT.finditer(text):
            start = max(0, match.start() - 40)
            self.errors.append(
                f"a warning or traceback in an output: ...{text[start : match.end() + 40]!r}"
            )


def book_pages(html_dir: Path) -> list[Path]:
    """The book's pages under ``html_dir``, sorted.

    Without :data:`SKIP_PAGES` and pages inside ``_`` folders (``_static``, ...).
    """
    pages = []
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if page.name in SKIP_PAGES or any(
            part.startswith("_") for part in rel.parts[:-1]
        ):
            continue
        pages.append(page)
    return pages


def check_page(page: Path, html_dir: Path) -> list[str]:
    """Reasons why ``page`` fails (empty when it passes)."""
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    problems = list(parser.errors)
    root = html_dir.resolve()
    for src in parser.images:
        url = urlsplit(src)
        if url.scheme or src.startswith("//"):  # data:, http(s): not a file of the book
            continue
        target = (page.parent / unquote(url.path)).resolve()
        if not target.is_relative_to(root):
            problems.append(f"figure outside the book: {src}")
        elif not target.is_file():
            problems.append(f"missing figure: {src}")
    return problems


#: Injected into a copy of a page: lists the outputs wider than their column, once loaded.
_OVERFLOW_SCRIPT = """<script>
window.addEventListener('load', function () {
  var wide = [];
  document.querySelectorAll('.cell_output .output, .cell_output pre, .cell_output table')
    .forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        var first = (el.innerText || '').trim().split('\\n')[0].slice(0, 60);
        wide.push([el.tagName.toLowerCase(), el.scrollWidth, el.clientWidth, first]);
      }
    });
  var out = document.createElement('pre');
  out.id = 'book-check-overflow';
  out.textContent = JSON.stringify(wide);
  document.body.appendChild(out);
});
</script>"""
_OVERFLOW_RESULT = re.compile(r'<pre id="book-check-overflow"[^>]*>(.*?)</pre>', re.S)


def wide_outputs(page: Path, chromium: str) -> list[str]:
    """Outputs of ``page`` wider than their column in a 1280 px window (Chromium)."""
    import html as html_lib

    if "cell_output" not in page.read_text(encoding="utf-8", errors="replace"):
        return []  # no outputs (e.g. the index page, a redirect)

    probe = page.with_name(f".book_check_{page.name}")
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>", _OVERFLOW_SCRIPT + "</body>"
        ),
        encoding="utf-8",
    )
    try:
        with tempfile.TemporaryDirectory(prefix="book_check_chromium_") as profile:
            cmd = [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                probe.resolve().as_uri(),
            ]
            try:
                dom = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=120
                ).stdout
            except subprocess.TimeoutExpired:
                return ["width check: Chromium timed out"]
    finally:
        probe.unlink(missing_ok=True)
    found = _OVERFLOW_RESULT.search(dom)
    if found is None:
        return ["width check: the page did not report its outputs (did it load?)"]
    return [
        f"an output wider than its column at 1280 px ({tag}, {wide} px in {column} px): "
        f"{text!r}"
        for tag, wide, column, text in json.loads(html_lib.unescape(found.group(1)))
    ]


def screenshot(page: Path, html_dir: Path, out_dir: Path, chromium: str) -> str | None:
    """Write a PNG of ``page``; returns a reason on failure."""
    rel = page.relative_to(html_dir).with_suffix(".png")
    png = out_dir / rel
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="book_check_chromium_") as profile:
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ]
        try:
            subprocess.run(cmd, capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "screenshot: Chromium timed out"
    if not png.is_file() or png.stat().st_size == 0:
        return "screenshot: Chromium wrote no PNG"
    return None


def main(argv: list[str] | None = None) -> int:
    """Check every book page (with Chromium also its screenshot and widths).

    Returns:
        The exit status: 1 when a page fails or no pages were found, else 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--no-screenshots", action="store_true")
    args = parser.parse_args(argv)

    pages = book_pages(args.html)
    if not pages:
        print(f"book-check: no book pages under {args.html} (run `make html` first)")
        return 1
    chromium = None if args.no_screenshots else shutil.which(args.chromium)
    if chromium is None and not args.no_screenshots:
        print(
            f"book-check: {args.chromium} not found, screenshots and the width check skipped"
        )
    failures = []
    for page in pages:
        name = page.relative_to(args.html).as_posix()
        problems = check_page(page, args.html)
        if chromium is not None:
            reason = screenshot(page, args.html, args.out, chromium)
            if reason:
                problems.append(reason)
            problems += wide_outputs(page, chromium)
        failures += [f"{name}: {p}" for p in problems]
    for line in failures:
        print(f"FAIL {line}")
    shots = f", screenshots in {args.out}" if chromium is not None else ""
    print(f"book-check: {len(pages)} pages, {len(failures)} problems{shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
