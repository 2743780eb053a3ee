"""The package's layers (design.md section 7), checked on the source with ``ast``.

* the score core imports nothing from models, data, tasks, bo or the records;
* models, data, tokens and tasks never import the dataset records;
* no import cycle among ``scales_core`` modules at import time, and none at all
  (function-local imports included) between ``data`` and ``tokens``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scales_core"

SCORE_CORE = (
    "score",
    "jacobian",
    "baselines",
    "uncertainty",
    "acquisition",
    "reference",
    "_checks",
    "batching",
)
ABOVE_SCORE_CORE = (
    "models",
    "data",
    "tokens",
    "tasks",
    "bo",
    "datasets",
    "paths",
    "sources",
    "validity_auroc",
    "train",
    "sweep",
)
BELOW_RECORDS = (
    "models",
    "data",
    "tokens",
    "tasks",
    "grammar",
    "grammar_sampling",
    "sources",
    "paths",
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, top_level_only: bool) -> set[str]:
    """The ``scales_core`` modules that module ``name`` imports."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # also imports under a top-level try/if (not in functions)
        stack, nodes = list(tree.body), []
        while stack:
            node = stack.pop()
            nodes.append(node)
            if isinstance(node, (ast.If, ast.Try)):
                stack.extend(
                    node.body
                    + node.orelse
                    + getattr(node, "finalbody", [])
                    + [h for x in getattr(node, "handlers", []) for h in x.body]
                )
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("scales_core")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("scales_core"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return {m for m in found if m in MODULES and m != name}


def _top(module: str) -> str:
    """``scales_core.bo.loop`` -> ``bo``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("core", SCORE_CORE)
def test_score_core_imports_no_upper_layer(core):
    name = f"scales_core.{core}"
    bad = sorted(
        m for m in _imports(name, top_level_only=False) if _top(m) in ABOVE_SCORE_CORE
    )
    assert not bad, f"{name} imports {bad}"


@pytest.mark.parametrize("lower", BELOW_RECORDS)
def test_lower_layers_never_import_the_records(lower):
    names = [m for m in MODULES if _top(m) == lower]
    assert names
    for name in names:
        bad = sorted(
            m for m in _imports(name, top_level_only=False) if _top(m) == "datasets"
        )
        assert not bad, f"{name} imports {bad}"


def test_data_and_tokens_do_not_import_each_other_anywhere():
    assert "scales_core.data" not in _imports(
        "scales_core.tokens", top_level_only=False
    )


def test_no_import_cycle_at_import_time():
    graph = {m: _imports(m, top_level_only=True) for m in MODULES}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # a package __init__ re-exporting its submodules is not a cycle of its own
    cycles = [
        c
        for c in cycles
        if not any(c[i + 1].startswith(c[i] + ".") for i in range(len(c) - 1))
    ]
    assert not cycles, cycles


@pytest.mark.parametrize(
    "module",
    [
        "scales_core.tokens",
        "scales_core.data",
        "scales_core.datasets",
        "scales_core.uncertainty",
    ],
)
def test_each_module_imports_alone(module):
    """A fresh interpreter imports the module first (no circular-import error)."""
    run = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
