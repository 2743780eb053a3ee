r"""The BO chapters' run tables (chapters 4-6).

Finished runs, protocol variants, and the published releases' pipelines beside this
package's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .paired import compare_variants, validity_ordering
from .runs import load_sweep

__all__ = [
    "SHARED_BASELINE_PIPELINES",
    "compare_variant_dirs",
    "finished_table",
    "ordering_sentence",
    "paper_pipeline_rows",
    "pipeline_frames",
    "run_table",
    "same_baseline_proposals",
    "strongest_pipeline",
    "validity_table",
    "with_default_baseline",
]


#: Release pipelines whose baseline (GA) is this package's GA: their tables take
#: the baseline's runs from the default sweep (chapter 5).
SHARED_BASELINE_PIPELINES = ("paper_2024",)


def run_table(
    frame: pd.DataFrame, by: Sequence[str] = ("method", "seed")
) -> pd.DataFrame:
    r"""One row per run: its number of oracle calls and whether it finished.

    Args:
        frame: :func:`~scales_core.results.load_sweep` output.
        by: The columns that name a run.

    Returns:
        Columns ``by``, ``calls`` and ``complete``.
    """
    return (
        frame.groupby(list(by))
        .agg(calls=("step", "size"), complete=("complete", "first"))
        .reset_index()
    )


def finished_table(runs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    r"""Finished and unfinished runs per method.

    Args:
        runs: :func:`run_table` output.
        order: The methods, in the order shown.

    Returns:
        Index method (``order``); columns ``finished runs`` and ``unfinished runs``
        (those present).
    """
    return (
        runs.pivot_table(
            index="method",
            columns="complete",
            values="seed",
            aggfunc="count",
            fill_value=0,
        )
        .rename(columns={True: "finished runs", False: "unfinished runs"})
        .reindex(order)
    )


def compare_variant_dirs(
    frame: pd.DataFrame,
    dirs: Mapping[str, str | Path],
    k: int = 10,
    label: str = "this chapter",
) -> pd.DataFrame | None:
    r"""A chapter's runs beside the variant sweep folders that exist, on their shared seeds.

    Only the methods some variant ran are taken from ``frame``.

    Args:
        frame: The chapter's :func:`~scales_core.results.load_sweep` output.
        dirs: Variant label -> sweep folder (those that do not exist are skipped).
        k: Size of the top-k mean.
        label: The chapter's label in the table.

    Returns:
        :func:`~scales_core.results.compare_variants` of the chapter and the
        variants, or ``None`` where no folder exists.
    """
    found = {name: load_sweep(d) for name, d in dirs.items() if Path(d).exists()}
    if not found:
        return None
    ran = set().union(*(set(f["method"]) for f in found.values()))
    return compare_variants({label: frame[frame["method"].isin(ran)], **found}, k=k)


def with_default_baseline(
    pipeline: pd.DataFrame, default: pd.DataFrame, baseline: str = "ga"
) -> pd.DataFrame:
    r"""A pipeline's runs with the baseline's runs taken from the default sweep.

    Args:
        pipeline: :func:`~scales_core.results.load_sweep` output of a release pipeline.
        default: The default sweep's runs.
        baseline: The method whose runs are replaced.

    Returns:
        The pipeline's other methods' rows, then the default sweep's baseline rows.
    """
    return pd.concat(
        [
            pipeline[pipeline["method"] != baseline],
            default[default["method"] == baseline],
        ]
    )


def pipeline_frames(
    default: pd.DataFrame,
    pipelines: Mapping[str, pd.DataFrame | str | Path],
    shared_baseline: Iterable[str] = SHARED_BASELINE_PIPELINES,
    baseline: str = "ga",
) -> dict[str, pd.DataFrame]:
    r"""The runs of the default sweep and of each release pipeline.

    The input of :func:`~scales_core.results.pipeline_table`.

    Args:
        default: The default sweep's runs (label ``"default"``).
        pipelines: Pipeline label -> its runs or sweep folder (a folder that does
            not exist is skipped).
        shared_baseline: The pipelines whose baseline is the default's: their
            baseline runs are taken from ``default`` (:func:`with_default_baseline`).
        baseline: The baseline method.

    Returns:
        Label -> runs, ``"default"`` first, then the pipelines in the given order.
    """
    shared = set(shared_baseline)
    frames = {"default": default}
    for name, runs in pipelines.items():
        if not isinstance(runs, pd.DataFrame):
            if not Path(runs).exists():
                continue
            runs = load_sweep(runs)
        frames[name] = (
            with_default_baseline(runs, default, baseline) if name in shared else runs
        )
    return frames


def same_baseline_proposals(
    own: pd.DataFrame, reference: pd.DataFrame, baseline: str = "ga"
) -> bool | None:
    r"""Whether a pipeline's own finished baseline runs propose what the default's do.

    Args:
        own: The pipeline's runs (its own baseline included).
        reference: The default sweep's runs.
        baseline: The baseline method.

    Returns:
        ``True`` when the same strings come in the same order (by seed, step and
        index) on the pipeline's finished seeds, ``False`` otherwise, ``None``
        where the pipeline has no finished baseline run.
    """
    mine = own[(own["method"] == baseline) & own["complete"]]
    if not len(mine):
        return None
    ref = reference[
        (reference["method"] == baseline)
        & reference["complete"]
        & reference["seed"].isin(set(mine["seed"]))
    ]
    order = ["seed", "step", "index"]
    return (
        mine.sort_values(order)["string"].tolist()
        == ref.sort_values(order)["string"].tolist()
    )


def paper_pipeline_rows(paper: pd.DataFrame, methods: Iterable[str]) -> pd.DataFrame:
    r"""The paper's rows beside a :func:`~scales_core.results.pipeline_table`.

    Args:
        paper: The paper's table indexed by method.
        methods: The methods shown (baseline included).

    Returns:
        Index ``("paper", method)``; columns ``validity``, ``top1``, ``top10``.
    """
    return pd.DataFrame(
        {
            ("paper", m): {
                "validity": paper.loc[m, "validity_mean"],
                "top1": paper.loc[m, "top1_mean"],
                "top10": paper.loc[m, "top10_mean"],
            }
            for m in methods
        }
    ).T


def ordering_sentence(pipes: pd.DataFrame, label: str, methods: list[str]) -> str:
    r"""The verdict on "validity rises with lambda, every lambda above GA" for one pipeline.

    Args:
        pipes: :func:`~scales_core.results.pipeline_table` output.
        label: The pipeline.
        methods: The methods in the claimed order of rising validity (after GA).

    Returns:
        A sentence, e.g. ``"reproduces the rising validity (0.20 < 0.30); every lambda
        above GA; 3 paired seeds"``; ``"not run yet"`` or ``"incomplete"`` where the
        pipeline lacks runs.
    """
    got = validity_ordering(pipes, label, methods)
    if got is None:
        return (
            "not run yet"
            if label not in pipes.index.get_level_values(0)
            else "incomplete"
        )
    sep = " < " if got["rising"] else ", "
    values = sep.join(f"{v:.2f}" for v in got["values"])
    verdict = "reproduces" if got["rising"] else "does not reproduce"
    rows = pipes.loc[label]
    above = [m for m in methods if float(rows.loc[m, "validity - GA"]) > 0]
    if len(above) == len(methods):
        where = "every lambda above GA"
    elif above:
        where = f"above GA only with {', '.join(above)}"
    else:
        where = "no lambda above GA"
    return f"{verdict} the rising validity ({values}); {where}; {got['seeds']} paired seeds"


def strongest_pipeline(
    pipes: pd.DataFrame,
    methods: Iterable[str],
    exclude: Iterable[str] = ("default",),
) -> tuple[str, pd.Series]:
    r"""The pipeline whose methods raise validity most over their own baseline.

    Chapter 6 runs the release pipeline that wins on logP (chapter 5): the one
    with the largest mean paired validity difference to its baseline, averaged
    over ``methods``.

    Args:
        pipes: :func:`~scales_core.results.pipeline_table` output.
        methods: The methods whose differences are averaged (each pipeline must
            have run every one of them to compete).
        exclude: Pipelines that do not compete (this package's default loop).

    Returns:
        ``(label, gains)``: the winner and every competing pipeline's mean
        ``validity - GA`` over ``methods``, highest first.

    Raises:
        ValueError: No competing pipeline ran every method.
    """
    methods, left_out = list(methods), set(exclude)
    gains = {}
    for label in dict.fromkeys(pipes.index.get_level_values(0)):
        rows = pipes.loc[label]
        if label in left_out or not all(m in rows.index for m in methods):
            continue
        gains[label] = float(rows.loc[methods, "validity - GA"].mean())
    if not gains:
        raise ValueError(
            f"no pipeline outside {sorted(left_out)} ran every one of {methods}"
        )
    ranked = pd.Series(gains, name="validity - GA").sort_values(ascending=False)
    return str(ranked.index[0]), ranked


def validity_table(
    ours: pd.DataFrame, paper: Mapping[str, tuple[float, float]], methods: Iterable[str]
) -> pd.DataFrame:
    r"""Table 2 of the paper beside ours: valid share in percent, mean (standard error).

    Args:
        ours: :func:`method_summary` output.
        paper: The paper's column, method -> (mean, se) in percent
            (``PAPER_TABLE2_VALIDITY[task]``).
        methods: The methods, in order (those not in ``ours`` are left out).

    Returns:
        Index method; columns ``ours (%)``, ``seeds``, ``paper (%)`` (an em dash
        where the paper has no number).
    """
    return pd.DataFrame(
        {
            m: {
                "ours (%)": f"{100 * ours.loc[m, 'validity_mean']:.1f} "
                f"({100 * ours.loc[m, 'validity_se']:.1f})",
                "seeds": int(ours.loc[m, "n_seeds"]),
                "paper (%)": f"{paper[m][0]:g} ({paper[m][1]:g})"
                if m in paper
                else "\u2014",
            }
            for m in methods
            if m in ours.index
        }
    ).T
