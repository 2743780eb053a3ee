"""Check the built HTML book: no error outputs, no missing figures; screenshot every page.

    python scripts/book_check.py                   # after `make html` (what `make book-check` runs)
    python scripts/book_check.py --no-screenshots  # HTML checks only (no Chromium needed)

Book pages are ``_build/html/**/*.html`` without the generated ones (genindex, search,
py-modindex) and without ``_static``, ``_sources`` and the other ``_`` folders. A page fails
when it holds an error output (myst-nb renders an error output as an element of class
``traceback``; ``output_error`` is checked too) or a ``stderr`` output containing
``Traceback``, or when an ``<img>`` points at a file that is not under ``_build/html``.
Each page is screenshot (PNG) with headless Chromium into ``_build/screenshots/``, with
network requests sent to a closed proxy: the book must render from its own files. Without
Chromium the screenshots are skipped with a note. Exits 1 and names page and reason for
every failure.
"""

from __future__ import annotations

import argparse
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
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-server=127.0.0.1:9",  # nothing listens there: no network
    "--window-size=1280,2400", "--virtual-time-budget=10000", "--hide-scrollbars",
]


class _PageParser(HTMLParser):
    """Collects error outputs (class and text) and image sources of one page."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self._stderr_depth: int | None = None
        self._stderr_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag in self.VOID:
            return
        self.stack.append((tag, classes))
        if classes & ERROR_CLASSES:
            self.errors.append(f"error output (class {' '.join(sorted(classes & ERROR_CLASSES))})")
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
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self._stderr_depth is not None:
            self._stderr_text.append(data)


def book_pages(html_dir: Path) -> list[Path]:
    pages = []
    for page in sorted(html_dir.rglob("*.html")):
        rel = page.relative_to(html_dir)
        if page.name in SKIP_PAGES or any(part.startswith("_") for part in rel.parts[:-1]):
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


def screenshot(page: Path, html_dir: Path, out_dir: Path, chromium: str) -> str | None:
    """Write a PNG of ``page``; returns a reason on failure."""
    rel = page.relative_to(html_dir).with_suffix(".png")
    png = out_dir / rel
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="book_check_chromium_") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--screenshot={png}", page.resolve().as_uri()]
        try:
            subprocess.run(cmd, capture_output=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "screenshot: Chromium timed out"
    if not png.is_file() or png.stat().st_size == 0:
        return "screenshot: Chromium wrote no PNG"
    return None


def main(argv: list[str] | None = None) -> int:
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
        print(f"book-check: {args.chromium} not found, screenshots skipped")
    failures = []
    for page in pages:
        name = page.relative_to(args.html).as_posix()
        problems = check_page(page, args.html)
        if chromium is not None:
            reason = screenshot(page, args.html, args.out, chromium)
            if reason:
                problems.append(reason)
        failures += [f"{name}: {p}" for p in problems]
    for line in failures:
        print(f"FAIL {line}")
    shots = f", screenshots in {args.out}" if chromium is not None else ""
    print(f"book-check: {len(pages)} pages, {len(failures)} problems{shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
