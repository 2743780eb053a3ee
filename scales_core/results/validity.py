r"""Validity in the BO chapters.

Of the start points, its ceiling, paired by seed, and why proposals were invalid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .paper_tables import PAPER_BO_TABLES
from .summary import means_on_seeds, per_run_metrics

__all__ = [
    "most_common_share",
    "paired_validity",
    "reason_group",
    "reason_groups",
    "row_mean",
    "start_validity",
    "task_values",
    "validity_ceiling",
]


def start_validity(
    task: str, seeds: Iterable[int], checkpoint: str | None = None
) -> pd.Series:
    r"""Share of each seed's initial latents that decode to a valid item.

    Builds each seed's BO problem (loads the VAE and the initial set).

    Args:
        task: The BO task, e.g. ``"logp"``.
        seeds: The seeds (one initial set each).
        checkpoint: The VAE (``None``: the task's default).

    Returns:
        seed -> share.
    """
    from ..bo import make_problem

    return pd.Series(
        {
            seed: make_problem(task, seed=seed, checkpoint=checkpoint)
            .decoded_validity()
            .double()
            .mean()
            .item()
            for seed in seeds
        }
    )


def validity_ceiling(
    frame: pd.DataFrame,
    task: str,
    methods: Iterable[str],
    n_seeds: int,
    k: int = 10,
    checkpoint: str | None = None,
    baseline: str = "ga",
) -> dict[str, float] | None:
    r"""How valid the initial latents are, beside the valid share of each method's proposals.

    Every method is averaged over the same seeds, the baseline's first ``n_seeds``
    finished seeds; a method that has not run them all gets NaN.

    Args:
        frame: The task's :func:`~scales_core.results.load_sweep` output.
        task: The BO task.
        methods: The methods reported.
        n_seeds: The most seeds used.
        k: Size of the top-k mean (of :func:`~scales_core.results.per_run_metrics`).
        checkpoint: The VAE of the runs (``None``: the task's default).
        baseline: The method whose seeds are used.

    Returns:
        ``seeds``, ``initial latents decode valid`` and ``<method> proposals`` for
        each method; ``None`` where the baseline has no finished run.
    """
    per_run = per_run_metrics(frame, k=k)["validity"]
    seeds = (
        sorted(per_run.loc[baseline].index)[:n_seeds]
        if baseline in per_run.index
        else []
    )
    if not seeds:
        return None
    row = {
        "seeds": len(seeds),
        "initial latents decode valid": float(
            start_validity(task, seeds, checkpoint).mean()
        ),
    }
    row |= {
        f"{m} proposals": v for m, v in means_on_seeds(per_run, methods, seeds).items()
    }
    return row


def paired_validity(
    frame: pd.DataFrame, task: str, method: str, baseline: str = "ga", k: int = 10
) -> dict[str, Any] | None:
    r"""A method's valid share against the baseline's, paired by seed, beside the paper's.

    The seeds are those both finished.

    Args:
        frame: Runs of several tasks (:func:`~scales_core.results.load_sweep`).
        task: The task compared (a key of ``PAPER_BO_TABLES``).
        method: The method.
        baseline: The method compared against.
        k: Size of the top-k mean.

    Returns:
        ``paired seeds``, ``validity GA``, ``validity <method>``, ``mean difference``,
        ``higher on`` (``"h/n"``), ``paper GA`` and ``paper <method>``; ``None``
        without a shared finished seed.
    """
    m = per_run_metrics(frame[frame["task"] == task], k=k)
    if method not in m.index.get_level_values(
        0
    ) or baseline not in m.index.get_level_values(0):
        return None
    a, b = m.loc[method], m.loc[baseline]
    seeds = sorted(set(a.index) & set(b.index))
    if not seeds:
        return None
    d = a.loc[seeds, "validity"] - b.loc[seeds, "validity"]
    return {
        "paired seeds": len(seeds),
        "validity GA": b.loc[seeds, "validity"].mean(),
        f"validity {method}": a.loc[seeds, "validity"].mean(),
        "mean difference": d.mean(),
        "higher on": f"{int((d > 0).sum())}/{len(seeds)}",
        "paper GA": PAPER_BO_TABLES[task][baseline][0][0],
        f"paper {method}": PAPER_BO_TABLES[task][method][0][0],
    }


def reason_group(reason: str | None) -> str:
    r"""The group of an oracle's reason for refusing a molecule.

    Args:
        reason: The oracle record's ``reason`` (``None`` or NaN: valid).

    Returns:
        ``"valid"``, ``"structural alert"``, ``"property out of range"`` or
        ``"other (parse, empty, ...)"``.
    """
    if reason is None or reason != reason:
        return "valid"
    if reason.startswith("structural alert"):
        return "structural alert"
    if "outside" in reason:
        return "property out of range"
    return "other (parse, empty, ...)"


def reason_groups(frame: pd.DataFrame, runs: Iterable[Any]) -> list[str]:
    r"""The :func:`reason_group` of each row of ``frame``, read from the finished runs' records.

    Args:
        frame: Rows with ``task``, ``method``, ``seed``, ``step`` and ``index``.
        runs: The runs' :class:`~scales_core.bo.run_record.RunData` (unfinished ones are
            skipped; their rows count as valid).

    Returns:
        One group per row of ``frame``, in order.
    """
    reasons = {}
    for d in runs:
        if d.done is not None:
            for r in d.oracle:
                reasons[
                    (
                        d.header["task"],
                        d.header["method"],
                        d.header["seed"],
                        r["step"],
                        r["index"],
                    )
                ] = r["reason"]
    keys = zip(
        frame["task"], frame["method"], frame["seed"], frame["step"], frame["index"]
    )
    return [reason_group(reasons.get(key)) for key in keys]


def task_values(
    tables: Mapping[str, pd.DataFrame], tasks: Iterable[str], row: str, column: str
) -> dict[str, Any]:
    r"""One cell of each task's table, for the tasks whose table has the row.

    Args:
        tables: Task -> table.
        tasks: The tasks, in order.
        row: The row label (e.g. a method).
        column: The column.

    Returns:
        Task -> value, in the order of ``tasks``.
    """
    return {
        t: tables[t].loc[row, column]
        for t in tasks
        if t in tables and row in tables[t].index
    }


def row_mean(table: pd.DataFrame, row: str, columns: Iterable[str]) -> float:
    r"""The mean of one row over those of ``columns`` that the table has, NaNs ignored.

    Args:
        table: A table.
        row: The row label.
        columns: The columns wanted.

    Returns:
        The mean, or NaN where the table lacks the row.
    """
    if row not in table.index:
        return float("nan")
    return np.nanmean(table.loc[row, [c for c in columns if c in table.columns]])


def most_common_share(words: pd.Series) -> str:
    r"""The most frequent word and its share, e.g. ``"()[] (40%)"``; the empty word as ``(empty)``.

    Args:
        words: The decoded words (not empty).

    Returns:
        ``"<word> (<share>%)"``.
    """
    counts = words.value_counts()
    return f"{counts.index[0] or '(empty)'} ({counts.iloc[0] / len(words):.0%})"
