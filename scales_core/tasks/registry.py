r"""Optimization tasks: an objective bundled with its validity check.

.. code-block:: python

    task = get_task("logp")
    values, valid, reasons = task.evaluate(["CCO", "C1CCCCC2"])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from ..paths import DataNotFoundError
from ..sources import ChecksumError
from .objectives import (
    Outcome,
    expression_objective,
    penalized_logp,
    perindopril_mpo,
    ranolazine_mpo,
    zaleplon_mpo,
)
from .validity import (
    expression_invalid_reason,
    quality_filter_reason,
    smiles_invalid_reason,
)

#: Errors of the set-up (data files), raised rather than turned into invalid strings.
_SETUP_ERRORS = (DataNotFoundError, ChecksumError)

__all__ = ["TASKS", "Task", "evaluate", "get_task", "register_task", "unregister_task"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """An optimization task (maximize ``objective`` over valid strings).

    Attributes:
        name: registry name, e.g. ``"logp"``.
        domain: ``"expressions"`` or ``"molecules"``.
        objective: string -> :class:`~scales_core.tasks.objectives.Outcome`.
        invalid_reason: string -> ``None`` when valid, else why not.
        description: one line for reports.
    """

    name: str
    domain: str
    objective: Callable[[str], Outcome]
    invalid_reason: Callable[[str], str | None]
    description: str = ""

    def is_valid(self, text: str) -> bool:
        """Whether ``text`` passes the task's validity check."""
        return self._reason(text) is None

    def _reason(self, text: str) -> str | None:
        try:
            return self.invalid_reason(text)
        except _SETUP_ERRORS:
            raise  # a missing or damaged data file is no property of the string
        except Exception as error:  # noqa: BLE001 - a batch never raises
            return f"validity check raised {type(error).__name__}: {error}"

    def evaluate(
        self, strings: Iterable[str]
    ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """Validity and objective of a batch; never raises for a string.

        A string whose check or objective raises is invalid, with the error as its
        reason; a missing or damaged data file (``DataNotFoundError``,
        ``ChecksumError``) is raised instead, since it would make every string invalid.

        Args:
            strings: decoded strings.

        Returns:
            ``(values, valid, reasons)``: float64 objective values (NaN where
            ``valid`` is false), a bool array that is true where the string passes
            the validity check *and* the objective is finite, and ``None`` or the
            reason per string.

        Raises:
            TypeError: for a single string (it would be scored character by
                character) or a non-iterable.
        """
        if isinstance(strings, (str, bytes)):
            raise TypeError(
                f"{self.name}.evaluate expects a list of strings, got the single "
                f"string {strings[:40]!r}; use evaluate([s]) or the task itself: "
                "task(s)"
            )
        if not isinstance(strings, Iterable):
            raise TypeError(
                f"{self.name}.evaluate expects a list of strings, got "
                f"{type(strings).__name__}"
            )
        values: list[float] = []
        reasons: list[str | None] = []
        for text in strings:
            reason = self._reason(text)
            value = math.nan
            if reason is None:
                try:
                    value, reason = self.objective(text)
                except _SETUP_ERRORS:
                    raise
                except Exception as error:  # noqa: BLE001 - a batch never raises
                    value, reason = math.nan, f"{type(error).__name__}: {error}"
                if reason is None and not math.isfinite(value):
                    reason = f"objective is {value}"
            values.append(value if reason is None else math.nan)
            reasons.append(reason)
        array = np.asarray(values, dtype=np.float64)
        valid = np.array([r is None for r in reasons], dtype=bool)
        return array, valid, reasons

    def __call__(self, text: str) -> float:
        """Objective value of one string (NaN when invalid)."""
        values, _, _ = self.evaluate([text])
        return float(values[0])


_SMILES = "molecule parses with RDKit"
_FILTERS = "molecule parses and passes the quality filters"
TASKS: dict[str, Task] = {
    "expressions": Task(
        "expressions",
        "expressions",
        expression_objective,
        expression_invalid_reason,
        "-log(1 + MSE) to 1/3 + x + sin(x*x) on 1000 points of [-10, 10]; valid: "
        "parses by the grammar",
    ),
    "logp": Task(
        "logp",
        "molecules",
        penalized_logp,
        smiles_invalid_reason,
        f"penalized logP (ZINC-250k normalization); valid: {_SMILES}",
    ),
    "perindopril_mpo": Task(
        "perindopril_mpo",
        "molecules",
        perindopril_mpo,
        quality_filter_reason,
        f"GuacaMol Perindopril MPO; valid: {_FILTERS}",
    ),
    "ranolazine_mpo": Task(
        "ranolazine_mpo",
        "molecules",
        ranolazine_mpo,
        quality_filter_reason,
        f"GuacaMol Ranolazine MPO; valid: {_FILTERS}",
    ),
    "zaleplon_mpo": Task(
        "zaleplon_mpo",
        "molecules",
        zaleplon_mpo,
        quality_filter_reason,
        f"GuacaMol Zaleplon MPO; valid: {_FILTERS}",
    ),
}


def register_task(task: Task, replace: bool = False) -> Task:
    """Add a task to :data:`TASKS` (e.g. the objective of a user's own dataset).

    Raises:
        ValueError: for a duplicate name (without ``replace``) or a non-Task.
    """
    if not isinstance(task, Task):
        raise ValueError(f"register_task takes a Task, got {type(task).__name__}")
    if task.name in TASKS and not replace:
        raise ValueError(
            f"a task named {task.name!r} is already registered; pass "
            "replace=True to replace it"
        )
    TASKS[task.name] = task
    return task


def unregister_task(name: str) -> Task:
    """Remove a task by name and return it.

    Raises:
        ValueError: on an unknown name.
    """
    get_task(name)
    return TASKS.pop(name)


def get_task(name: str) -> Task:
    """A registered task by name.

    Args:
        name: ``"expressions"``, ``"logp"``, ``"perindopril_mpo"``,
            ``"ranolazine_mpo"`` or ``"zaleplon_mpo"``.

    Returns:
        The task.

    Raises:
        ValueError: on an unknown name (the message lists the known ones).
    """
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; known: {sorted(TASKS)}") from None


def evaluate(
    name: str, strings: Iterable[str]
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Shorthand for ``get_task(name).evaluate(strings)``."""
    return get_task(name).evaluate(strings)
