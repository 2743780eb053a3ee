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

__all__ = [
    "ablation_seeds",
    "ablation_table",
    "carrying_components",
    "load_arms",
    "plot_ablation",
]


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


def ablation_seeds(
    preset: pd.DataFrame,
    arms: Mapping[str, pd.DataFrame],
    default: pd.DataFrame,
    method: str,
    k: int = 10,
) -> pd.DataFrame:
    r"""Each arm's runs beside the preset's and the default's, seed by seed.

    Args:
        preset: :func:`~scales_core.results.load_sweep` output of the preset's runs.
        arms: Arm label (the component switched back) -> its runs.
        default: The default pipeline's runs (the same method).
        method: The method every arm ran (e.g. ``"scales_0.8"``).
        k: Size of the top-k mean.

    Returns:
        One row per arm and seed finished by both the arm and the preset, with columns
        ``arm``, ``seed``, ``validity``, ``top10``, ``validity (preset)``,
        ``top10 (preset)`` and ``validity (default)`` (NaN where the default did
        not finish the seed).
    """

    def runs_of(frame: pd.DataFrame) -> pd.DataFrame | None:
        runs = per_run_metrics(frame[frame["method"] == method], k)
        return runs.loc[method] if len(runs) else None

    columns = ["arm", "seed", "validity", "top10", "validity (preset)"]
    columns += ["top10 (preset)", "validity (default)"]
    ref, base = runs_of(preset), runs_of(default)
    rows = []
    for label, frame in arms.items():
        mine = runs_of(frame)
        if mine is None or ref is None:
            continue
        for seed in sorted(set(mine.index) & set(ref.index)):
            rows.append(
                [
                    label,
                    seed,
                    mine.loc[seed, "validity"],
                    mine.loc[seed, "top10"],
                    ref.loc[seed, "validity"],
                    ref.loc[seed, "top10"],
                    base.loc[seed, "validity"]
                    if base is not None and seed in base.index
                    else float("nan"),
                ]
            )
    return pd.DataFrame(rows, columns=columns).astype({"seed": int})


def ablation_table(seeds: pd.DataFrame) -> pd.DataFrame:
    r"""Each arm against the preset, paired by seed, beside the preset's gain.

    Args:
        seeds: :func:`ablation_seeds` output.

    Returns:
        Index arm label; columns ``seeds`` (finished by the arm and the preset),
        ``validity`` and ``top10`` of the arm and ``validity (preset)`` on those
        seeds, ``validity - preset`` and ``top10 - preset`` (mean paired
        differences), ``validity lower`` (``"l of n"``: seeds on which switching
        the component back lowers validity) and ``preset gain`` (the preset's mean
        paired validity difference to the default on the same seeds; NaN where
        the default did not finish them all).
    """
    rows = {}
    for label, arm in seeds.groupby("arm", sort=False):
        diff = arm["validity"] - arm["validity (preset)"]
        gain = arm["validity (preset)"] - arm["validity (default)"]
        rows[label] = {
            "seeds": len(arm),
            "validity": float(arm["validity"].mean()),
            "validity (preset)": float(arm["validity (preset)"].mean()),
            "validity - preset": float(diff.mean()),
            "validity lower": f"{int((diff < 0).sum())} of {len(arm)}",
            "top10": float(arm["top10"].mean()),
            "top10 - preset": float((arm["top10"] - arm["top10 (preset)"]).mean()),
            "preset gain": float(gain.mean()) if gain.notna().all() else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def plot_ablation(seeds: pd.DataFrame, label: str = "preset"):
    r"""Seed by seed, how far each arm's validity falls below the preset's.

    One column of points per arm (one point per seed, its mean as a bar), beside the
    default pipeline's difference to the preset on the same seeds (every component
    switched back at once).

    Args:
        seeds: :func:`ablation_seeds` output.
        label: The preset's name (for the axis label).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    arms = list(dict.fromkeys(seeds["arm"]))
    default = seeds.drop_duplicates("seed").dropna(subset=["validity (default)"])
    columns = [(a, seeds[seeds["arm"] == a], "validity") for a in arms]
    columns.append(("all back (default)", default, "validity (default)"))
    for x, (name, rows, column) in enumerate(columns):
        diff = rows[column] - rows["validity (preset)"]
        color = "0.5" if column == "validity (default)" else f"C{x}"
        ax.bar(x, diff.mean(), color=color, alpha=0.35, width=0.6)
        ax.scatter([x] * len(diff), diff, color=color, zorder=3, s=18)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(columns)), [c[0] for c in columns])
    ax.set_ylabel(f"valid share - {label}'s\n(same seed)")
    ax.set_xlabel("component switched back to the default")
    fig.tight_layout()
    return fig


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
