r"""The ``python -m scales_core.sweep`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..bo.presets import PRESETS, preset_fields
from ..datasets import dataset_for_task, import_records
from ..results import METRICS, summarize_sweep
from .run import run_sweep

__all__ = ["main"]

logger = logging.getLogger("scales_core.sweep")

DESCRIPTION = (
    "Sweeps of BO runs over tasks x methods x seeds on Dask, and their summary tables."
)


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
        prog="python -m scales_core.sweep", description=DESCRIPTION
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
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="local Dask workers (0: every run in this process, one after another)",
    )
    parser.add_argument("--n-init", type=int, default=None)
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="the VAE (default: the task record's BO model)",
    )
    parser.add_argument(
        "--positions",
        type=int,
        default=None,
        help="leading positions of the BO scores (default: the record's)",
    )
    parser.add_argument("--q", type=int, default=None, help="default: the task's")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--scales-grad", choices=("cpa", "exact"), default="cpa")
    parser.add_argument(
        "--surrogate",
        choices=("exact", "deep_kernel"),
        default=None,
        help="default: the dataset record's (deep_kernel for the GuacaMol tasks)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        dest="overrides",
        help="other BOConfig fields, e.g. half_width=0.3 scales_prior=latent",
    )
    parser.add_argument(
        "--records",
        nargs="+",
        default=[],
        metavar="MODULE",
        help="modules (names or .py paths) that register your dataset records and tasks",
    )
    parser.add_argument(
        "--preset",
        default=None,
        choices=sorted(PRESETS),
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
