r"""Sweeps of BO runs over tasks x methods x seeds on Dask, and their summary tables.

.. code-block:: bash

    python -m scales_core.sweep --task expressions --methods ga scales_0.5 \
        --seeds 0 1 2 --steps 100 --out results/bo/expressions [--workers 2] \
        [--scheduler tcp://host:8786]

Each run writes ``<out>/<task>/<method>/seed<seed>.jsonl`` (see
:mod:`scales_core.bo.records`). Finished runs are skipped and partial ones resumed,
so the same command continues an interrupted sweep. From a notebook (all
parameters are plain types, as papermill needs)::

    out = "results/bo/expressions"
    status = run_sweep("expressions", ["ga", "scales_0.5"], [0, 1, 2], 100, out)
    table = summarize_sweep(load_sweep(out))
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pandas as pd

from .bo.config import BOConfig
from .bo.loop import run_bo
from .bo.methods import PAPER_METHODS, get_method
from .bo.problem import PROBLEM_DEFAULTS, make_problem
from .bo.records import read_run
from .bo.summary import METRICS, load_sweep, summarize_sweep
from .bo.surrogate import SurrogateConfig

__all__ = ["run_path", "run_one", "run_sweep", "load_sweep", "summarize_sweep", "main"]

logger = logging.getLogger(__name__)


def run_path(out: str | Path, task: str, method: str, seed: int) -> Path:
    """Where the record of one run lives."""
    return Path(out) / task / method / f"seed{seed}.jsonl"


def run_one(
    task: str,
    method: str,
    seed: int,
    steps: int,
    out: str,
    n_init: int | None = None,
    q: int = 5,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str = "exact",
    threads: int = 1,
    progress: bool = False,
    command: str | None = None,
) -> dict:
    r"""Run, resume or skip one BO run (the unit of work of a sweep).

    Args:
        task: Task name.
        method: Method name.
        seed: Run seed.
        steps: BO steps.
        out: Sweep folder.
        n_init: Initial set size (default: the task's).
        q: Points per BO step.
        lr: Gradient-ascent step (default: the task's).
        scales_grad: ``"cpa"`` or ``"exact"`` ScaLES gradient (see
            :class:`~scales_core.bo.config.BOConfig`).
        surrogate: ``"exact"`` GP or ``"deep_kernel"`` GP.
        threads: ``torch.set_num_threads`` for this process.
        progress: Show the run's tqdm bar.
        command: Command line for the run header.

    Returns:
        ``{"task", "method", "seed", "path", "status", "seconds", "n_oracle"}``;
        status is ``"skipped"`` (already done) or ``"done"``.
    """
    import torch

    path = run_path(out, task, method, seed)
    row = dict(task=task, method=method, seed=seed, path=str(path))
    if path.exists() and read_run(path).done is not None:
        return {**row, "status": "skipped", "seconds": 0.0, "n_oracle": None}
    torch.set_num_threads(threads)
    tic = time.perf_counter()
    lr = PROBLEM_DEFAULTS[task]["lr"] if lr is None else lr
    config = BOConfig(
        n_steps=steps,
        q=q,
        lr=lr,
        scales_grad=scales_grad,
        surrogate=SurrogateConfig(kind=surrogate),
    )
    problem = make_problem(task, n_init=n_init, seed=seed)
    data = run_bo(
        problem, method, seed, config, path=path, progress=progress, command=command
    )
    return {
        **row,
        "status": "done",
        "seconds": time.perf_counter() - tic,
        "n_oracle": len(data.oracle),
    }


def _check(tasks: list[str], methods: list[str], seeds: list[int], steps: int) -> None:
    for task in tasks:
        if task not in PROBLEM_DEFAULTS:
            raise ValueError(
                f"no BO problem for task {task!r}; known: {sorted(PROBLEM_DEFAULTS)}"
            )
    for method in methods:
        get_method(method)
    if not seeds or any(
        isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds
    ):
        raise ValueError(f"seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")


def run_sweep(
    tasks: str | list[str],
    methods: list[str],
    seeds: list[int],
    steps: int,
    out: str,
    scheduler: str | None = None,
    workers: int = 2,
    n_init: int | None = None,
    q: int = 5,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str = "exact",
    threads: int = 1,
    processes: bool = True,
    command: str | None = None,
) -> pd.DataFrame:
    r"""Run every (task, method, seed) on a Dask cluster, resuming what exists.

    Args:
        tasks: A task name or a list of them.
        methods: Method names (``["paper"]`` expands to all the paper's methods).
        seeds: Run seeds.
        steps: BO steps per run.
        out: Sweep folder.
        scheduler: Address of a running Dask scheduler; ``None`` starts a
            ``LocalCluster`` with ``workers`` workers of one thread each.
        workers: Local workers (ignored with ``scheduler``).
        n_init: Initial set size (default: the task's).
        q: Points per BO step.
        lr: Gradient-ascent step (default: the task's).
        scales_grad: ``"cpa"`` or ``"exact"`` ScaLES gradient (see
            :class:`~scales_core.bo.config.BOConfig`).
        surrogate: ``"exact"`` GP or ``"deep_kernel"`` GP.
        threads: Torch threads per run.
        processes: Local workers are processes (``False``: threads, for tests).
        command: Command line for the run headers.

    Returns:
        One row per run: task, method, seed, path, status (``done``, ``skipped``
        or ``failed``), seconds, n_oracle, error.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    tasks = [tasks] if isinstance(tasks, str) else list(tasks)
    methods = list(PAPER_METHODS) if list(methods) == ["paper"] else list(methods)
    seeds = list(seeds)
    _check(tasks, methods, seeds, steps)
    SurrogateConfig(kind=surrogate)  # a bad kind fails here, not in every worker
    if scheduler is None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=processes
        )
    client = Client(scheduler or cluster)
    rows = []
    try:
        futures = {}
        for task in tasks:
            for method in methods:
                for seed in seeds:
                    key = f"bo-{task}-{method}-seed{seed}-{time.time_ns()}"
                    future = client.submit(
                        run_one,
                        task,
                        method,
                        seed,
                        steps,
                        out,
                        n_init=n_init,
                        q=q,
                        lr=lr,
                        scales_grad=scales_grad,
                        surrogate=surrogate,
                        threads=threads,
                        command=command,
                        key=key,
                        pure=False,
                    )
                    futures[future] = (task, method, seed)
        for future in as_completed(futures):
            task, method, seed = futures[future]
            try:
                row = {**future.result(), "error": None}
            except Exception as error:  # noqa: BLE001 - one failed run must not stop the rest
                row = dict(
                    task=task,
                    method=method,
                    seed=seed,
                    status="failed",
                    path=str(run_path(out, task, method, seed)),
                    seconds=None,
                    n_oracle=None,
                    error=f"{type(error).__name__}: {error}",
                )
                logger.error(
                    "%s/%s/seed%d failed: %s", task, method, seed, row["error"]
                )
            else:
                logger.info(
                    "%s/%s/seed%d %s (%.0f s)",
                    task,
                    method,
                    seed,
                    row["status"],
                    row["seconds"],
                )
            rows.append(row)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return pd.DataFrame(rows).sort_values(["task", "method", "seed"], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """The ``python -m scales_core.sweep`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m scales_core.sweep", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--task", nargs="+", default=["expressions"], help="task name(s)"
    )
    parser.add_argument(
        "--methods", nargs="+", required=True, help="method names, or 'paper'"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", required=True, help="sweep folder")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    parser.add_argument("--workers", type=int, default=2, help="local workers")
    parser.add_argument("--n-init", type=int, default=None)
    parser.add_argument("--q", type=int, default=5)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--scales-grad", choices=("cpa", "exact"), default="cpa")
    parser.add_argument(
        "--surrogate", choices=("exact", "deep_kernel"), default="exact"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    command = " ".join(
        ["python -m scales_core.sweep", *(sys.argv[1:] if argv is None else argv)]
    )
    status = run_sweep(
        args.task,
        args.methods,
        args.seeds,
        args.steps,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        n_init=args.n_init,
        q=args.q,
        lr=args.lr,
        scales_grad=args.scales_grad,
        surrogate=args.surrogate,
        threads=args.threads,
        command=command,
    )
    table = summarize_sweep(args.out)
    if not table.empty:
        cols = ["task", "method", "n_seeds", *METRICS]
        logger.info("summary of %s:\n%s", args.out, table[cols].to_string(index=False))
    failed = int((status["status"] == "failed").sum())
    if failed:
        logger.error("%d of %d runs failed", failed, len(status))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
