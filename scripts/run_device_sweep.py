"""Run a list of BO runs in parallel processes until a deadline (a lent GPU machine).

The same unit of work as ``python -m scales_core.sweep`` (:func:`scales_core.sweep.run_one`:
finished runs skipped, files gzipped when done), without Dask, for a machine that is
held for a fixed number of minutes: each process takes the next (method, seed) in the
given order and starts it only while its expected duration (the longest run it has
finished so far, or ``--first-run-s``) still fits before ``--deadline-s``. Runs that
are cut off stay partial and are not packed. At the end the finished runs are packed
into ``<pack>.<i>.tar`` parts (tars of ``<task>/<method>/seed<k>.jsonl.gz``) with a
JSON log of every run (seconds, device, status) beside them. ``--hard-stop-s`` packs
what has finished by then even if runs are still going.

    python scripts/run_device_sweep.py --task logp --device cuda --procs 2 --cpu-procs 12 \
        --deadline-s 480 --out /tmp/runs --pack $OUT/runs.tar \
        --jobs 0:ga,scales_0.5 1:ga,scales_0.5

Measured on one H100 (results/gpu/2026-11-26-logp-sweep.json): 14 processes sharing the
GPU took 437-533 s per 100-step logP run, so a GPU serves one or two processes and the
machine's other cores run CPU processes (``--cpu-procs``). A lease can hold fewer usable
cores than the machine has (one, in results/gpu/2026-11-26-guacamol-sweep.json, where 15
processes on one core finished nothing in 490 s): ``--cpu-procs`` is cut to the cores
``os.sched_getaffinity`` reports, less ``--procs``.

``--jobs`` items are ``SEED:METHOD,METHOD,...`` (of ``--task``) or
``TASK:SEED:METHOD,...``, taken in the order given. ``--gpu-only`` names methods that
only the ``--device`` processes take (e.g. the ScaLES runs, ten times faster there);
those processes take them before the rest. The initial-set files of ``<out>/_init``
that the finished runs refer to are packed with them.

    python scripts/run_device_sweep.py --device cuda --procs 3 --cpu-procs 12 \
        --deadline-s 420 --out /tmp/runs/guacamol --pack $OUT/runs.tar \
        --gpu-only scales_0.8,scales_es_50 \
        --jobs ranolazine_mpo:1:ga,scales_0.8,scales_es_50 zaleplon_mpo:1:ga,scales_0.8
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import platform
import sys
import tarfile
import time
from pathlib import Path

logger = logging.getLogger("run_device_sweep")


def _next_job(queues):
    # a blocking get with a timeout: an mp.Queue's items reach the pipe through a feeder
    # thread, so get_nowait right after the puts can see a filled queue as empty
    for queue in queues:
        try:
            return queue.get(timeout=2.0)
        except Exception:  # queue.Empty
            continue
    return None


def _worker(queues, results, args, t0: float, device: str, first: float) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from scales_core.bo.run_record import RunLockedError
    from scales_core.sweep import RunSpec, run_one

    durations: list[float] = []  # of this process's finished runs
    while (job := _next_job(queues)) is not None:
        task, method, seed = job
        head = dict(task=task, method=method, seed=seed, device=device)
        left = args.deadline_s - (time.time() - t0)
        if left < (max(durations) if durations else first):
            results.put(head | dict(status="not started", left_s=round(left, 1)))
            continue
        tic = time.time()
        try:
            spec = RunSpec(
                steps=args.steps, device=device, threads=1, command=" ".join(sys.argv)
            )
            row = run_one(task, method, seed, args.out, spec)
            seconds = time.time() - tic
            if row["status"] == "done":
                durations.append(seconds)
            results.put(
                head
                | dict(
                    status=row["status"],
                    seconds=round(seconds, 1),
                    n_oracle=row.get("n_oracle"),
                )
            )
        except RunLockedError:
            results.put(head | dict(status="locked"))
        except Exception as error:  # keep the other runs going, report the failure
            results.put(
                head | dict(status="failed", error=f"{type(error).__name__}: {error}")
            )


def parse_jobs(items: list[str], task: str | None) -> list[tuple[str, str, int]]:
    """``(task, method, seed)`` of ``SEED:M1,M2`` (of ``task``) or ``TASK:SEED:M1,M2`` items."""
    jobs = []
    for item in items:
        parts = item.split(":")
        if len(parts) == 2 and task is not None:
            parts = [task, *parts]
        if len(parts) != 3:
            raise SystemExit(
                f"--jobs item {item!r}: want TASK:SEED:METHODS "
                "(or SEED:METHODS with --task)"
            )
        name, seed, methods = parts
        jobs += [(name, m, int(seed)) for m in methods.split(",") if m]
    return jobs


def finished_files(out: Path) -> list[Path]:
    """The ``_init`` files under ``out`` (initial latents, cached scores) and its finished runs."""
    return sorted((out / "_init").glob("*.npy")) + sorted(
        out.glob("*/*/seed*.jsonl.gz")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the ``--jobs`` in parallel processes until the deadline, then pack them.

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default=None, help="the task of SEED:METHODS items")
    parser.add_argument(
        "--jobs", nargs="+", required=True, help="SEED:M1,M2,... or TASK:SEED:M1,M2,..."
    )
    parser.add_argument(
        "--gpu-only",
        default="",
        help="comma-separated methods only --device processes take",
    )
    parser.add_argument("--steps", type=int, default=None, help="default: the task's")
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--procs",
        type=int,
        default=2,
        help="processes on --device (one or two per GPU)",
    )
    parser.add_argument(
        "--cpu-procs",
        type=int,
        default=0,
        help="more processes on the CPU, one core each",
    )
    parser.add_argument(
        "--deadline-s",
        type=float,
        required=True,
        help="no run is started that would not finish by then",
    )
    parser.add_argument(
        "--hard-stop-s",
        type=float,
        default=None,
        help="pack what has finished by then and stop the rest",
    )
    parser.add_argument(
        "--first-run-s",
        type=float,
        default=150.0,
        help="expected run time before a process has finished one",
    )
    parser.add_argument(
        "--first-cpu-run-s",
        type=float,
        default=None,
        help="the same for CPU processes (default: --first-run-s)",
    )
    parser.add_argument("--out", required=True, help="sweep folder")
    parser.add_argument(
        "--pack",
        required=True,
        help="tar of the finished runs (split into <pack>.<i>.tar "
        "parts of at most --part-mb)",
    )
    parser.add_argument("--part-mb", type=float, default=14.0)
    args = parser.parse_args(argv)
    if args.first_cpu_run_s is None:
        args.first_cpu_run_s = args.first_run_s
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cpus = len(os.sched_getaffinity(0))
    if args.procs + args.cpu_procs > cpus:
        logger.warning(
            "%d processes asked for, %d cores usable here: %d CPU processes "
            "instead of %d",
            args.procs + args.cpu_procs,
            cpus,
            max(0, cpus - args.procs),
            args.cpu_procs,
        )
        args.cpu_procs = max(0, cpus - args.procs)
    t0 = time.time()
    jobs = parse_jobs(args.jobs, args.task)
    gpu_only = set(filter(None, args.gpu_only.split(",")))
    ctx = mp.get_context("spawn")
    gpu_queue, queue, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    for job in jobs:
        (gpu_queue if job[1] in gpu_only else queue).put(job)
    workers = [([gpu_queue, queue], args.device, args.first_run_s)] * args.procs + [
        ([queue], "cpu", args.first_cpu_run_s)
    ] * args.cpu_procs
    procs = [
        ctx.Process(target=_worker, args=(queues, results, args, t0, device, first))
        for queues, device, first in workers
    ]
    for p in procs:
        p.start()
    rows = []
    while len(rows) < len(jobs):
        if args.hard_stop_s is not None and time.time() - t0 > args.hard_stop_s:
            logger.warning(
                "hard stop: %d runs cut off", sum(p.is_alive() for p in procs)
            )
            break
        try:
            row = results.get(timeout=5)
        except Exception:
            if not any(p.is_alive() for p in procs):
                break
            continue
        rows.append(row)
        logger.info(
            "%s/%s/seed%s %s %s %s",
            row["task"],
            row["method"],
            row["seed"],
            row["device"],
            row["status"],
            row.get("seconds", row.get("error", "")),
        )
    for p in procs:
        p.join(timeout=1)
        if p.is_alive():
            p.terminate()
    out = Path(args.out)
    finished = finished_files(out)
    parts: list[list[Path]] = [[]]
    for path in finished:
        if (
            sum(f.stat().st_size for f in parts[-1]) + path.stat().st_size
            > args.part_mb * 2**20
        ):
            parts.append([])
        parts[-1].append(path)
    stem = Path(args.pack).with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(parts):
        with tarfile.open(f"{stem}.{i}.tar", "w") as tar:
            for path in part:
                tar.add(path, arcname=str(path.relative_to(out)))
    import torch

    from scales_core.provenance import provenance

    log = dict(
        meta=provenance(command=" ".join(sys.argv), parameters=vars(args), seed=None)
        | dict(
            machine=platform.machine(),
            cpus=cpus,
            torch=torch.__version__,
            device_name=torch.cuda.get_device_name(0)
            if args.device.startswith("cuda")
            else platform.processor(),
        ),
        wall_s=round(time.time() - t0, 1),
        packed=[str(p.relative_to(out)) for p in finished],
        runs=rows,
    )
    Path(args.pack).with_suffix(".json").write_text(json.dumps(log, indent=1))
    logger.info(
        "packed %d finished runs into %d parts %s.<i>.tar",
        len(finished),
        len(parts),
        stem,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
