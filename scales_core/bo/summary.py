r"""Tables of BO runs: every oracle call of a sweep folder, and per-method summaries.

The metrics follow the paper's App. B tables: per run, over all its oracle calls,
the fraction of valid solutions, the mean ScaLES value, and the best and the mean
of the ten best objective values among valid solutions; then mean and standard
deviation over seeds.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from .methods import PAPER_METHODS
from .records import read_run

__all__ = ["METRICS", "load_sweep", "summarize_sweep"]

logger = logging.getLogger(__name__)

METRICS = ("validity", "mean_scales", "top1", "top10")
COLUMNS = ("task", "method", "seed", "step", "index", "string", "objective", "valid")
COLUMNS += ("scales", "complete", "path")


def load_sweep(out: str | Path) -> pd.DataFrame:
    r"""All oracle calls under a sweep folder, one row each.

    Returns:
        Columns task, method, seed, step, index, string, objective, valid, scales,
        complete (the run has its ``done`` record), path.
    """
    rows = []
    for path in sorted(Path(out).rglob("*.jsonl")):
        try:
            data = read_run(path)
        except ValueError as error:
            logger.warning("skipping %s: %s", path, error)
            continue
        h = data.header
        for r in data.oracle:
            head = (h["task"], h["method"], h["seed"])
            fields = (r["step"], r["index"], r["string"], r["objective"], r["valid"])
            tail = (r["scales"], data.done is not None, str(path))
            rows.append(head + fields + tail)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"objective": float, "scales": float})


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


def summarize_sweep(frame: pd.DataFrame | str | Path, k: int = 10) -> pd.DataFrame:
    r"""Per task and method: validity, mean ScaLES, top-1 and top-``k`` among valid.

    Each metric is computed per run over all its oracle calls (as in the paper's
    App. B tables), then averaged over seeds; ``*_sd`` is the sample standard
    deviation over seeds (``ddof=1``; NaN for one seed) and the string columns read
    ``mean (sd)``.

    Args:
        frame: The output of :func:`load_sweep`, or a sweep folder.
        k: Size of the top-k mean.

    Returns:
        One row per (task, method), the paper's methods first in the paper's order.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = load_sweep(frame)
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
