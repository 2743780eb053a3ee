r"""Tables of BO runs: every oracle call of a sweep folder, and per-method summaries.

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
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..bo.methods import PAPER_METHODS
from .paper_tables import format_mean_se
from ..bo.records import RunData, read_run
from ..bo.slim import is_slim, pool_distances

__all__ = [
    "proposal_ranking",
    "run_facts",
    "FIGURE_FAMILIES",
    "METRICS",
    "best_of_families",
    "compare_variants",
    "compare_with_paper",
    "iter_runs",
    "means_on_seeds",
    "paired_verdict",
    "per_run_metrics",
    "pipeline_table",
    "proposal_norms",
    "validity_ordering",
    "load_step_times",
    "load_sweep",
    "summarize_sweep",
    "top_values",
    "trajectories",
    "trajectory_bands",
    "unmoved_proposals",
    "unmoved_summary",
]

logger = logging.getLogger(__name__)

METRICS = ("validity", "mean_scales", "top1", "top10")
COLUMNS = ("task", "method", "seed", "step", "index", "string", "objective", "valid")
COLUMNS += ("scales", "complete", "path")
STEP_COLUMNS = ("step", "n_train", "resumed", "fit_s", "acq_s", "oracle_s", "score_s")


def iter_runs(out: str | Path, skipped: list | None = None) -> Iterator[tuple[Path, RunData]]:
    r"""``(path, records)`` of every run file under a sweep folder, in path order.

    A ``.jsonl`` whose compacted ``.jsonl.gz`` exists is the same run (a kill
    inside :func:`~scales_core.bo.records.compact_run` leaves both) and is read
    once, from the ``.gz``. Files that cannot be parsed are skipped with a warning
    naming them, and appended to ``skipped`` as ``(path, reason)``.
    """
    compacted = sorted(Path(out).rglob("*.jsonl.gz"))
    done = {p.with_name(p.name[: -len(".gz")]) for p in compacted}
    # a .jsonl beside its .jsonl.gz is a leftover of a killed compaction: one run
    paths = [p for p in Path(out).rglob("*.jsonl") if p not in done] + compacted
    for path in sorted(paths):
        try:
            data = read_run(path, complete_oracle=True)
        except ValueError as error:
            logger.warning("skipping %s: %s", path, error)
            if skipped is not None:
                skipped.append((str(path), str(error)))
            continue
        yield path, data


def load_sweep(out: str | Path) -> pd.DataFrame:
    r"""All oracle calls under a sweep folder, one row each.

    Returns:
        Columns task, method, seed, step, index, string, objective, valid, scales,
        complete (the run has its ``done`` record), path; ``frame.attrs["skipped"]``
        lists the unreadable files as ``(path, reason)``, each also logged.
    """
    rows, skipped = [], []
    for path, data in iter_runs(out, skipped):
        h = data.header
        for r in data.oracle:
            head = (h["task"], h["method"], h["seed"])
            fields = (r["step"], r["index"], r["string"], r["objective"], r["valid"])
            tail = (r["scales"], data.done is not None, str(path))
            rows.append(head + fields + tail)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame = frame.astype({"objective": float, "scales": float})
    frame.attrs["skipped"] = skipped
    return frame


def load_step_times(out: str | Path) -> pd.DataFrame:
    r"""Wall-clock split of every completed BO step under a sweep folder.

    Returns:
        Columns task, method, seed, device (the run's ``parameters.device``), step,
        n_train, resumed, fit_s (GP fit), acq_s (acquisition optimization, all
        ``q`` points), oracle_s (decode and objective), score_s (ScaLES value
        written to the record), total_s.
    """
    rows = []
    for _, data in iter_runs(out):
        h = data.header
        device = h.get("parameters", {}).get("device", "cpu")
        for r in data.steps:
            row = {k: r.get(k) for k in STEP_COLUMNS}
            rows.append({"task": h["task"], "method": h["method"], "seed": h["seed"],
                         "device": device, **row})
    frame = pd.DataFrame(rows, columns=["task", "method", "seed", "device", *STEP_COLUMNS])
    parts = ["fit_s", "acq_s", "oracle_s", "score_s"]
    frame[parts] = frame[parts].astype(float)
    frame["total_s"] = frame[parts].sum(axis=1)
    return frame


def top_values(objectives: Iterable[float], k: int = 10, distinct: bool = True
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


def trajectories(frame: pd.DataFrame | str | Path, k: int = 10, distinct: bool = True
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
    best, top = top_values(group.loc[group["valid"].astype(bool), "objective"], k, distinct)
    return pd.Series(
        {
            "validity": group["valid"].astype(float).mean(),
            "mean_scales": group["scales"].mean(),
            "top1": best,
            "top10": top,
            "n_calls": len(group),
        }
    )


def _run_metrics(frame: pd.DataFrame, keys: list[str], k: int, distinct: bool = True
                 ) -> pd.DataFrame:
    """:func:`_per_run` of every run, indexed by ``keys``."""
    return frame.groupby(keys)[["valid", "objective", "scales"]].apply(
        _per_run, k=k, distinct=distinct)


def summarize_sweep(
    frame: pd.DataFrame | str | Path, k: int = 10, complete_only: bool = False,
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
            logger.info("leaving out %d unfinished runs", len(partial.drop_duplicates()))
        frame = frame[frame["complete"]]
    if frame.empty:
        return pd.DataFrame(columns=["task", "method", "n_seeds"])
    runs = _run_metrics(frame, ["task", "method", "seed"], k, distinct).reset_index()
    stats = runs.groupby(["task", "method"])[list(METRICS)].agg(["mean", "std", "count"])
    for m in METRICS:
        stats[(m, "se")] = stats[(m, "std")] / np.sqrt(stats[(m, "count")])
    stats = stats.drop(columns=[(m, "count") for m in METRICS])
    stats.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in stats.columns]
    stats["n_seeds"] = runs.groupby(["task", "method"])["seed"].nunique()
    stats["n_calls"] = runs.groupby(["task", "method"])["n_calls"].mean()
    for m in METRICS:
        stats[m] = [format_mean_se(a, b) for a, b in zip(stats[f"{m}_mean"], stats[f"{m}_se"])]
    stats = stats.reset_index()
    order = {name: i for i, name in enumerate(PAPER_METHODS)}
    stats["_order"] = stats["method"].map(lambda m: order.get(m, len(order)))
    return (
        stats.sort_values(["task", "_order", "method"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


#: The method families of the paper's Figure 2 (each shows its best member), plus
#: the published-code variant of the ScaLES penalty.
FIGURE_FAMILIES: dict[str, tuple[str, ...]] = {
    "LSO (GA)": ("ga",),
    "LSO (L-BFGS)": ("lbfgs_1", "lbfgs_5", "lbfgs_25"),
    "Prior": ("prior_0.2", "prior_0.5", "prior_0.8"),
    "UC (ES)": ("uc_es_75", "uc_es_95", "uc_es_100"),
    "ScaLES": ("scales_0.2", "scales_0.5", "scales_0.8", "scales_2"),
    "ScaLES (ES)": ("scales_es_25", "scales_es_50", "scales_es_75"),
    "ScaLES (published)": ("scales_pub_0.2", "scales_pub_0.5", "scales_pub_0.8"),
}


def per_run_metrics(frame: pd.DataFrame, k: int = 10, distinct: bool = True) -> pd.DataFrame:
    r"""Validity, mean ScaLES, top-1 and top-``k`` of each finished run.

    Args:
        frame: The output of :func:`load_sweep`.
        k: Size of the top-k mean.
        distinct: Top-k over distinct values (see :func:`top_values`).

    Returns:
        Index (method, seed); columns as :data:`METRICS` and ``n_calls``.
    """
    return _run_metrics(frame[frame["complete"]], ["method", "seed"], k, distinct)


def means_on_seeds(per_run: pd.Series, methods: Iterable[str], seeds: Iterable[int]) -> pd.Series:
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
        {"this implementation": ours[["n_seeds", *metrics]].rename(columns={"n_seeds": "seeds"}),
         "paper (10 seeds)": paper.reindex(ours.index)[metrics]}, axis=1)


def paired_verdict(
    frame: pd.DataFrame,
    candidates: dict[str, list[str]],
    baseline: str = "ga",
    k: int = 10,
) -> tuple[pd.DataFrame, dict[str, tuple[str, pd.DataFrame]]]:
    r"""Each candidate family's best member (highest mean top-``k``) against a
    baseline, on the seeds both finished (same initial sets: paired).

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
        both = wide[[baseline, best]].dropna(subset=[(baseline, "validity"), (best, "validity")])
        if both.empty:
            continue
        diff = both[best] - both[baseline]
        pairs[name] = (best, both)
        rows[name] = {
            "best lambda": best, "paired seeds": len(both),
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
    bands: pd.DataFrame, families: dict[str, tuple[str, ...]] = FIGURE_FAMILIES
) -> dict[str, str]:
    r"""Family -> its member with the best final top-k mean in :func:`trajectory_bands`
    (the paper's Figure 2 shows one line per family); families without runs are left out."""
    last = bands.sort_values("step").groupby("method").tail(1).set_index("method")
    shown = {}
    for family, members in families.items():
        members = [m for m in members if m in last.index and pd.notna(last.loc[m, "top_k_mean"])]
        if members:
            shown[family] = max(members, key=lambda m: last.loc[m, "top_k_mean"])
    return shown


def proposal_norms(runs: Iterable[RunData]) -> tuple[pd.DataFrame, float]:
    r"""The norm of every proposed latent of the finished runs, and of the initial set.

    Args:
        runs: Run records (e.g. the values of ``dict(iter_runs(folder))``).

    Returns:
        ``(norms, init_median)``: columns method, seed, norm, valid (one row per
        oracle call), and the median norm of the initial latents over all runs.
    """
    frames, init = [], []
    for run in runs:
        if run.done is None:
            continue
        if is_slim(run.oracle):
            norm = np.asarray([r["latent_norm"] for r in run.oracle], dtype=float)
        else:
            norm = np.linalg.norm(np.asarray([r["latent"] for r in run.oracle], dtype=float), axis=1)
        frames.append(pd.DataFrame({
            "method": run.header["method"], "seed": run.header["seed"],
            "norm": norm, "valid": [bool(r["valid"]) for r in run.oracle],
        }))
        latents = run.init_latents()
        if latents is not None and len(latents):
            init.append(np.linalg.norm(latents, axis=1))
    norms = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=["method", "seed", "norm", "valid"]))
    return norms, float(np.median(np.concatenate(init))) if init else math.nan


def proposal_ranking(frame: pd.DataFrame, by: str = "method") -> pd.DataFrame:
    r"""How well the ScaLES value of BO proposals separates valid from invalid ones.

    Chapter 3's AUROC is measured on encoded and prior latents; this one on the
    latents the optimizer proposed. Within one group (a method's proposals over
    all its seeds) and over all finished proposals pooled: a penalty can raise
    the score of its proposals without raising their valid share, and then the
    pooled AUROC falls below the within-group ones.

    Args:
        frame: :func:`load_sweep` output (only finished runs count).
        by: Column that defines a group.

    Returns:
        One row per group and a last row ``"all pooled"``; columns ``auroc``
        (NaN when a group has one class only), ``valid share``, ``mean ScaLES``
        and ``proposals``.
    """
    from ..auroc import auroc  # sklearn, loaded on first use

    done = frame[frame["complete"]]

    def row(group: pd.DataFrame) -> dict:
        return {"auroc": auroc(group["valid"].to_numpy(), group["scales"].to_numpy(dtype=float)),
                "valid share": float(group["valid"].mean()),
                "mean ScaLES": float(group["scales"].mean()), "proposals": len(group)}

    rows = {name: row(group) for name, group in done.groupby(by, sort=False)}
    if len(done):
        rows["all pooled"] = row(done)
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["auroc", "valid share", "mean ScaLES", "proposals"])


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
    shared = set.intersection(*(set(f["seed"]) for f in done.values())) if done else set()
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


def unmoved_proposals(runs: Iterable[RunData], rel_tol: float = 1e-3) -> pd.DataFrame:
    r"""Which proposals sit on a latent the run had already observed.

    An early-stopping ascent whose first update is rejected returns its start
    point, a latent drawn from the observed ones: the proposal is then an observed
    latent queried again. A proposal counts as *unmoved* when it lies within
    ``rel_tol`` times the median nearest-neighbour distance of the initial latents
    of an initial latent or of a proposal of an earlier step (the start pool;
    stored latents are float32-rounded alike, so a returned start point matches
    exactly; :func:`~scales_core.bo.pool_distances`). Slim records
    (:mod:`~scales_core.bo.slim`) carry that distance instead of the latent.

    Args:
        runs: Run records (e.g. the values of ``dict(iter_runs(folder))``);
            unfinished runs are skipped.
        rel_tol: The tolerance, relative to the initial latents' spacing.

    Returns:
        A frame with one row per oracle call and the columns method, seed, step,
        index, valid, unmoved and ascent_steps (the gradient-ascent updates the
        proposal took, recorded by runs since it was added; NaN before).
    """
    frames = []
    for run in runs:
        if run.done is None or run.init is None or not run.oracle:
            continue
        steps = np.array([r["step"] for r in run.oracle])
        if is_slim(run.oracle):
            distance = np.asarray([r["pool_distance"] for r in run.oracle], dtype=float)  # None -> NaN
        else:
            z = np.asarray([r["latent"] for r in run.oracle], dtype=float)
            distance = pool_distances(run.init_latents(), z, steps)
        unmoved = distance <= rel_tol
        frames.append(pd.DataFrame({
            "method": run.header["method"], "seed": run.header["seed"], "step": steps,
            "index": [r["index"] for r in run.oracle],
            "valid": [bool(r["valid"]) for r in run.oracle], "unmoved": unmoved,
            "ascent_steps": [r.get("ascent_steps", np.nan) for r in run.oracle],
        }))
    columns = ["method", "seed", "step", "index", "valid", "unmoved", "ascent_steps"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def unmoved_summary(calls: pd.DataFrame) -> pd.DataFrame:
    r"""Per method: the share of unmoved proposals and the validity of each kind.

    Args:
        calls: The output of :func:`unmoved_proposals`.

    Returns:
        Index method; columns ``unmoved share``, ``valid (moved)``, ``valid
        (unmoved)``, ``valid (all)`` and ``proposals``.
    """
    def row(group: pd.DataFrame) -> pd.Series:
        moved, still = group[~group["unmoved"]], group[group["unmoved"]]
        return pd.Series({
            "unmoved share": float(group["unmoved"].mean()),
            "valid (moved)": float(moved["valid"].mean()) if len(moved) else math.nan,
            "valid (unmoved)": float(still["valid"].mean()) if len(still) else math.nan,
            "valid (all)": float(group["valid"].mean()),
            "proposals": len(group),
        })

    if calls.empty:
        return pd.DataFrame(columns=["unmoved share", "valid (moved)", "valid (unmoved)",
                                     "valid (all)", "proposals"])
    return calls.groupby("method")[["valid", "unmoved"]].apply(row)


def pipeline_table(
    frames: dict[str, pd.DataFrame],
    methods: Iterable[str],
    baseline: str = "ga",
    k: int = 10,
) -> pd.DataFrame:
    r"""Each pipeline's methods against its own baseline, paired by seed.

    Args:
        frames: Pipeline label -> :func:`load_sweep` output holding the baseline's
            and the methods' runs of that pipeline.
        methods: The methods to report (the baseline is reported too).
        baseline: The method every other is paired with.
        k: Size of the top-k mean.

    Returns:
        Index (pipeline, method); columns ``seeds`` (finished, paired with the
        baseline), ``validity``, ``top1``, ``top10`` (means over those seeds), the
        mean paired differences ``validity - GA`` and ``top10 - GA``, and on how
        many seeds each is higher (``validity higher``, ``top10 higher``, as
        ``"h of n"``). A method without a finished pair is left out.
    """
    rows = {}
    for label, frame in frames.items():
        runs = per_run_metrics(frame, k)
        if runs.empty or baseline not in runs.index.get_level_values("method"):
            continue
        base = runs.loc[baseline]
        for method in [baseline, *[m for m in methods if m != baseline]]:
            if method not in runs.index.get_level_values("method"):
                continue
            mine = runs.loc[method]
            seeds = sorted(set(mine.index) & set(base.index))
            if not seeds:
                continue
            diff = mine.loc[seeds] - base.loc[seeds]
            rows[(label, method)] = {
                "seeds": len(seeds),
                **{m: float(mine.loc[seeds, m].mean()) for m in ("validity", "top1", "top10")},
                f"validity - {baseline.upper()}": float(diff["validity"].mean()),
                f"top10 - {baseline.upper()}": float(diff["top10"].mean()),
                "validity higher": f"{int((diff['validity'] > 0).sum())} of {len(seeds)}",
                "top10 higher": f"{int((diff['top10'] > 0).sum())} of {len(seeds)}",
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


def run_facts(runs: Iterable[RunData]) -> dict[str, str]:
    r"""What a set of finished runs ran, for a chapter's "what ran" box.

    Returns:
        A dict of texts by label, for the checkpoints, the BO steps and points per
        step, the seeds per method (e.g. ``"10 (ga, scales_0.5); 3 (lbfgs_1)"``), the
        devices and torch threads, and the number of finished runs.
    """
    done = [r for r in runs if r.done is not None]
    if not done:
        return {"runs": "none finished"}
    seeds: dict[str, set] = {}
    for r in done:
        seeds.setdefault(r.header["method"], set()).add(r.header["seed"])
    by_count: dict[int, list[str]] = {}
    for method, s in seeds.items():
        by_count.setdefault(len(s), []).append(method)
    per_method = "; ".join(f"{n} for {len(ms)} method(s)" if len(ms) > 3 else f"{n} ({', '.join(ms)})"
                           for n, ms in sorted(by_count.items(), reverse=True))

    def distinct(values) -> str:
        return ", ".join(sorted({str(v) for v in values}))

    params = [r.header["parameters"] for r in done]
    return {
        "model": distinct(r.header["problem"].get("checkpoint") for r in done),
        "BO": f"{distinct(p['n_steps'] for p in params)} steps of {distinct(p['q'] for p in params)} points, "
              f"{distinct(r.header['problem'].get('n_init') for r in done)} initial points",
        "seeds per method": per_method,
        "hardware": f"{distinct(p.get('device', 'cpu') for p in params)}, "
                    f"{distinct(r.header.get('threads') for r in done)} torch thread(s) per run",
        "runs": f"{len(done)} finished",
    }
