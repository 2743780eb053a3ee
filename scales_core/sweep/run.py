r"""Running a sweep: one run (:func:`run_one`) and many on Dask (:func:`run_sweep`)."""

from __future__ import annotations

import logging
import os
import time
import warnings
from functools import partial
from pathlib import Path

import pandas as pd

from .._checks import is_int
from ..bo.compaction import compact_run, remove_leftover
from ..bo.config import BOConfig
from ..bo.init_store import InitStore
from ..bo.loop import run_bo
from ..bo.methods import PAPER_METHODS, MethodConfig, get_method
from ..bo.problem import make_problem
from ..bo.run_record import header_differences, read_run, stored_run_path
from ..datasets import dataset_for_task, import_records
from .spec import RunSpec

__all__ = [
    "SCHEDULER_TIMEOUT_S",
    "check_existing",
    "run_one",
    "run_path",
    "run_sweep",
    "sweep_init_store",
]

logger = logging.getLogger("scales_core.sweep")


def run_path(out: str | Path, task: str, method: str, seed: int) -> Path:
    """Where the record of one run lives."""
    return Path(out) / task / method / f"seed{seed}.jsonl"


def run_one(
    task: str,
    method: str | MethodConfig,
    seed: int,
    out: str,
    spec: RunSpec | None = None,
) -> dict:
    r"""Run, resume or skip one BO run (the unit of work of a sweep).

    Args:
        task: Task name.
        method: Method name or config.
        seed: Run seed.
        out: Sweep folder.
        spec: The settings the sweep's runs share (default: ``RunSpec()``, the
            task's own).

    Returns:
        ``{"task", "method", "seed", "path", "status", "seconds", "n_oracle"}``;
        status is ``"skipped"`` (already done) or ``"done"``.

    Raises:
        ValueError: when the existing run file was written with another
            configuration (the message names the fields), or is not a run record.
        scales_core.bo.RunLockedError: when another process is writing the run.
    """
    import torch

    spec = RunSpec() if spec is None else spec
    import_records(spec.records)  # a worker process sees the user's records too
    method = get_method(method)
    path = run_path(out, task, method.name, seed)
    row = dict(task=task, method=method.name, seed=seed, path=str(path))
    config = spec.bo_config(task)
    stored_path = stored_run_path(
        path
    )  # the .jsonl, or the .jsonl.gz of a finished run
    if stored_path is not None:
        stored = read_run(stored_path)
        _refuse_mismatch(
            [
                (
                    stored_path,
                    header_differences(
                        stored.header, spec.header(task, method, seed, config)
                    ),
                )
            ]
        )
        if stored.done is not None:
            if (
                stored_path == path and spec.compact
            ):  # finished before compaction existed
                compact_run(path, sweep_init_store(out))
            remove_leftover(path)  # a kill inside compaction left the .jsonl too
            return {**row, "status": "skipped", "seconds": 0.0, "n_oracle": None}
    torch.set_num_threads(spec.threads)
    tic = time.perf_counter()
    problem = make_problem(
        task,
        n_init=spec.n_init,
        seed=seed,
        checkpoint=spec.checkpoint,
        positions=spec.positions,
    )
    data = run_bo(
        problem,
        method,
        seed,
        config,
        path=path,
        progress=spec.progress,
        command=spec.command,
        compact=spec.compact,
        init_store=sweep_init_store(out),
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


def _check_run_inputs(
    tasks: list[str],
    methods: list[MethodConfig],
    out: str,
    configs: dict[str, BOConfig],
    spec: RunSpec,
) -> None:
    """What every worker would fail on, refused once before any worker starts."""
    from ..bo.strategies import OPTIMIZERS
    from ..jacobian import check_positions

    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file; give a folder for the sweep's runs")
    check_positions(spec.positions)
    checkpoint = spec.checkpoint
    for task in tasks:
        record = dataset_for_task(task)
        if (
            checkpoint is not None
            and checkpoint not in record.models
            and not Path(str(checkpoint)).is_dir()
        ):
            raise ValueError(
                f"task {task!r} ({record.name}) has no checkpoint {checkpoint!r}; use one "
                f"of {record.models} or a folder written by save_vae"
            )
        n = record.bo.n_init if spec.n_init is None else spec.n_init
        for method in methods:
            need = configs[task].q * OPTIMIZERS[method.optimizer].restarts(
                configs[task]
            )
            if n < need:
                raise ValueError(
                    f"{method.name} on {task} needs at least q x restarts = {need} initial "
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
    tasks: list[str], methods: list[str], seeds: list[int]
) -> list[MethodConfig]:
    """Refuse unknown tasks, bad seeds; the methods, parsed (once per sweep)."""
    for task in tasks:
        dataset_for_task(task)  # "no BO problem for task ..." for an unknown one
    if not methods:
        raise ValueError("methods must name at least one method")
    parsed = [get_method(method) for method in methods]
    if not seeds or not all(is_int(s, 0) for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of ints >= 0, got {seeds!r}")
    return parsed


def check_existing(
    tasks: list[str],
    methods: list[str | MethodConfig],
    seeds: list[int],
    out: str | Path,
    spec: RunSpec,
    configs: dict[str, BOConfig] | None = None,
) -> None:
    """Compare the headers of existing run files with the requested runs.

    Args:
        tasks: Task names.
        methods: Method names or configs.
        seeds: Run seeds.
        out: Sweep folder.
        spec: The runs' shared settings.
        configs: Task -> its runs' config (default: ``spec.bo_config(task)``).

    Raises:
        ValueError: naming each file whose header differs (field by field) or
            that is not a run record.
    """
    found = []
    for task in tasks:
        config = spec.bo_config(task) if configs is None else configs[task]
        for method in map(get_method, methods):
            for seed in seeds:
                path = stored_run_path(run_path(out, task, method.name, seed))
                if path is None:
                    continue
                try:
                    header = read_run(path).header
                except ValueError as error:
                    found.append((path, [str(error)]))
                    continue
                found.append(
                    (
                        path,
                        header_differences(
                            header, spec.header(task, method, seed, config)
                        ),
                    )
                )
    _refuse_mismatch(found)


def run_sweep(
    tasks: str | list[str],
    methods: list[str],
    seeds: list[int],
    steps: int | None,
    out: str,
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = True,
    **settings,
) -> pd.DataFrame:
    r"""Run every (task, method, seed) on a Dask cluster, resuming what exists.

    Args:
        tasks: A task name or a list of them.
        methods: Method names (``["paper"]`` expands to all the paper's methods).
        seeds: Run seeds.
        steps: BO steps per run (``None``: each task's).
        out: Sweep folder.
        scheduler: Address of a running Dask scheduler; ``None`` starts a
            ``LocalCluster`` with ``workers`` workers of one thread each.
        workers: Local workers (ignored with ``scheduler``); ``0`` runs every run
            in this process, one after another, without Dask (a debugger or a
            ``kill -STOP`` of this process then reaches the runs).
        processes: Local workers are processes (``False``: threads, for tests).
        **settings: The other :class:`~scales_core.sweep.spec.RunSpec` fields, shared
            by every run (e.g. ``n_init=12``, ``q=2``, ``overrides={"half_width":
            0.3}``, ``records=("my_records.py",)``).

    Returns:
        A frame with one row per run and the columns task, method, seed, path,
        status (``done``, ``skipped`` or ``failed``), seconds, n_oracle and error.
    """
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    spec = RunSpec.of(steps, **settings)
    import_records(spec.records)  # before the checks: they look the tasks up
    tasks = _unique("tasks", [tasks] if isinstance(tasks, str) else list(tasks))
    methods = list(PAPER_METHODS) if list(methods) == ["paper"] else list(methods)
    methods = _unique("methods", methods)
    seeds = _unique("seeds", list(seeds))
    methods = _check(tasks, methods, seeds)
    # a bad q, lr, scales_grad or surrogate fails here, not in every worker
    configs = {task: spec.bo_config(task) for task in tasks}
    if scheduler is None and not is_int(workers, 0):
        raise ValueError(f"workers must be an int >= 0, got {workers!r}")
    _check_run_inputs(tasks, methods, out, configs, spec)
    check_existing(tasks, methods, seeds, out, spec, configs)
    jobs = [
        (task, method, seed) for task in tasks for method in methods for seed in seeds
    ]
    if scheduler is None and workers == 0:
        rows = [
            _status_row(
                out,
                task,
                method.name,
                seed,
                partial(run_one, task, method, seed, out, spec),
            )
            for task, method, seed in jobs
        ]
        return _status_frame(rows)
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
    try:
        futures = {
            client.submit(
                run_one,
                task,
                method,
                seed,
                out,
                spec,
                key=f"bo-{task}-{method.name}-seed{seed}-{time.time_ns()}",
                pure=False,
            ): (task, method.name, seed)
            for task, method, seed in jobs
        }
        rows = [
            _status_row(out, *futures[future], future.result)
            for future in as_completed(futures)
        ]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _status_frame(rows)


def _status_row(out: str, task: str, method: str, seed: int, result) -> dict:
    """One run's status row, logged: ``result()``'s, or a failed row.

    One failed run must not stop the rest of the sweep.
    """
    try:
        row = {**result(), "error": None}
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
        logger.error("%s/%s/seed%d failed: %s", task, method, seed, row["error"])
    else:
        logger.info(
            "%s/%s/seed%d %s (%.0f s)",
            task,
            method,
            seed,
            row["status"],
            row["seconds"],
        )
    return row


def _status_frame(rows: list[dict]) -> pd.DataFrame:
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
