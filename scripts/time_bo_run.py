"""Time one expressions BO run per method and split each step's wall clock.

Runs the paper's expressions setting (checkpoint ``expressions_gru_1``, 500 initial
points, 100 steps, batch 5, lr 0.5) for each method on one torch thread and writes
``results/bo/timing.json``: total wall time, per-step GP fit / acquisition
optimization / oracle (decode + objective) / record (ScaLES value of the new
point) times, and the run's validity and top-1/top-10 objective.

    python scripts/time_bo_run.py [--methods ga scales_0.5] [--steps 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from scales_core.bo import BOConfig, gp_state_path, make_problem, run_bo
from scales_core.provenance import provenance, write_json
from scales_core.results import load_sweep, summarize_sweep
from scales_core.sweep import run_path

logger = logging.getLogger("time_bo_run")

SPLIT = ("fit_s", "acq_s", "oracle_s", "score_s")


def _split(steps: list[dict]) -> dict:
    out = {}
    for key in SPLIT:
        values = [s[key] for s in steps]
        out[key] = dict(
            total=sum(values),
            mean=statistics.fmean(values),
            median=statistics.median(values),
            max=max(values),
        )
    return out


def time_method(method: str, args: argparse.Namespace, folder: Path) -> dict:
    """Time one fresh expressions BO run of ``method``.

    Args:
        method: The BO method.
        args: The command-line arguments (``steps``, ``q``, ``lr``, ``seed``,
            ``n_init``, ``scales_grad``).
        folder: Where the run record is written (a stale one is deleted first).

    Returns:
        The wall, setup and per-step seconds with their fit / acquisition / oracle /
        score split, the loop overhead, and the run's validity, mean ScaLES,
        top-1/top-10 objective and best string.
    """
    path = run_path(folder, "expressions", method, args.seed)
    for stale in (path, gp_state_path(path)):
        stale.unlink(missing_ok=True)  # a resumed run would not be timed
    config = BOConfig(
        n_steps=args.steps, q=args.q, lr=args.lr, scales_grad=args.scales_grad
    )
    tic = time.perf_counter()
    problem = make_problem("expressions", n_init=args.n_init, seed=args.seed)
    setup_s = time.perf_counter() - tic
    data = run_bo(
        problem,
        method,
        args.seed,
        config,
        path=path,
        progress=True,
        command=" ".join(sys.argv),
    )
    wall_s = time.perf_counter() - tic
    steps = data.steps
    step_total = [sum(s[k] for k in SPLIT) for s in steps]
    table = summarize_sweep(load_sweep(folder)).set_index("method").loc[method]
    result = dict(
        method=method,
        wall_s=wall_s,
        setup_s=setup_s,
        n_steps=len(steps),
        n_oracle=len(data.oracle),
        step_s=dict(mean=statistics.fmean(step_total), max=max(step_total)),
        split=_split(steps),
        loop_overhead_s=wall_s - setup_s - sum(step_total),
        validity=float(table["validity_mean"]),
        mean_scales=float(table["mean_scales_mean"]),
        top1=float(table["top1_mean"]),
        top10=float(table["top10_mean"]),
        under_10_min=wall_s < 600,
        best_string=max(
            (r for r in data.oracle if r["valid"]),
            key=lambda r: r["objective"],
            default={},
        ).get("string"),
    )
    logger.info(
        "%s: %.0f s total; per step fit %.2f s, acq %.2f s, oracle %.3f s; "
        "validity %.2f, top1 %.3f, top10 %.3f",
        method,
        wall_s,
        result["split"]["fit_s"]["mean"],
        result["split"]["acq_s"]["mean"],
        result["split"]["oracle_s"]["mean"],
        result["validity"],
        result["top1"],
        result["top10"],
    )
    return result


def main() -> int:
    """Time one run per ``--methods`` and write the timings with provenance; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["ga", "scales_0.5"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--n-init", type=int, default=500)
    parser.add_argument("--q", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scales-grad", choices=("cpa", "exact"), default="cpa")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", default=None, help="keep the run records here")
    parser.add_argument("--out", default="results/bo/timing.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    folder = Path(args.runs or tempfile.mkdtemp(prefix="time_bo_"))
    load_before = os.getloadavg()
    runs = [time_method(m, args, folder) for m in args.methods]
    config = BOConfig(
        n_steps=args.steps, q=args.q, lr=args.lr, scales_grad=args.scales_grad
    )
    parameters = dict(
        task="expressions",
        checkpoint="expressions_gru_1",
        n_init=args.n_init,
        methods=args.methods,
        threads=args.threads,
        bo_config=config.to_dict(),
    )
    meta = provenance(parameters, args.seed, " ".join(["python", *sys.argv]))
    meta["machine"] = dict(
        cpu_count=os.cpu_count(),
        platform=platform.platform(),
        loadavg_before=load_before,
        loadavg_after=os.getloadavg(),
    )
    out = write_json(args.out, meta, runs=runs, runs_folder=str(folder))
    logger.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
