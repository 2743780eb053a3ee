"""Compare the structure of freshly executed book notebooks with the committed copies.

    python scripts/check_book_structure.py                  # book/*.ipynb against git HEAD:book/
    python scripts/check_book_structure.py --ref origin/main
    python scripts/check_book_structure.py --committed DIR  # against the notebooks in DIR

Meant to run after `make book` (which writes the fresh copies into book/), as CI does.
Per code cell it compares the kinds of outputs: how many figures (image/*), HTML tables
(text/html with a <table>) and error outputs each cell has. Text is not compared
(numbers, timings, warnings and progress bars may change from run to run). Cells are
matched by cell id; papermill's injected-parameters cell, whose id is new on every run,
by its tag; cells without ids by position. Exits 1 and lists every difference when a
notebook lost or gained a figure, a table or an error, or when a notebook is in one set
and not the other.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("figure", "table", "error")


def output_kinds(output: dict) -> Counter:
    """The figures, tables and errors in one output."""
    kinds = Counter()
    if output.get("output_type") == "error":
        kinds["error"] += 1
    data = output.get("data", {})
    if any(mime.startswith("image/") for mime in data):
        kinds["figure"] += 1
    html = data.get("text/html", "")
    if "<table" in ("".join(html) if isinstance(html, list) else html):
        kinds["table"] += 1
    return kinds


def cell_key(cell: dict, position: int) -> str:
    """The key that matches a code cell between two runs of its notebook.

    ``"injected-parameters"`` for papermill's parameters cell (by its tag), else the
    cell's id, else ``#<position>``.
    """
    if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
        return "injected-parameters"
    return cell.get("id") or f"#{position}"


def structure(nb: dict) -> dict[str, tuple[str, Counter]]:
    """Code cell key -> (label for messages, counts of figures, tables and errors)."""
    out = {}
    for position, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", "")).strip().splitlines()
        label = f"cell {position}" + (f" ({source[0][:60]!r})" if source else "")
        kinds = Counter()
        for output in cell.get("outputs", []):
            kinds += output_kinds(output)
        out[cell_key(cell, position)] = (label, kinds)
    return out


def plural(n: int, kind: str) -> str:
    """``"<n> <kind>"``, with an ``s`` unless ``n`` is 1."""
    return f"{n} {kind}{'' if n == 1 else 's'}"


def compare(fresh: dict, committed: dict) -> list[str]:
    """Differences in figures, tables and errors per code cell; [] when they agree."""
    new, old = structure(fresh), structure(committed)
    problems = []
    for key in list(old) + [k for k in new if k not in old]:
        label, now = new.get(key, (None, Counter()))
        label = label or f"{old[key][0]} (no longer in the notebook)"
        before = old.get(key, (None, Counter()))[1]
        diffs = [
            f"{plural(before[k], k)} committed, {now[k]} now"
            for k in KINDS
            if before[k] != now[k]
        ]
        if diffs:
            problems.append(f"{label}: " + "; ".join(diffs))
    return problems


def git_notebooks(ref: str, folder: str = "book") -> dict[str, dict]:
    """The notebooks under `folder` at git revision `ref`, by file name."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{ref}:{folder}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        name: json.loads(
            subprocess.run(
                ["git", "show", f"{ref}:{folder}/{name}"],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for name in names
        if name.endswith(".ipynb")
    }


def dir_notebooks(folder: Path) -> dict[str, dict]:
    """The notebooks in ``folder``, by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.ipynb"))}


def check(fresh: dict[str, dict], committed: dict[str, dict], where: str) -> list[str]:
    """All differences between two sets of notebooks, one message each."""
    problems = []
    for name in sorted(set(fresh) | set(committed)):
        if name not in fresh:
            problems.append(f"{name}: committed ({where}) but no fresh copy")
        elif name not in committed:
            problems.append(f"{name}: fresh copy has no committed copy ({where})")
        else:
            problems += [f"{name} {p}" for p in compare(fresh[name], committed[name])]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Compare the fresh notebooks with the committed copies, reporting on stderr.

    Returns:
        The exit status: 1 when there is any difference, else 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fresh",
        type=Path,
        default=ROOT / "book",
        help="folder of freshly executed notebooks (default: book/)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--ref",
        default="HEAD",
        help="git revision whose book/ holds the committed copies (default: HEAD)",
    )
    group.add_argument(
        "--committed", type=Path, help="folder of committed copies, instead of git"
    )
    args = parser.parse_args(argv)

    fresh = dir_notebooks(args.fresh)
    if args.committed is not None:
        committed, where = dir_notebooks(args.committed), str(args.committed)
    else:
        committed, where = git_notebooks(args.ref), f"{args.ref}:book/"
    problems = check(fresh, committed, where)
    for p in problems:
        sys.stderr.write(f"book structure: {p}\n")
    if problems:
        sys.stderr.write(
            f"book structure: {len(problems)} difference(s) between {args.fresh} and {where}. "
            "A lost figure, table or a new error is a broken chapter; an intended change "
            "needs the re-executed book/ copy committed.\n"
        )
        return 1
    sys.stderr.write(
        f"book structure: {len(fresh)} notebooks match {where} "
        "(figures, tables, errors per code cell)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
