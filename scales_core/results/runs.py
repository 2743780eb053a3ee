r"""Reading a sweep folder: every oracle call of its runs, their step timings, and what ran.

A sweep folder holds ``<task>/<method>/seed<k>.jsonl(.gz)`` run records
(:mod:`scales_core.bo.run_record`); unreadable or unfinished runs are reported, not
mixed into the tables.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from ..bo.run_record import RunData, read_run

__all__ = [
    "COLUMNS",
    "STEP_COLUMNS",
    "iter_runs",
    "load_step_times",
    "load_sweep",
    "run_facts",
]

logger = logging.getLogger(__name__)


COLUMNS = ("task", "method", "seed", "step", "index", "string", "objective", "valid")


COLUMNS += ("scales", "complete", "path")


STEP_COLUMNS = ("step", "n_train", "resumed", "fit_s", "acq_s", "oracle_s", "score_s")


def iter_runs(
    out: str | Path, skipped: list | None = None
) -> Iterator[tuple[Path, RunData]]:
    r"""``(path, records)`` of every run file under a sweep folder, in path order.

    A ``.jsonl`` whose compacted ``.jsonl.gz`` exists is the same run (a kill
    inside :func:`~scales_core.bo.compaction.compact_run` leaves both) and is read
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
            rows.append(
                {
                    "task": h["task"],
                    "method": h["method"],
                    "seed": h["seed"],
                    "device": device,
                    **row,
                }
            )
    frame = pd.DataFrame(
        rows, columns=["task", "method", "seed", "device", *STEP_COLUMNS]
    )
    parts = ["fit_s", "acq_s", "oracle_s", "score_s"]
    frame[parts] = frame[parts].astype(float)
    frame["total_s"] = frame[parts].sum(axis=1)
    return frame


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
    per_method = "; ".join(
        f"{n} for {len(ms)} method(s)" if len(ms) > 3 else f"{n} ({', '.join(ms)})"
        for n, ms in sorted(by_count.items(), reverse=True)
    )

    def distinct(values) -> str:
        return ", ".join(sorted({str(v) for v in values}))

    params = [r.header["parameters"] for r in done]
    return {
        "model": distinct(r.header["problem"].get("checkpoint") for r in done),
        "BO": f"{distinct(p['n_steps'] for p in params)} steps of "
        f"{distinct(p['q'] for p in params)} points, "
        f"{distinct(r.header['problem'].get('n_init') for r in done)} initial points",
        "seeds per method": per_method,
        "hardware": f"{distinct(p.get('device', 'cpu') for p in params)}, "
        f"{distinct(r.header.get('threads') for r in done)} torch thread(s) per run",
        "runs": f"{len(done)} finished",
    }
