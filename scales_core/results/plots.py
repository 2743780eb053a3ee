r"""The figures of the BO chapters: Figure 2, validity beside the paper's, paired seeds.

Each function draws from the tables of :mod:`scales_core.results` and returns the
matplotlib figure (matplotlib is imported when a function is called).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_paired", "plot_pipelines", "plot_trajectories", "plot_validity"]


def plot_trajectories(
    bands: pd.DataFrame,
    shown: dict[str, str],
    ylabel: str,
    k: int = 10,
    top_k_floor: float | None = None,
    axes=None,
):
    r"""Figure 2: best value and top-``k`` mean against the BO step, one line per family.

    Args:
        bands: :func:`~scales_core.results.trajectory_bands` (mean and s.d. over seeds).
        shown: Family -> method (:func:`~scales_core.results.best_of_families`).
        ylabel: The objective's label.
        k: The top-k size (for the title).
        top_k_floor: Lower y-limit of the top-k panel (``None``: automatic).
        axes: Two matplotlib axes to draw on (e.g. a row of a larger figure);
            ``None`` makes a new figure.

    Returns:
        The figure (two panels; one standard deviation shaded).
    """
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    else:
        fig = axes[0].figure
    for (family, method), color in zip(shown.items(), plt.get_cmap("tab10").colors):
        b = bands[bands["method"] == method]
        for ax, col in zip(axes, ["best", "top_k"]):
            mean, sd = b[f"{col}_mean"], b[f"{col}_sd"].fillna(0)
            ax.plot(
                b["step"] + 1,
                mean,
                color=color,
                label=f"{family}: {method} ({int(b['n_seeds'].iloc[0])} seeds)",
            )
            ax.fill_between(
                b["step"] + 1, mean - sd, mean + sd, color=color, alpha=0.15
            )
    axes[0].set_title("best value found")
    axes[1].set_title(f"top-{k} average")
    for ax in axes:
        ax.set_xlabel("BO step")
        ax.set_ylabel(ylabel)
    if top_k_floor is not None:
        axes[1].set_ylim(bottom=max(axes[1].get_ylim()[0], top_k_floor))
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_validity(ours: pd.DataFrame, paper: pd.DataFrame, order: list[str]):
    r"""Valid share per method, ours beside the paper's (bars with one standard error).

    Args:
        ours: :func:`~scales_core.results.summarize_sweep` indexed by method.
        paper: :func:`~scales_core.results.paper_table` indexed by method.
        order: Methods to show, in order (those missing from ``ours`` are skipped).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    shown = ours.reindex([m for m in order if m in ours.index])
    x = np.arange(len(shown))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.bar(
        x - 0.2,
        shown["validity_mean"],
        0.4,
        yerr=shown["validity_se"].fillna(0),
        label="this implementation",
    )
    ref = paper.reindex(shown.index)
    ax.bar(
        x + 0.2,
        ref["validity_mean"],
        0.4,
        yerr=ref["validity_se"],
        label="paper",
        alpha=0.6,
    )
    ax.set_xticks(x, shown.index, rotation=45, ha="right")
    ax.set_ylabel("valid share")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def plot_paired(
    pairs: dict[str, tuple[str, pd.DataFrame]], baseline: str = "ga", k: int = 10
):
    r"""Seed by seed, baseline (x) against each family's best member (y).

    For the valid share and the top-``k`` mean; points above the diagonal favour the
    member.

    Args:
        pairs: The second output of :func:`~scales_core.results.paired_verdict`.
        baseline: The baseline method.
        k: The top-k size (for the labels).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for (name, (best, both)), color in zip(pairs.items(), ["C3", "C2", "C1", "C4"]):
        for ax, metric in zip(axes, ["validity", "top10"]):
            ax.scatter(
                both[baseline][metric],
                both[best][metric],
                color=color,
                label=f"{name}: {best}",
            )
    for ax, metric in zip(axes, ["valid share", f"top-{k} average"]):
        lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
        hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([lo, hi], [lo, hi], "k:", lw=1)
        ax.set_xlabel(f"{baseline.upper()}, {metric}")
        ax.set_ylabel(f"penalty, {metric}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_pipelines(
    seeds: pd.DataFrame, paper: pd.DataFrame | None = None, baseline: str = "ga"
):
    r"""Seed by seed, each pipeline's methods against its own baseline.

    One panel per metric (valid share, top-10): a point per paired seed, a bar at
    the mean, pipelines side by side at each method, and the paper's difference
    (a black cross) where ``paper`` has it.

    Args:
        seeds: :func:`~scales_core.results.pipeline_seeds` output.
        paper: The paper's table indexed by method (``validity_mean``,
            ``top10_mean``), or ``None``.
        baseline: The baseline the differences are taken to.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    seeds = seeds[seeds["method"] != baseline]
    methods = list(dict.fromkeys(seeds["method"]))
    pipelines = list(dict.fromkeys(seeds["pipeline"]))
    width = 0.8 / max(len(pipelines), 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    gap = f" - {baseline.upper()}"
    for ax, metric, name in zip(
        axes, ["validity", "top10"], ["valid share", "top-10 average"]
    ):
        for i, label in enumerate(pipelines):
            for x, method in enumerate(methods):
                got = seeds[(seeds["pipeline"] == label) & (seeds["method"] == method)]
                if got.empty:
                    continue
                at = x - 0.4 + width * (i + 0.5)
                ax.bar(
                    at, got[metric + gap].mean(), width * 0.9, color=f"C{i}", alpha=0.3
                )
                ax.scatter(
                    np.full(len(got), at),
                    got[metric + gap],
                    color=f"C{i}",
                    s=14,
                    zorder=3,
                    label=label if x == 0 else None,
                )
        if paper is not None and baseline in paper.index:
            shown = [m for m in methods if m in paper.index]
            ax.scatter(
                [methods.index(m) for m in shown],
                [
                    paper.loc[m, f"{metric}_mean"]
                    - paper.loc[baseline, f"{metric}_mean"]
                    for m in shown
                ],
                marker="x",
                color="k",
                s=60,
                zorder=4,
                label="paper",
            )
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(range(len(methods)), methods)
        ax.set_ylabel(f"{name} - {baseline.upper()}'s\n(same seed)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
