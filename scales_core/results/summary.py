r"""Per-run and per-method metrics of BO runs, as in the paper's App. B tables, and trajectories.

The metrics follow the paper's App. B tables as the published analysis computes
them (``les/analysis/opt_results.py``, ``_get_sol_stats`` and ``analyze_results``):
per run, over all its oracle calls, the fraction of valid solutions, the mean
ScaLES value, and the best and the mean of the ten best *distinct* objective values
among valid solutions (a solution proposed again, or another with the same value,
counts once; fewer than ten distinct values give NaN); then the mean over seeds
with its standard error, the number in brackets in the paper's tables.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..bo.methods import PAPER_METHODS
from .paper_tables import format_mean_se
from .runs import load_sweep

__all__ = [
    "METRICS",
    "compare_with_paper",
    "means_on_seeds",
    "per_run_metrics",
    "summarize_sweep",
    "top_values",
    "trajectories",
    "trajectory_bands",
]

logger = logging.getLogger(__name__)

METRICS = ("validity", "mean_scales", "top1", "top10")


def top_values(
    objectives: Iterable[float], k: int = 10, distinct: bool = True
) -> tuple[float, float]:
    r"""The best value and the mean of the ``k`` best, as in the paper's tables.

    Args:
        objectives: Objective values of the valid solutions of one run.
        k: Size of the top-k mean.
        distinct: Count each value once (the published analysis drops duplicate
            values before ranking: ``les/analysis/opt_results.py``,
            ``_get_sol_stats``); ``False`` counts a solution proposed twice twice.

    Returns:
        ``(best, top_k)``; ``best`` is NaN without values, ``top_k`` is NaN with
        fewer than ``k`` (distinct) values.
    """
    values = np.asarray(list(objectives), dtype=float)
    if distinct:
        values = np.unique(values)
    values = np.sort(values)[::-1]
    best = float(values[0]) if len(values) else math.nan
    return best, float(values[:k].mean()) if len(values) >= k else math.nan


def trajectories(
    frame: pd.DataFrame | str | Path, k: int = 10, distinct: bool = True
) -> pd.DataFrame:
    r"""Cumulative best and top-``k`` mean among valid solutions, per run and step.

    Only the solutions the BO loop proposed count (not the initial set), as in the
    paper's Figure 2. ``top_k`` is NaN until the run has ``k`` valid solutions
    (distinct values, see :func:`top_values`).

    Args:
        frame: The output of :func:`load_sweep`, or a sweep folder.
        k: Size of the top-k mean.
        distinct: See :func:`top_values`.

    Returns:
        Columns task, method, seed, step, best, top_k, n_valid; one row per step
        that has all its oracle calls recorded.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = load_sweep(frame)
    rows = []
    for (task, method, seed), run in frame.groupby(["task", "method", "seed"]):
        valid: list[float] = []
        for step, calls in run.sort_values(["step", "index"]).groupby("step"):
            valid += calls.loc[calls["valid"].astype(bool), "objective"].tolist()
            best, top = top_values(valid, k, distinct)
            rows.append((task, method, seed, step, best, top, len(valid)))
    columns = ["task", "method", "seed", "step", "best", "top_k", "n_valid"]
    return pd.DataFrame(rows, columns=columns)


def trajectory_bands(traj: pd.DataFrame, complete: bool = True) -> pd.DataFrame:
    r"""Mean and standard deviation over seeds of :func:`trajectories`.

    Args:
        traj: The output of :func:`trajectories`.
        complete: Keep only steps that every seed of the method has reached.

    Returns:
        Columns task, method, step, best_mean, best_sd, top_k_mean, top_k_sd,
        n_seeds (``sd`` is the sample standard deviation, NaN for one seed).
    """
    keys = ["task", "method", "step"]
    g = traj.groupby(keys)
    out = g[["best", "top_k"]].agg(["mean", "std"])
    out.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in out.columns]
    out["n_seeds"] = g["seed"].nunique()
    out = out.reset_index()
    if complete:
        seeds = traj.groupby(["task", "method"])["seed"].nunique().rename("_all")
        out = out.join(seeds, on=["task", "method"])
        out = out[out["n_seeds"] == out["_all"]].drop(columns="_all")
    return out.reset_index(drop=True)


def _per_run(group: pd.DataFrame, k: int, distinct: bool) -> pd.Series:
    best, top = top_values(
        group.loc[group["valid"].astype(bool), "objective"], k, distinct
    )
    return pd.Series(
        {
            "validity": group["valid"].astype(float).mean(),
            "mean_scales": group["scales"].mean(),
            "top1": best,
            "top10": top,
            "n_calls": len(group),
        }
    )


def _run_metrics(
    frame: pd.DataFrame, keys: list[str], k: int, distinct: bool = True
) -> pd.DataFrame:
    """:func:`_per_run` of every run, indexed by ``keys``."""
    return frame.groupby(keys)[["valid", "objective", "scales"]].apply(
        _per_run, k=k, distinct=distinct
    )


def summarize_sweep(
    frame: pd.DataFrame | str | Path,
    k: int = 10,
    complete_only: bool = False,
    distinct: bool = True,
) -> pd.DataFrame:
    r"""Per task and method: validity, mean ScaLES, top-1 and top-``k`` among valid.

    Each metric is computed per run over all its oracle calls (as in the paper's
    App. B tables), then averaged over seeds (runs whose metric is NaN, e.g. with
    fewer than ``k`` distinct valid values, are left out of that metric's mean, as
    in the published analysis). ``*_sd`` is the sample standard deviation over
    seeds (``ddof=1``; NaN for one seed), ``*_se`` its standard error
    ``sd / sqrt(n)``, and the string columns read ``mean (se)``, like the paper's
    tables (``les/analysis/opt_results.py``, ``analyze_results``: ``agg([mean, sem])``).

    Args:
        frame: The output of :func:`load_sweep`, or a sweep folder.
        k: Size of the top-k mean.
        complete_only: Drop runs that have not finished (no ``done`` record);
            their metrics cover fewer oracle calls than the others'.
        distinct: Top-k over distinct values (see :func:`top_values`).

    Returns:
        One row per (task, method), the paper's methods first in the paper's order.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = load_sweep(frame)
    if complete_only and not frame.empty:
        partial = frame.loc[~frame["complete"], ["task", "method", "seed"]]
        if len(partial):
            logger.info(
                "leaving out %d unfinished runs", len(partial.drop_duplicates())
            )
        frame = frame[frame["complete"]]
    if frame.empty:
        return pd.DataFrame(columns=["task", "method", "n_seeds"])
    runs = _run_metrics(frame, ["task", "method", "seed"], k, distinct).reset_index()
    stats = runs.groupby(["task", "method"])[list(METRICS)].agg(
        ["mean", "std", "count"]
    )
    for m in METRICS:
        stats[(m, "se")] = stats[(m, "std")] / np.sqrt(stats[(m, "count")])
    stats = stats.drop(columns=[(m, "count") for m in METRICS])
    stats.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in stats.columns]
    stats["n_seeds"] = runs.groupby(["task", "method"])["seed"].nunique()
    stats["n_calls"] = runs.groupby(["task", "method"])["n_calls"].mean()
    for m in METRICS:
        stats[m] = [
            format_mean_se(a, b) for a, b in zip(stats[f"{m}_mean"], stats[f"{m}_se"])
        ]
    stats = stats.reset_index()
    order = {name: i for i, name in enumerate(PAPER_METHODS)}
    stats["_order"] = stats["method"].map(lambda m: order.get(m, len(order)))
    return (
        stats.sort_values(["task", "_order", "method"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def per_run_metrics(
    frame: pd.DataFrame, k: int = 10, distinct: bool = True
) -> pd.DataFrame:
    r"""Validity, mean ScaLES, top-1 and top-``k`` of each finished run.

    Args:
        frame: The output of :func:`load_sweep`.
        k: Size of the top-k mean.
        distinct: Top-k over distinct values (see :func:`top_values`).

    Returns:
        Index (method, seed); columns as :data:`METRICS` and ``n_calls``.
    """
    return _run_metrics(frame[frame["complete"]], ["method", "seed"], k, distinct)


def means_on_seeds(
    per_run: pd.Series, methods: Iterable[str], seeds: Iterable[int]
) -> pd.Series:
    r"""Each method's mean of a per-run metric over exactly ``seeds``.

    A paired comparison needs every method on the same seeds: a method that
    lacks one of them gets NaN, not a mean over fewer seeds.

    Args:
        per_run: One column of :func:`per_run_metrics` (index (method, seed)).
        methods: The methods to report.
        seeds: The seeds every mean is taken over.

    Returns:
        One value per method, in the order of ``methods``.
    """
    seeds = list(seeds)
    ran = set(per_run.index.get_level_values(0))
    out = {}
    for m in methods:
        have = bool(seeds) and m in ran and set(seeds) <= set(per_run.loc[m].index)
        out[m] = float(per_run.loc[m].loc[seeds].mean()) if have else float("nan")
    return pd.Series(out, dtype=float)


def compare_with_paper(frame: pd.DataFrame, task: str, k: int = 10) -> pd.DataFrame:
    r"""App. B side by side: our finished runs (mean (se), seeds) and the paper's.

    Args:
        frame: The output of :func:`load_sweep` for ``task``.
        task: ``"expressions"``, ``"logp"`` or a GuacaMol task name (the keys of
            ``PAPER_BO_TABLES``).
        k: Size of the top-k mean.

    Returns:
        One row per method we ran (paper order); column groups ``this
        implementation`` (``seeds`` and the :data:`METRICS`) and ``paper (10 seeds)``.
    """
    from .paper_tables import paper_table

    ours = summarize_sweep(frame, k=k, complete_only=True).set_index("method")
    paper = paper_table(task).set_index("method")
    metrics = list(METRICS)
    return pd.concat(
        {
            "this implementation": ours[["n_seeds", *metrics]].rename(
                columns={"n_seeds": "seeds"}
            ),
            "paper (10 seeds)": paper.reindex(ours.index)[metrics],
        },
        axis=1,
    )
