r"""Type checks of papermill parameters at the top of each notebook.

papermill passes ``-p batch_size "50"`` or a YAML value ``batch_size: '50'`` as a
string, and the notebook then fails many cells later with an unrelated error (or
runs with a wrong value). Each chapter calls, right after its parameters cell::

    from scales_core.notebook_params import check_params
    check_params(globals(), {"batch_size": int, "rho": float, "positions": (int, None)})

A spec is a type (``int`` refuses ``bool``; ``float`` accepts ints and refuses
non-finite values), ``None``, a tuple of alternatives, ``[spec]`` (a list whose
items match ``spec``) or ``{key_spec: value_spec}`` (a dict).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "MISSING",
    "ParameterError",
    "Text",
    "check_params",
    "chapter_box",
    "execute_notebook",
    "last_run_seconds",
    "portable",
    "readable",
]


class ParameterError(TypeError):
    """A notebook parameter has the wrong type (or is missing)."""


class Text(str):
    """A string that glues without quotes.

    myst-nb's ``{glue:text}`` shows a value's ``text/plain`` form, which for a ``str``
    is its ``repr`` (``'smiles_gru_1'``, with quotes); ``glue("k", Text(value))``
    shows the bare text.
    """

    def __repr__(self) -> str:
        return str(self)


def _describe(spec: Any) -> str:
    if spec is None:
        return "None"
    if isinstance(spec, tuple):
        return " or ".join(_describe(s) for s in spec)
    if isinstance(spec, list):
        return f"list of {_describe(spec[0])}"
    if isinstance(spec, dict):
        ((key, value),) = spec.items()
        return f"dict of {_describe(key)} -> {_describe(value)}"
    return spec.__name__


def _matches(value: Any, spec: Any) -> bool:
    if spec is None:
        return value is None
    if isinstance(spec, tuple):
        return any(_matches(value, s) for s in spec)
    if isinstance(spec, list):
        return isinstance(value, list) and all(_matches(v, spec[0]) for v in value)
    if isinstance(spec, dict):
        ((key, item),) = spec.items()
        return isinstance(value, dict) and all(
            _matches(k, key) and _matches(v, item) for k, v in value.items()
        )
    if spec is float:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    if spec is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, spec)


def check_params(namespace: dict[str, Any], spec: dict[str, Any]) -> None:
    r"""Check the notebook's parameters against their expected types.

    Args:
        namespace: The notebook's ``globals()``.
        spec: Parameter name -> expected type (see the module docstring).

    Raises:
        ParameterError: listing every missing or mistyped parameter with its
            value and the expected type.
    """
    problems = []
    for name, expected in spec.items():
        if name not in namespace:
            problems.append(f"{name} is missing (expected {_describe(expected)})")
        elif not _matches(namespace[name], expected):
            value = namespace[name]
            problems.append(
                f"{name} must be {_describe(expected)}, got "
                f"{type(value).__name__} {value!r}"
            )
    if problems:
        raise ParameterError(
            "bad notebook parameters: "
            + "; ".join(problems)
            + ". Fix the parameter file (params/<set>/<notebook>.yaml) or the "
            "papermill -p/-y values (papermill -r passes every value as a string)."
        )


def execute_notebook(
    source, output, parameters: dict[str, Any] | None = None, cwd=None, **kwargs
) -> None:
    r"""Execute a notebook with papermill, its kernel on IPC sockets in a temporary folder.

    The same as ``papermill.execute_notebook(..., kernel_name="python3")``, but a
    local kernel talks over Unix sockets instead of unencrypted TCP, so the console
    of a successful run stays free of ipykernel's TCP warning.

    Args:
        source: The notebook to run.
        output: Where the executed notebook goes.
        parameters: Values for the ``parameters`` cell.
        cwd: The kernel's working folder (default: the source notebook's folder).
        **kwargs: Passed on to ``papermill.execute_notebook``.

    Raises:
        papermill.PapermillExecutionError: when a cell fails.
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    import papermill as pm
    from traitlets.config import Config

    sockets = tempfile.mkdtemp(prefix="scales-kernel-")
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(sockets, "kernel")
    kwargs.setdefault("kernel_name", "python3")
    kwargs.setdefault("progress_bar", False)
    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=parameters or {},
            cwd=str(cwd or Path(source).parent),
            config=config,
            **kwargs,
        )
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


#: How the book writes a missing value.
MISSING = "\u2014"


def readable(table, digits: int = 3):
    r"""A table as the book shows it: rounded, counts as integers, one sign for missing.

    Float columns whose values are all whole numbers become integers, other float
    columns are rounded to ``digits``, and every missing value (``NaN``, ``None``,
    ``<NA>``) becomes an em dash (:data:`MISSING`).

    Args:
        table: A ``pandas.DataFrame`` or ``Series``.
        digits: Decimals of the non-integer float columns.

    Returns:
        A ``DataFrame`` of objects for display (not for further arithmetic).
    """
    import pandas as pd

    out = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(
            column
        ):
            continue
        values = column.dropna().astype(float)
        if (
            len(values)
            and (values == values.round()).all()
            and (values.abs() < 2**53).all()
        ):
            out.isetitem(position, column.astype("Int64"))
        elif pd.api.types.is_float_dtype(column):
            out.isetitem(position, column.round(digits))
    shown = out.astype(object)
    return shown.where(out.notna(), MISSING)


def portable(text: str) -> str:
    r"""``text`` without the absolute paths of the machine that produced it.

    Commands and messages saved in results name the interpreter and folders of the
    machine that ran them; a book page shows them as a reader would type them: the
    interpreter as ``python``, a folder under ``results/`` from ``results/`` on, any
    other absolute path (temporary, home or work folders) by its last part.

    Example:
        >>> portable("/work/x/.venv/bin/python -m m --out /tmp/run_1 --in /w/p/results/bo")
        'python -m m --out run_1 --in results/bo'
    """
    import re

    def short(match: "re.Match[str]") -> str:
        path = match.group(0)
        if re.search(r"/python[\d.]*$", path):
            return "python"
        if "/results/" in path:
            return "results/" + path.split("/results/", 1)[1]
        return path.rstrip("/").rsplit("/", 1)[-1]

    return re.sub(r"(?<![\w.~])/(?:[\w.+-]+/)*[\w.+-]+/?", short, text)


def last_run_seconds(chapter: str, book_dir="../book") -> float | None:
    """Wall-clock seconds of the chapter's latest papermill run in ``book_dir`` (or ``None``)."""
    import json
    from pathlib import Path

    try:
        meta = json.loads((Path(book_dir) / f"{chapter}.ipynb").read_text())["metadata"]
        seconds = meta.get("papermill", {}).get("duration")
    except (OSError, ValueError, KeyError):
        return None
    return float(seconds) if isinstance(seconds, (int, float)) else None


def chapter_box(
    chapter: str,
    ran: dict[str, Any],
    deviations: list[str],
    verdict: str,
    params: str = "quick",
    book_dir="../book",
):
    r"""The box at the top of a chapter.

    What ran, deviations from the paper, the verdict, and how to re-run it.

    Args:
        chapter: The notebook's stem, e.g. ``"05_logp_bo"``.
        ran: What ran, label -> value (model, data, seeds, steps, hardware, ...).
        deviations: Each way this chapter's protocol differs from the paper (a warning box;
            none: no box).
        verdict: One sentence.
        params: The parameter set the book ran (``quick`` or ``full``).
        book_dir: Where the executed chapters are (for the last measured run time).

    Returns:
        An ``IPython.display.HTML`` object (admonition boxes in the book's theme).
    """
    from html import escape

    from IPython.display import HTML

    seconds = last_run_seconds(chapter, book_dir)
    timing = f" (last run: {seconds:.0f} s)" if seconds is not None else ""
    items = "".join(
        f"<li><b>{escape(str(k))}</b>: {escape(str(v))}</li>" for k, v in ran.items()
    )
    command = f"python scripts/run_notebooks.py {chapter} --params {params}"
    parts = [
        '<div class="admonition note"><p class="admonition-title">What ran</p>',
        f"<ul>{items}</ul>",
        f"<p><b>Verdict.</b> {escape(verdict)}</p>",
        f"<p><b>Re-run</b>{escape(timing)}: <code>{escape(command)}</code> "
        "(<code>-p NAME=VALUE</code> changes a parameter).</p></div>",
    ]
    if deviations:
        rows = "".join(f"<li>{escape(d)}</li>" for d in deviations)
        parts.append(
            '<div class="admonition warning"><p class="admonition-title">'
            f"Deviations from the paper</p><ul>{rows}</ul></div>"
        )
    return HTML("".join(parts))
