r"""Methods against a baseline on the seeds both finished.

Paired verdicts, the releases' pipelines, protocol variants, and the best member of
each method family.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from ..bo.methods import figure_families
from .summary import METRICS, per_run_metrics, summarize_sweep

__all__ = [
    "best_of_families",
    "compare_variants",
    "paired_p_value",
    "paired_verdict",
    "pair_summary",
    "pipeline_seeds",
    "pipeline_table",
    "validity_ordering",
]


def paired_verdict(
    frame: pd.DataFrame,
    candidates: dict[str, list[str]],
    baseline: str = "ga",
    k: int = 10,
) -> tuple[pd.DataFrame, dict[str, tuple[str, pd.DataFrame]]]:
    r"""Each candidate family's best member (highest mean top-``k``) against a baseline.

    Paired: on the seeds both finished (the same initial sets).

    Args:
        frame: The output of :func:`load_sweep`.
        candidates: Family name -> its methods (those without finished runs are
            ignored).
        baseline: The method compared against.
        k: Size of the top-k mean.

    Returns:
        ``(verdict, pairs)``: one verdict row per family with a finished pair
        (best member, paired seeds, validity and top-k of both, the mean paired
        top-k difference and on how many seeds the member is higher), and
        ``family -> (member, per-seed metrics of baseline and member)``.
    """
    runs = per_run_metrics(frame, k)
    if runs.empty:
        return pd.DataFrame(), {}
    wide = runs.unstack("method").swaplevel(axis=1)
    ran = set(runs.index.get_level_values("method"))
    rows, pairs = {}, {}
    for name, members in candidates.items():
        members = [m for m in members if m in ran]
        if baseline not in ran or not members:
            continue
        best = max(members, key=lambda m: runs.loc[m, "top10"].mean())
        both = wide[[baseline, best]].dropna(
            subset=[(baseline, "validity"), (best, "validity")]
        )
        if both.empty:
            continue
        diff = both[best] - both[baseline]
        pairs[name] = (best, both)
        rows[name] = {
            "best lambda": best,
            "paired seeds": len(both),
            f"validity {baseline.upper()}": both[baseline]["validity"].mean(),
            "validity": both[best]["validity"].mean(),
            "validity higher on": f"{int((diff['validity'] > 0).sum())} of {len(diff)}",
            f"top-{k} {baseline.upper()}": both[baseline]["top10"].mean(),
            f"top-{k}": both[best]["top10"].mean(),
            f"top-{k} mean difference": diff["top10"].mean(),
            f"top-{k} higher on": f"{int((diff['top10'] > 0).sum())} of {len(diff)}",
        }
    return pd.DataFrame(rows).T, pairs


def best_of_families(
    bands: pd.DataFrame, families: dict[str, tuple[str, ...]] | None = None
) -> dict[str, str]:
    r"""Family -> its member with the best final top-k mean in :func:`trajectory_bands`.

    The paper's Figure 2 shows one line per family; families without runs are left out.

    ``families`` defaults to the method families' labels and paper members
    (:func:`~scales_core.bo.methods.figure_families`).
    """
    families = figure_families() if families is None else families
    last = bands.sort_values("step").groupby("method").tail(1).set_index("method")
    shown = {}
    for family, members in families.items():
        members = [
            m
            for m in members
            if m in last.index and pd.notna(last.loc[m, "top_k_mean"])
        ]
        if members:
            shown[family] = max(members, key=lambda m: last.loc[m, "top_k_mean"])
    return shown


def compare_variants(frames: dict[str, pd.DataFrame], k: int = 10) -> pd.DataFrame:
    r"""Protocol variants side by side on the seeds that all of them finished.

    Args:
        frames: Variant label -> :func:`load_sweep` output (e.g. the chapter's runs
            and the same methods with one setting changed).
        k: Size of the top-k mean.

    Returns:
        Index (variant, method); columns ``seeds`` and the :data:`METRICS`
        (means over the shared seeds). Empty when
        the variants share no finished seed.
    """
    done = {label: f[f["complete"]] for label, f in frames.items()}
    shared = (
        set.intersection(*(set(f["seed"]) for f in done.values())) if done else set()
    )
    rows = {}
    for label, f in done.items():
        table = summarize_sweep(f[f["seed"].isin(shared)], k=k).set_index("method")
        for method in table.index:
            rows[(label, method)] = {
                "seeds": int(table.loc[method, "n_seeds"]),
                **{m: table.loc[method, f"{m}_mean"] for m in METRICS},
            }
    out = pd.DataFrame.from_dict(rows, orient="index")
    if len(out):
        out.index = pd.MultiIndex.from_tuples(out.index, names=["variant", "method"])
    return out


def paired_p_value(diff: pd.Series | np.ndarray) -> float:
    r"""Two-sided Wilcoxon signed-rank p-value of paired differences (exact where scipy can).

    Seeds with a zero difference are dropped (``zero_method="wilcox"``).

    Args:
        diff: Per-seed differences, shape ``(n_seeds,)``.

    Returns:
        The p-value; ``nan`` where no difference is nonzero. Five seeds all on one
        side give 2 / 2**5 = 0.0625, ten give 0.002.
    """
    diff = np.asarray(diff, dtype=float)
    diff = diff[diff != 0]
    if not len(diff):
        return float("nan")
    return float(wilcoxon(diff, alternative="two-sided").pvalue)


def pipeline_seeds(
    frames: dict[str, pd.DataFrame],
    methods: Iterable[str],
    baseline: str = "ga",
    k: int = 10,
) -> pd.DataFrame:
    r"""Each pipeline's methods against its own baseline, one row per paired seed.

    Args:
        frames: Pipeline label -> :func:`load_sweep` output holding the baseline's
            and the methods' runs of that pipeline.
        methods: The methods to report (the baseline is reported too, against itself).
        baseline: The method every other is paired with.
        k: Size of the top-k mean.

    Returns:
        Columns ``pipeline``, ``method``, ``seed`` (finished by both the method and
        the baseline), ``validity``, ``top1``, ``top10`` and the differences
        ``validity - GA``, ``top10 - GA`` to the baseline's run on that seed;
        pipelines, then methods (baseline first), in the given order.
    """
    gap = f" - {baseline.upper()}"
    parts = []
    for label, frame in frames.items():
        runs = per_run_metrics(frame, k)
        ran = set(runs.index.get_level_values("method")) if len(runs) else set()
        if baseline not in ran:
            continue
        base = runs.loc[baseline]
        for method in [baseline, *[m for m in methods if m != baseline]]:
            if method not in ran:
                continue
            mine = runs.loc[method]
            seeds = sorted(set(mine.index) & set(base.index))
            if not seeds:
                continue
            part = mine.loc[seeds, ["validity", "top1", "top10"]].astype(float)
            for metric in ("validity", "top10"):
                part[metric + gap] = part[metric] - base.loc[seeds, metric]
            parts.append(
                part.rename_axis("seed")
                .reset_index()
                .assign(pipeline=label, method=method)
            )
    columns = ["pipeline", "method", "seed", "validity", "top1", "top10"]
    columns += [f"validity{gap}", f"top10{gap}"]
    return pd.concat(parts)[columns] if parts else pd.DataFrame(columns=columns)


def pipeline_table(
    frames: dict[str, pd.DataFrame],
    methods: Iterable[str],
    baseline: str = "ga",
    k: int = 10,
) -> pd.DataFrame:
    r"""Each pipeline's methods against its own baseline, paired by seed.

    The arguments are :func:`pipeline_seeds`'s; :func:`pair_summary` aggregates
    its rows.

    Returns:
        :func:`pair_summary` of :func:`pipeline_seeds`.
    """
    return pair_summary(pipeline_seeds(frames, methods, baseline, k), baseline)


def pair_summary(seeds: pd.DataFrame, baseline: str = "ga") -> pd.DataFrame:
    r"""Aggregate paired rows per (pipeline, method).

    Rows of several tasks pooled in ``seeds`` (one per task and seed) are
    aggregated as one set of pairs.

    Args:
        seeds: :func:`pipeline_seeds` output, or several concatenated.
        baseline: The method the differences were taken to.

    Returns:
        Index (pipeline, method); columns ``seeds`` (finished pairs), ``validity``,
        ``top1``, ``top10`` (means over those pairs), the mean paired differences
        ``validity - GA`` and ``top10 - GA``, and on how many pairs each is higher
        (``validity higher``, ``top10 higher``, as ``"h of n"``) with the paired
        test of the validity differences (``validity p``, :func:`paired_p_value`;
        ``nan`` for the baseline's own row). A method without a finished pair is
        left out.
    """
    gap = f" - {baseline.upper()}"
    rows = {}
    for (label, method), got in seeds.groupby(["pipeline", "method"], sort=False):
        diff = got[[f"validity{gap}", f"top10{gap}"]]
        n = len(got)
        rows[(label, method)] = {
            "seeds": n,
            **{m: float(got[m].mean()) for m in ("validity", "top1", "top10")},
            f"validity{gap}": float(diff[f"validity{gap}"].mean()),
            f"top10{gap}": float(diff[f"top10{gap}"].mean()),
            "validity higher": f"{int((diff[f'validity{gap}'] > 0).sum())} of {n}",
            "validity p": paired_p_value(diff[f"validity{gap}"]),
            "top10 higher": f"{int((diff[f'top10{gap}'] > 0).sum())} of {n}",
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    if len(out):
        out.index = pd.MultiIndex.from_tuples(out.index, names=["pipeline", "method"])
    return out


def validity_ordering(
    table: pd.DataFrame, pipeline: str, methods: list[str], baseline: str = "ga"
) -> dict | None:
    r"""Whether validity rises along ``[baseline, *methods]`` in one pipeline.

    The paper's claim for a penalty family (e.g. logP: GA 0.19 < ScaLES 0.28 <
    0.35 < 0.47 at lambda 0.5, 0.8, 2) read off :func:`pipeline_table`.

    Args:
        table: The output of :func:`pipeline_table`.
        pipeline: A pipeline label of ``table``.
        methods: The methods in the claimed order of rising validity.
        baseline: The baseline, first in the order.

    Returns:
        ``None`` where the pipeline lacks one of the methods; else ``values`` (the
        validities in order), ``rising`` (strictly increasing), ``above`` (every
        method's mean paired difference to the baseline is positive) and
        ``seeds`` (the fewest paired seeds of any method).
    """
    if pipeline not in table.index.get_level_values(0):
        return None
    got = table.loc[pipeline]
    order = [baseline, *methods]
    if not all(m in got.index for m in order):
        return None
    values = [float(got.loc[m, "validity"]) for m in order]
    column = f"validity - {baseline.upper()}"
    return {
        "values": values,
        "rising": all(a < b for a, b in zip(values, values[1:])),
        "above": all(float(got.loc[m, column]) > 0 for m in methods),
        "seeds": int(got.loc[order, "seeds"].min()),
    }
