r"""Sweeps of BO runs over tasks x methods x seeds on Dask, and their summary tables.

.. code-block:: bash

    python -m scales_core.sweep --task expressions --methods ga scales_0.5 \
        --seeds 0 1 2 --steps 100 --out results/bo/expressions [--workers 2] \
        [--scheduler tcp://host:8786]

Each run writes ``<out>/<task>/<method>/seed<seed>.jsonl`` (see
:mod:`scales_core.bo.records`). Finished runs are skipped and partial ones resumed,
so the same command continues an interrupted sweep. Before any worker starts, the
arguments are checked and every existing run file's header is compared with the
requested configuration: a mismatch is refused, naming the fields that differ
(an old result is never reported as a new one). A run file being written by
another process is locked, so that run fails instead of being run twice. Repeated
seeds or methods are run once. From a notebook (all parameters are plain types, as
papermill needs)::

    out = "results/bo/expressions"
    status = run_sweep("expressions", ["ga", "scales_0.5"], [0, 1, 2], 100, out)
    table = summarize_sweep(load_sweep(out))
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from ._checks import is_int
from .bo.config import BOConfig
from .bo.init_store import InitStore
from .bo.loop import run_bo
from .bo.methods import PAPER_METHODS, get_method
from .bo.presets import PRESETS, preset_fields
from .bo.problem import make_problem, problem_info
from .bo.records import (
    compact_run,
    header_differences,
    read_run,
    remove_leftover,
    stored_run_path,
)
from .results import METRICS, summarize_sweep
from .bo.surrogate import SurrogateConfig
from .datasets import dataset_for_task, import_records

__all__ = [
    "check_existing",
    "main",
    "run_config",
    "run_one",
    "run_path",
    "run_sweep",
]

logger = logging.getLogger(__name__)


def run_path(out: str | Path, task: str, method: str, seed: int) -> Path:
    """Where the record of one run lives."""
    return Path(out) / task / method / f"seed{seed}.jsonl"


def run_one(
    task: str,
    method: str,
    seed: int,
    steps: int | None,
    out: str,
    n_init: int | None = None,
    q: int | None = None,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str | None = None,
    threads: int = 1,
    progress: bool = False,
    command: str | None = None,
    device: str = "cpu",
    overrides: dict | None = None,
    compact: bool = True,
    checkpoint: str | None = None,
    positions: int | None = None,
    records: tuple[str, ...] = (),
) -> dict:
    r"""Run, resume or skip one BO run (the unit of work of a sweep).

    Args:
        task: Task name.
        method: Method name.
        seed: Run seed.
        steps: BO steps (``None``: the task's).
        out: Sweep folder.
        n_init: Initial set size (default: the task's).
        q: Points per BO step (``None``: the task's).
        lr: Gradient-ascent step (default: the task's).
        scales_grad: ``"cpa"`` or ``"exact"`` ScaLES gradient (see
            :class:`~scales_core.bo.config.BOConfig`).
        surrogate: ``"exact"`` GP or ``"deep_kernel"`` GP (default: the
            dataset record's surrogate).
        threads: ``torch.set_num_threads`` for this process.
        progress: Show the run's tqdm bar.
        command: Command line for the run header.
        device: Where the run computes (``"cpu"``, ``"cuda"``; see
            :class:`~scales_core.bo.config.BOConfig`).
        overrides: Other :class:`~scales_core.bo.config.BOConfig` fields, e.g.
            ``{"half_width": 0.3}``.
        compact: Gzip the finished run with float32 latents
            (:func:`~scales_core.bo.records.compact_run`).
        checkpoint: The VAE (default: the task record's BO model).
        positions: Leading positions of the BO scores (default: the record's).
        records: Modules (importable names or ``.py`` paths) that register dataset
            records and tasks (:func:`~scales_core.datasets.import_records`), imported first.

    Returns:
        ``{"task", "method", "seed", "path", "status", "seconds", "n_oracle"}``;
        status is ``"skipped"`` (already done) or ``"done"``.

    Raises:
        ValueError: when the existing run file was written with another
            configuration (the message names the fields), or is not a run record.
        scales_core.bo.RunLockedError: when another process is writing the run.
    """
    import torch

    import_records(records)  # a worker process sees the user's records too
    path = run_path(out, task, method, seed)
    row = dict(task=task, method=method, seed=seed, path=str(path))
    config = run_config(task, steps, q, lr, scales_grad, surrogate, device, overrides)
    stored_path = stored_run_path(path)  # the .jsonl, or the .jsonl.gz of a finished run
    if stored_path is not None:
        stored = read_run(stored_path)
        _refuse_mismatch(
            [(stored_path, header_differences(
                stored.header,
                _header(task, method, seed, config, n_init, checkpoint, positions)))]
        )
        if stored.done is not None:
            if stored_path == path and compact:  # finished before compaction existed
                compact_run(path, sweep_init_store(out))
            remove_leftover(path)  # a kill inside compaction left the .jsonl too
            return {**row, "status": "skipped", "seconds": 0.0, "n_oracle": None}
    torch.set_num_threads(threads)
    tic = time.perf_counter()
    problem = make_problem(task, n_init=n_init, seed=seed, checkpoint=checkpoint,
                           positions=positions)
    data = run_bo(
        problem, method, seed, config, path=path, progress=progress, command=command,
        compact=compact, init_store=sweep_init_store(out),
    )
    return {
        **row,
        "status": "done",
        "seconds": time.perf_counter() - tic,
        "n_oracle": len(data.oracle),
    }


def sweep_init_store(out: str | os.PathLike) -> InitStore:
    """The :class:`~scales_core.bo.init_store.InitStore` of a sweep folder: ``<out>/_init``."""
    return InitStore(Path(out) / "_init")


def run_config(
    task: str,
    steps: int | None = None,
    q: int | None = None,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str | None = None,
    device: str = "cpu",
    overrides: dict | None = None,
) -> BOConfig:
    """The :class:`~scales_core.bo.config.BOConfig` of a sweep run (validates it).

    ``steps``, ``q``, ``lr`` and the box ``half_width`` default to the task's dataset
    record (:meth:`scales_core.datasets.Dataset.bo_config_fields`, the box in
    latent scales); ``overrides`` sets other fields (``half_width`` included; a
    field that has its own argument is an error there).
    """
    fields = dataset_for_task(task).bo_config_fields()
    given = dict(n_steps=steps, q=q, lr=lr)
    fields.update({k: v for k, v in given.items() if v is not None})
    own = dict(scales_grad=scales_grad, device=device)
    if surrogate is not None:  # the record's surrogate fields, of this kind
        own["surrogate"] = SurrogateConfig(**{**fields.pop("surrogate", {}), "kind": surrogate})
    overrides = dict(overrides or {})
    twice = sorted((set(given) | set(own)) & set(overrides))
    if twice:
        raise ValueError(f"set {twice} with their own options, not as overrides")
    try:
        return BOConfig(**{**fields, **own, **overrides})
    except TypeError as error:  # an unknown field name
        raise ValueError(f"bad BOConfig override {overrides}: {error}") from None


def _header(
    task: str, method: str, seed: int, config: BOConfig, n_init: int | None,
    checkpoint: str | None = None, positions: int | None = None,
) -> dict:
    """The header fields of a run that must match a stored file to reuse it."""
    spec = get_method(method)
    return {
        "task": task,
        "method": spec.name,
        "method_config": spec.to_dict(),
        "parameters": config.to_dict(),
        "problem": problem_info(task, n_init, seed, checkpoint, positions),
        "seed": seed,
    }


def _refuse_mismatch(found: list[tuple[Path, list[str]]]) -> None:
    """Raise naming every run file whose header differs from the request."""
    found = [(path, diff) for path, diff in found if diff]
    if not found:
        return
    details = "\n".join(f"  {path}: " + "; ".join(diff) for path, diff in found)
    raise ValueError(
        f"{len(found)} existing run file(s) were written with another "
        f"configuration:\n{details}\nRerun with the stored settings, choose "
        "another --out folder, or move those files away to start them afresh."
    )


#: Seconds to wait for a Dask scheduler before giving up with a one-line error.
SCHEDULER_TIMEOUT_S = 10


def _check_run_inputs(tasks, methods, out, configs, n_init, checkpoint, positions) -> None:
    """What every worker would fail on, refused once before any worker starts."""
    from .bo.step import OPTIMIZERS
    from .jacobian import check_positions

    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the sweep's runs")
    check_positions(positions)
    for task in tasks:
        record = dataset_for_task(task)
        if checkpoint is not None and checkpoint not in record.models \
                and not Path(str(checkpoint)).is_dir():
            raise ValueError(
                f"task {task!r} ({record.name}) has no checkpoint {checkpoint!r}; use one "
                f"of {record.models} or a folder written by save_vae"
            )
        n = record.bo.n_init if n_init is None else n_init
        for method in methods:
            spec = get_method(method)
            need = configs[task].q * OPTIMIZERS[spec.optimizer].restarts(configs[task])
            if n < need:
                raise ValueError(
                    f"{method} on {task} needs at least q x restarts = {need} initial "
                    f"points, got n_init={n}"
                )


def _unique(name: str, values: list) -> list:
    """``values`` without repeats (first occurrence kept), warning about repeats."""
    unique = list(dict.fromkeys(values))
    if len(unique) < len(values):
        warnings.warn(
            f"{name} {values!r} has repeats; each run is done once: {unique!r}",
            stacklevel=3,
        )
    return unique


def _check(
    tasks: list[str],
    methods: list[str],
    seeds: list[int],
    steps: int | None,
    n_init: int | None = None,
    threads: int = 1,
) -> None:
    for task in tasks:
        dataset_for_task(task)  # "no BO problem for task ..." for an unknown one
    if not methods:
        raise ValueError("methods must name at least one method")
    for method in methods:
        get_method(method)
    if not seeds or not all(is_int(s, 0) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    if steps is not None and not is_int(steps, 0):
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if n_init is not None and not is_int(n_init, 1):
        raise ValueError(f"n_init must be an int >= 1 or None, got {n_init!r}")
    if not is_int(threads, 1):
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")


def check_existing(
    tasks: list[str],
    methods: list[str],
    seeds: list[int],
    out: str | Path,
    configs: dict[str, BOConfig],
    n_init: int | None = None,
    checkpoint: str | None = None,
    positions: int | None = None,
) -> None:
    """Compare the headers of existing run files with the requested runs.

    Raises:
        ValueError: naming each file whose header differs (field by field) or
            that is not a run record.
    """
    found = []
    for task in tasks:
        for method in methods:
            for seed in seeds:
                path = stored_run_path(run_path(out, task, method, seed))
                if path is None:
                    continue
                try:
                    header = read_run(path).header
                except ValueError as error:
                    found.append((path, [str(error)]))
                    continue
                wanted = _header(task, method, seed, configs[task], n_init, checkpoint,
                                 positions)
                found.append((path, header_differences(header, wanted)))
    _refuse_mismatch(found)


def run_sweep(
    tasks: str | list[str],
    methods: list[str],
    seeds: list[int],
    steps: int | None,
    out: str,
    scheduler: str | None = None,
    workers: int = 2,
    n_init: int | None = None,
    q: int | None = None,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str | None = None,
    threads: int = 1,
    processes: bool = True,
    command: str | None = None,
    device: str = "cpu",
    overrides: dict | None = None,
    compact: bool = True,
    checkpoint: str | None = None,
    positions: int | None = None,
    records: tuple[str, ...] = (),
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
        q: Points per BO step (``None``: the task's).
        lr: Gradient-ascent step (default: the task's).
        scales_grad: ``"cpa"`` or ``"exact"`` ScaLES gradient (see
            :class:`~scales_core.bo.config.BOConfig`).
        surrogate: ``"exact"`` GP or ``"deep_kernel"`` GP (default: the
            dataset record's surrogate).
        threads: Torch threads per run.
        processes: Local workers are processes (``False``: threads, for tests).
        command: Command line for the run headers.
        device: Where each run computes (a GPU sweep wants one worker per GPU).
        overrides: Other :class:`~scales_core.bo.config.BOConfig` fields of every
            run (``--set half_width=0.3`` on the command line).
        compact: Gzip each finished run with float32 latents.
        checkpoint: The VAE of every run (default: each task record's BO model).
        positions: Leading positions of the BO scores (default: each record's).
        records: Modules registering the user's records and tasks
            (:func:`~scales_core.datasets.import_records`), imported here and in every worker.

    Returns:
        One row per run: task, method, seed, path, status (``done``, ``skipped``
        or ``failed``), seconds, n_oracle, error.
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    records = tuple(records)
    import_records(records)  # before the checks: they look the tasks up
    tasks = _unique("tasks", [tasks] if isinstance(tasks, str) else list(tasks))
    methods = list(PAPER_METHODS) if list(methods) == ["paper"] else list(methods)
    methods = _unique("methods", methods)
    seeds = _unique("seeds", list(seeds))
    _check(tasks, methods, seeds, steps, n_init, threads)
    # a bad q, lr, scales_grad or surrogate fails here, not in every worker
    configs = {
        task: run_config(task, steps, q, lr, scales_grad, surrogate, device, overrides)
        for task in tasks
    }
    if scheduler is None and not is_int(workers, 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    _check_run_inputs(tasks, methods, out, configs, n_init, checkpoint, positions)
    check_existing(tasks, methods, seeds, out, configs, n_init, checkpoint, positions)
    cluster = None
    if scheduler is None:
        with dask.config.set(_worker_environ()):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=processes
            )
    try:
        client = Client(scheduler or cluster, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError) as error:
        if cluster is not None:
            cluster.close()
        raise ValueError(
            f"no Dask scheduler answered at {scheduler or 'the local cluster'} within "
            f"{SCHEDULER_TIMEOUT_S} s ({type(error).__name__}); start it first or drop "
            "--scheduler to use local workers"
        ) from None
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
                        device=device,
                        overrides=overrides,
                        compact=compact,
                        checkpoint=checkpoint,
                        positions=positions,
                        records=records,
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


def _worker_environ() -> dict:
    """The Dask configuration of local workers' environment.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536``, which makes glibc hand
    every large temporary back to the kernel and fault it in again: a ScaLES
    ascent step through the SELFIES transformer (tensors of 256 tangents x 60
    positions) took 13.4 s per point under it and 6.9 s under glibc's default
    (one thread). The threshold is left to glibc; the other variables (thread
    caps) stay.
    """
    import dask
    import distributed  # noqa: F401 - loads its configuration defaults

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.nanny.pre-spawn-environ": environ}


def _parse_overrides(items: list[str]) -> dict:
    """``["half_width=0.3", "scales_prior=latent"]`` -> a dict (JSON values, or strings)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes FIELD=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _preset_for_tasks(preset: str, tasks: list[str]) -> tuple[dict, int | None]:
    """A preset's fields for the tasks' dataset records (the same for all of them)."""
    found = {
        repr(preset_fields(preset, dataset_for_task(task).name)): task for task in tasks
    }
    if len(found) > 1:
        raise ValueError(
            f"preset {preset!r} differs between the tasks {sorted(found.values())}: "
            "run them as separate sweeps"
        )
    return preset_fields(preset, dataset_for_task(tasks[0]).name)


def main(argv: list[str] | None = None) -> int:
    """The ``python -m scales_core.sweep`` command line; returns the exit status.

    0: every run done or skipped; 1: some runs failed; 2: nothing was run (bad
    arguments, or existing run files written with another configuration).
    """
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
    parser.add_argument("--steps", type=int, default=None, help="default: the task's")
    parser.add_argument("--out", required=True, help="sweep folder")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    parser.add_argument("--workers", type=int, default=2, help="local workers")
    parser.add_argument("--n-init", type=int, default=None)
    parser.add_argument("--checkpoint", default=None,
                        help="the VAE (default: the task record's BO model)")
    parser.add_argument("--positions", type=int, default=None,
                        help="leading positions of the BO scores (default: the record's)")
    parser.add_argument("--q", type=int, default=None, help="default: the task's")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--scales-grad", choices=("cpa", "exact"), default="cpa")
    parser.add_argument(
        "--surrogate", choices=("exact", "deep_kernel"), default=None,
        help="default: the dataset record's (deep_kernel for the GuacaMol tasks)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--set", nargs="+", default=[], metavar="FIELD=VALUE", dest="overrides",
        help="other BOConfig fields, e.g. half_width=0.3 scales_prior=latent",
    )
    parser.add_argument(
        "--records", nargs="+", default=[], metavar="MODULE",
        help="modules (names or .py paths) that register your dataset records and tasks",
    )
    parser.add_argument(
        "--preset", default=None, choices=sorted(PRESETS),
        help="a published pipeline's fields (scales_core.bo.presets); --set and "
        "--positions override single components",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    command = " ".join(
        ["python -m scales_core.sweep", *(sys.argv[1:] if argv is None else argv)]
    )
    try:
        import_records(args.records)
        overrides = _parse_overrides(args.overrides)
        positions = args.positions
        if args.preset is not None:
            fields, preset_positions = _preset_for_tasks(args.preset, args.task)
            overrides = {**fields, **overrides}
            positions = preset_positions if positions is None else positions
        status = run_sweep(
            args.task,
            args.methods,
            args.seeds,
            args.steps,
            args.out,
            scheduler=args.scheduler,
            workers=args.workers,
            n_init=args.n_init,
            checkpoint=args.checkpoint,
            positions=positions,
            q=args.q,
            lr=args.lr,
            scales_grad=args.scales_grad,
            surrogate=args.surrogate,
            threads=args.threads,
            command=command,
            device=args.device,
            overrides=overrides,
            records=tuple(args.records),
        )
    except ValueError as error:  # bad arguments or mismatched run files: no run
        logger.error("nothing was run: %s", error)
        return 2
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
