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

__all__ = ["ParameterError", "Text", "check_params", "execute_notebook"]


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
        (key, value), = spec.items()
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
        (key, item), = spec.items()
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


def execute_notebook(source, output, parameters: dict[str, Any] | None = None,
                     cwd=None, **kwargs) -> None:
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
        pm.execute_notebook(str(source), str(output), parameters=parameters or {},
                            cwd=str(cwd or Path(source).parent), config=config, **kwargs)
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
