r"""One component at a time: which part of a pipeline carries its effect (chapter 5).

An ablation arm is the preset's run with one component switched back to this
package's default. Each arm is paired with the preset's own runs on the seeds both
finished, and the preset is paired with the default pipeline on the same seeds, so
an arm's change reads against the gain it could undo.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .runs import load_sweep
from .summary import per_run_metrics

__all__ = ["ablation_table", "carrying_components", "load_arms"]


def load_arms(root: str | Path, task: str) -> dict[str, pd.DataFrame]:
    r"""The runs of every ablation arm under ``root`` (``<root>/<arm>/<task>/``).

    The layout ``scripts/run_ablation_sweep.sh`` writes; the arm is the folder's name.

    Args:
        root: The ablation folder (e.g. ``results/bo/logp_ablation_paper_2024``).
        task: The task's folder inside each arm.

    Returns:
        Arm -> :func:`~scales_core.results.load_sweep` output, by arm name; empty
        where ``root`` holds no arm.
    """
    return {
        d.name: load_sweep(d / task)
        for d in sorted(Path(root).glob("*"))
        if (d / task).is_dir()
    }


def _paired(
    mine: pd.DataFrame, reference: pd.DataFrame, seeds: list[int]
) -> pd.DataFrame:
    return mine.loc[seeds] - reference.loc[seeds]


def ablation_table(
    preset: pd.DataFrame,
    arms: Mapping[str, pd.DataFrame],
    default: pd.DataFrame,
    method: str,
    k: int = 10,
) -> pd.DataFrame:
    r"""Each arm against the preset, paired by seed, beside the preset's gain.

    Args:
        preset: :func:`~scales_core.results.load_sweep` output of the preset's runs.
        arms: Arm label (the component switched back) -> its runs.
        default: The default pipeline's runs (the same method).
        method: The method every arm ran (e.g. ``"scales_0.8"``).
        k: Size of the top-k mean.

    Returns:
        Index arm label; columns ``seeds`` (finished by the arm and the preset),
        ``validity`` and ``top10`` of the arm and ``validity (preset)`` on those
        seeds, ``validity - preset`` and ``top10 - preset`` (mean paired
        differences), ``validity lower`` (``"l of n"``: seeds on which switching
        the component back lowers validity) and ``preset gain`` (the preset's mean
        paired validity difference to the default on the same seeds; NaN where
        the default did not finish them all). Arms without a finished seed shared
        with the preset are left out.
    """

    def runs_of(frame: pd.DataFrame) -> pd.DataFrame | None:
        runs = per_run_metrics(frame[frame["method"] == method], k)
        return runs.loc[method] if len(runs) else None

    ref, base = runs_of(preset), runs_of(default)
    if ref is None:
        return pd.DataFrame()
    rows = {}
    for label, frame in arms.items():
        mine = runs_of(frame)
        if mine is None:
            continue
        seeds = sorted(set(mine.index) & set(ref.index))
        if not seeds:
            continue
        diff = _paired(mine, ref, seeds)
        gain = float("nan")
        if base is not None and set(seeds) <= set(base.index):
            gain = float(_paired(ref, base, seeds)["validity"].mean())
        rows[label] = {
            "seeds": len(seeds),
            "validity": float(mine.loc[seeds, "validity"].mean()),
            "validity (preset)": float(ref.loc[seeds, "validity"].mean()),
            "validity - preset": float(diff["validity"].mean()),
            "validity lower": f"{int((diff['validity'] < 0).sum())} of {len(seeds)}",
            "top10": float(mine.loc[seeds, "top10"].mean()),
            "top10 - preset": float(diff["top10"].mean()),
            "preset gain": gain,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def carrying_components(table: pd.DataFrame, min_seeds: int = 5) -> str:
    r"""The sentence naming the component(s) that carry a preset's validity gain.

    A component carries the gain when switching it back lowers validity on more
    than half of the paired seeds and by at least half of the preset's gain over
    the default on those seeds. Arms with fewer than ``min_seeds`` paired seeds
    are reported as open.

    Args:
        table: :func:`ablation_table` output.
        min_seeds: Paired seeds an arm needs before it is judged.

    Returns:
        A sentence, e.g. ``"clip carries the gain (-0.050 against a gain of
        +0.047; lower on 5 of 5 seeds); tau, direction do not"``.
    """
    if table.empty:
        return "no ablation runs yet"
    judged = table[table["seeds"] >= min_seeds]
    waiting = [a for a in table.index if a not in judged.index]
    carriers, others = [], []
    for arm, row in judged.iterrows():
        lower = int(row["validity lower"].split(" of ")[0])
        gain = row["preset gain"]
        large = pd.notna(gain) and gain > 0 and -row["validity - preset"] >= gain / 2
        if lower > row["seeds"] / 2 and large:
            carriers.append(
                f"{arm} ({row['validity - preset']:+.3f} against a gain of "
                f"{gain:+.3f}; lower on {row['validity lower']} seeds)"
            )
        else:
            others.append(arm)
    parts = []
    if carriers:
        verb = "carries" if len(carriers) == 1 else "carry"
        parts.append(f"{' and '.join(carriers)} {verb} the gain")
    elif len(judged):
        parts.append("no single component carries the gain")
    if others:
        parts.append(f"{', '.join(others)} do{'es' if len(others) == 1 else ''} not")
    if waiting:
        parts.append(f"{', '.join(waiting)} still under {min_seeds} paired seeds")
    return "; ".join(parts)
