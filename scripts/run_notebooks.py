"""Execute notebooks/*.ipynb with papermill into book/, one subprocess each.

    python scripts/run_notebooks.py --params quick            # all notebooks
    python scripts/run_notebooks.py --params full 01_score    # one notebook
    python scripts/run_notebooks.py 01_score --out /tmp/mine -p checkpoint=smiles_gru_1

Parameters come from params/<set>/<notebook stem>.yaml. Unknown notebook names,
unknown parameter sets, a missing parameter file and parameter names the
notebook's ``parameters`` cell does not define are refused before anything runs.
Each notebook is executed into a temporary file that replaces book/<name> only on
success: a notebook that fails or runs past --timeout keeps its previous executed
copy (the failed one is left in a temporary folder, named in the message) and
makes the script exit non-zero.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def parameter_names(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters``."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    names: set[str] = set()
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_params(path: Path) -> object:
    """A parameter file's content; ``ValueError`` naming the file and the line."""
    try:
        return (
            yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
        )
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"{path}{where}: {problem}") from None


def plan(root: Path, names: list[str], param_set: str) -> list[tuple[Path, Path]]:
    """``(notebook, parameter file)`` pairs to run, after checking every input.

    Raises:
        ValueError: for an unknown notebook or parameter set, a missing or
            malformed parameter file, or a parameter the notebook lacks.
    """
    sources = {s.stem: s for s in sorted((root / "notebooks").glob("*.ipynb"))}
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ValueError(f"unknown notebook(s) {unknown}; known: {sorted(sources)}")
    sets = sorted(p.name for p in (root / "params").iterdir() if p.is_dir())
    if param_set not in sets:
        raise ValueError(f"unknown parameter set {param_set!r}; known: {sets}")
    pairs = []
    for stem in names or sorted(sources):
        params = root / "params" / param_set / f"{stem}.yaml"
        if not params.exists():
            raise ValueError(
                f"no parameter file {params} for {stem} in set "
                f"{param_set!r}; add one (it may be empty: {{}})"
            )
        values = load_params(params)
        if not isinstance(values, dict):
            raise ValueError(f"{params} must be a mapping of parameter names")
        extra = sorted(set(values) - parameter_names(sources[stem]))
        if extra:
            raise ValueError(
                f"{params} sets {extra}, which the parameters cell of "
                f"notebooks/{stem}.ipynb does not define (a typo?)"
            )
        pairs.append((sources[stem], params))
    return pairs


def hide_injected_parameters(notebook: Path) -> None:
    """Tag papermill's injected-parameters cell ``hide-cell`` (collapsed in the book)."""
    try:
        nb = json.loads(notebook.read_text())
    except ValueError:  # not a notebook: left as papermill wrote it
        return
    changed = False
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
            changed = True
    if changed:
        notebook.write_text(
            json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)
        )


def parse_overrides(items: list[str]) -> dict:
    """``["n=5", "datasets=[smiles]"]`` -> a dict of YAML values; ``ValueError`` otherwise."""
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"-p takes NAME=VALUE, got {item!r}")
        try:
            out[name] = yaml.safe_load(text) if text else ""
        except yaml.YAMLError as error:
            raise ValueError(f"-p {item!r}: the value is not YAML ({error})") from None
    return out


def execute(
    src: Path, params: Path, book: Path, timeout: float, overrides: dict | None = None
) -> tuple[bool, str]:
    """Run one notebook into a temporary file; move it into ``book`` on success."""
    scratch = Path(tempfile.mkdtemp(prefix=f"run_notebooks_{src.stem}_"))
    tmp = scratch / src.name
    values = {**(yaml.safe_load(params.read_text()) or {}), **(overrides or {})}
    # papermill in a child process (a hung kernel is killed with it), kernel on IPC sockets
    code = (
        "import sys, yaml; from scales_core.notebook_params import execute_notebook; "
        "execute_notebook(sys.argv[1], sys.argv[2], yaml.safe_load(sys.argv[3]), "
        "log_output=False)"
    )
    cmd = [sys.executable, "-c", code, str(src), str(tmp), yaml.safe_dump(values)]
    try:
        code = subprocess.run(cmd, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        code = "timeout"
    if code == 0 and tmp.exists():
        hide_injected_parameters(tmp)
        os.replace(tmp, book / src.name)
        scratch.rmdir()
        return True, "ok"
    return (
        False,
        f"FAILED ({code}); the previous book/{src.name} is kept, this "
        f"run's output is in {tmp}",
    )


def write_status(book: Path, failed: list[str]) -> Path:
    """``book/execution.md``: when, how long and with which parameters each chapter ran.

    Read from the papermill metadata of the executed notebooks in ``book``; a chapter
    whose latest run failed is listed with the previous run kept.
    """
    rows = []
    for path in sorted(book.glob("*.ipynb")):
        try:
            nb = json.loads(path.read_text())
        except ValueError:  # not an executed notebook: nothing to report
            continue
        meta = nb.get("metadata", {}).get("papermill", {})
        title = next(
            (
                line.lstrip("# ").strip()
                for cell in nb["cells"]
                if cell["cell_type"] == "markdown"
                for line in "".join(cell["source"]).splitlines()
                if line.startswith("# ")
            ),
            path.stem,
        )
        params = (
            ", ".join(f"`{k}={v}`" for k, v in (meta.get("parameters") or {}).items())
            or "defaults"
        )
        status = "failed; the previous run is shown" if path.name in failed else "ok"
        end = str(meta.get("end_time") or "")[:16].replace("T", " ")
        duration = meta.get("duration")
        seconds = f"{duration:.0f}" if isinstance(duration, (int, float)) else "\u2014"
        rows.append(
            f"| [{title}]({path.stem}.ipynb) | {status} | {seconds} | {end} | {params} |"
        )
    out = book / "execution.md"
    out.write_text(
        "# Execution status\n\n"
        "Each chapter is a notebook executed by papermill (`scripts/run_notebooks.py`, "
        "`make book`)\n"
        "with the parameters below; this page is written by that run. Seconds are "
        "wall-clock time on\n"
        "the machine that built the book (UTC end time).\n\n"
        "| chapter | status | seconds | finished (UTC) | parameters |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
    return out


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    """The command line; returns the exit status (2: refused, 1: a notebook failed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    parser.add_argument(
        "--params", default="quick", help="parameter set: quick or full"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per notebook"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the executed notebooks (default: book/)",
    )
    parser.add_argument(
        "-p",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one parameter (YAML value), e.g. -p n=100 "
        "-p 'datasets=[smiles]'; the name must be in every notebook run",
    )
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    try:
        pairs = plan(root, args.names, args.params)
        overrides = parse_overrides(args.overrides)
        for src, _ in pairs:
            unknown = sorted(set(overrides) - parameter_names(src))
            if unknown:
                raise ValueError(
                    f"-p sets {unknown}, which the parameters cell of "
                    f"notebooks/{src.name} does not define"
                )
    except ValueError as error:
        parser.error(str(error))
    book = root / "book" if args.out is None else args.out.resolve()
    book.mkdir(parents=True, exist_ok=True)
    failed = []
    for src, params in pairs:
        start = time.perf_counter()
        ok, message = execute(src, params, book, args.timeout, overrides)
        elapsed = time.perf_counter() - start
        sys.stderr.write(f"{src.name}: {message} ({elapsed:.0f} s)\n")
        if not ok:
            failed.append(src.name)
    write_status(book, failed)
    if failed:
        sys.stderr.write(f"failed: {failed}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
