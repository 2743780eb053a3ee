r"""Tables of BO runs: every oracle call of a sweep folder, and per-method summaries.

The metrics follow the paper's App. B tables: per run, over all its oracle calls,
the fraction of valid solutions, the mean ScaLES value, and the best and the mean
of the ten best objective values among valid solutions; then mean and standard
deviation over seeds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .methods import PAPER_METHODS
from .records import RunData, read_run

__all__ = [
    "METRICS",
    "iter_runs",
    "load_step_times",
    "load_sweep",
    "summarize_sweep",
    "trajectories",
    "trajectory_bands",
]

logger = logging.getLogger(__name__)

METRICS = ("validity", "mean_scales", "top1", "top10")
COLUMNS = ("task", "method", "seed", "step", "index", "string", "objective", "valid")
COLUMNS += ("scales", "complete", "path")
STEP_COLUMNS = ("step", "n_train", "resumed", "fit_s", "acq_s", "oracle_s", "score_s")


def iter_runs(out: str | Path) -> Iterator[tuple[Path, RunData]]:
    r"""``(path, records)`` of every run file under a sweep folder, in path order.

    Files that cannot be parsed are skipped with a warning.
    """
    paths = [*Path(out).rglob("*.jsonl"), *Path(out).rglob("*.jsonl.gz")]
    for path in sorted(paths):
        try:
            data = read_run(path)
        except ValueError as error:
            logger.warning("skipping %s: %s", path, error)
            continue
        yield path, data


def load_sweep(out: str | Path) -> pd.DataFrame:
    r"""All oracle calls under a sweep folder, one row each.

    Returns:
        Columns task, method, seed, step, index, string, objective, valid, scales,
        complete (the run has its ``done`` record), path.
    """
    rows = []
    for path, data in iter_runs(out):
        h = data.header
        for r in data.oracle:
            head = (h["task"], h["method"], h["seed"])
            fields = (r["step"], r["index"], r["string"], r["objective"], r["valid"])
            tail = (r["scales"], data.done is not None, str(path))
            rows.append(head + fields + tail)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"objective": float, "scales": float})


def load_step_times(out: str | Path) -> pd.DataFrame:
    r"""Wall-clock split of every completed BO step under a sweep folder.

    Returns:
        Columns task, method, seed, step, n_train, resumed, fit_s (GP fit), acq_s
        (acquisition optimization, all ``q`` points), oracle_s (decode and
        objective), score_s (ScaLES value written to the record), total_s.
    """
    rows = []
    for _, data in iter_runs(out):
        h = data.header
        for r in data.steps:
            row = {k: r.get(k) for k in STEP_COLUMNS}
            rows.append({"task": h["task"], "method": h["method"], "seed": h["seed"], **row})
    frame = pd.DataFrame(rows, columns=["task", "method", "seed", *STEP_COLUMNS])
    parts = ["fit_s", "acq_s", "oracle_s", "score_s"]
    frame[parts] = frame[parts].astype(float)
    frame["total_s"] = frame[parts].sum(axis=1)
    return frame


def trajectories(frame: pd.DataFrame | str | Path, k: int = 10) -> pd.DataFrame:
    r"""Cumulative best and top-``k`` mean among valid solutions, per run and step.

    Only the solutions the BO loop proposed count (not the initial set), as in the
    paper's Figure 2. ``top_k`` is NaN until the run has ``k`` valid solutions.

    Args:
        frame: The output of :func:`load_sweep`, or a sweep folder.
        k: Size of the top-k mean.

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
            valid.sort(reverse=True)
            best = valid[0] if valid else math.nan
            top = sum(valid[:k]) / k if len(valid) >= k else math.nan
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


def _per_run(group: pd.DataFrame, k: int) -> pd.Series:
    valid = group.loc[group["valid"].astype(bool), "objective"].sort_values(
        ascending=False
    )
    return pd.Series(
        {
            "validity": group["valid"].astype(float).mean(),
            "mean_scales": group["scales"].mean(),
            "top1": valid.iloc[0] if len(valid) else math.nan,
            "top10": valid.iloc[:k].mean() if len(valid) else math.nan,
            "n_calls": len(group),
        }
    )


def summarize_sweep(
    frame: pd.DataFrame | str | Path, k: int = 10, complete_only: bool = False
) -> pd.DataFrame:
    r"""Per task and method: validity, mean ScaLES, top-1 and top-``k`` among valid.

    Each metric is computed per run over all its oracle calls (as in the paper's
    App. B tables), then averaged over seeds; ``*_sd`` is the sample standard
    deviation over seeds (``ddof=1``; NaN for one seed) and the string columns read
    ``mean (sd)``.

    Args:
        frame: The output of :func:`load_sweep`, or a sweep folder.
        k: Size of the top-k mean.
        complete_only: Drop runs that have not finished (no ``done`` record);
            their metrics cover fewer oracle calls than the others'.

    Returns:
        One row per (task, method), the paper's methods first in the paper's order.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = load_sweep(frame)
    if complete_only and not frame.empty:
        partial = frame.loc[~frame["complete"], ["task", "method", "seed"]]
        if len(partial):
            logger.info("leaving out %d unfinished runs", len(partial.drop_duplicates()))
        frame = frame[frame["complete"]]
    if frame.empty:
        return pd.DataFrame(columns=["task", "method", "n_seeds"])
    runs = (
        frame.groupby(["task", "method", "seed"])[["valid", "objective", "scales"]]
        .apply(_per_run, k=k)
        .reset_index()
    )
    stats = runs.groupby(["task", "method"])[list(METRICS)].agg(["mean", "std"])
    stats.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in stats.columns]
    stats["n_seeds"] = runs.groupby(["task", "method"])["seed"].nunique()
    stats["n_calls"] = runs.groupby(["task", "method"])["n_calls"].mean()
    for m in METRICS:
        stats[m] = [
            f"{a:.2f} ({b:.2f})" for a, b in zip(stats[f"{m}_mean"], stats[f"{m}_sd"])
        ]
    stats = stats.reset_index()
    order = {name: i for i, name in enumerate(PAPER_METHODS)}
    stats["_order"] = stats["method"].map(lambda m: order.get(m, len(order)))
    return (
        stats.sort_values(["task", "_order", "method"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )
