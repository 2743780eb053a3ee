r"""Wall-clock tables: BO step timings, a score's value and gradient, GPU benchmark rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

__all__ = ["finished_steps", "gpu_timing_table", "step_split", "value_and_grad"]


#: The wall-clock columns of a run's ``step`` records.
_STEP_COLUMNS = ["fit_s", "acq_s", "oracle_s", "score_s", "total_s"]


def finished_steps(steps: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    r"""The step records of the finished runs only.

    Args:
        steps: :func:`~scales_core.results.load_step_times` output.
        runs: :func:`run_table` output.

    Returns:
        The rows of ``steps`` whose (method, seed) run finished.
    """
    done = set(
        runs.loc[runs["complete"], ["method", "seed"]].itertuples(
            index=False, name=None
        )
    )
    return steps[[key in done for key in zip(steps["method"], steps["seed"])]]


def step_split(steps: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    r"""Median wall clock of each part of a BO step, and of a whole run.

    Args:
        steps: :func:`~scales_core.results.load_step_times` output (e.g. of the
            finished runs: :func:`finished_steps`).
        by: The grouping, e.g. ``("method",)`` or ``("device", "method")``.

    Returns:
        Index ``by``; the median ``fit_s``, ``acq_s``, ``oracle_s``, ``score_s`` and
        ``total_s`` per step, and ``run_min (100 steps)``: the median over runs of a
        run's total, in minutes.
    """
    by = list(by)
    split = steps.groupby(by)[_STEP_COLUMNS].median()
    split["run_min (100 steps)"] = (
        steps.groupby([*by, "seed"])["total_s"].sum().groupby(by).median() / 60
    )
    return split


def value_and_grad(score: Callable[[Any], Any], z):
    r"""A score's values at ``z`` and the gradient of their sum.

    Args:
        score: `batch x d` -> `batch`, differentiable.
        z: Latents, shape `batch x d` (not modified).

    Returns:
        ``(values, gradient)``: shapes `batch` and `batch x d`, detached.
    """
    import torch

    x = z.clone().requires_grad_()
    v = score(x)
    (g,) = torch.autograd.grad(v.sum(), x)
    return v.detach(), g


def gpu_timing_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    r"""The benchmark rows of a GPU check (``scripts/gpu_check.sh``) as a table.

    Args:
        rows: The check's ``rows`` (or ``rows_eager``).

    Returns:
        Columns checkpoint, B, positions (``"all"`` or the count as text),
        decoder_dtype (``"float32"`` where not recorded) and the seconds per call;
        the first row of each (checkpoint, B, positions, decoder_dtype).
    """
    df = pd.DataFrame(rows)
    for col in ("positions", "decoder_dtype"):
        if col not in df:
            df[col] = None
    df["positions"] = [str(int(v)) if pd.notna(v) else "all" for v in df["positions"]]
    df["decoder_dtype"] = df["decoder_dtype"].fillna("float32")
    keep = [
        "checkpoint",
        "B",
        "positions",
        "decoder_dtype",
        "score_s",
        "score_grad_exact_s",
        "score_grad_cpa_s",
        "score_fd_s",
        "decoder_forward_B(d+1)_s",
    ]
    return df[keep].drop_duplicates(
        ["checkpoint", "B", "positions", "decoder_dtype"], keep="first"
    )
