"""The GPU check: CUDA tests, the score benchmark on CUDA, a 20-step SELFIES BO run.

    SCALES_DATA_DIR=... python scripts/gpu_check.py [--out results/gpu] [--quick]

Writes ``<out>/<date>.json`` with provenance (command, parameters, seed, commit,
GPU, torch) and:

* ``tests``: the pytest summary of ``tests/test_devices.py``;
* ``rows``: benchmark rows with the keys of ``results/benchmark_score.json``
  (CUDA graphs on), and ``rows_eager`` (``SCALES_CUDA_GRAPHS=0``) beside them;
* ``agreement``: the GPU score against a float64 CPU evaluation (relative error);
* ``bo``: a 20-step BO run (ScaLES lambda 0.5, ranolazine MPO, SELFIES VAE) on
  CUDA, with validity, the best value and the median wall clock per step.

Run through ``scripts/gpu_check.sh``; it takes about 3 minutes on one H100/H200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from benchmark_score import bench, load_decoder, markdown, warm_up  # noqa: E402

import scales_core as sc  # noqa: E402
from scales_core.provenance import provenance  # noqa: E402


def log(msg: str) -> None:
    """Write ``msg`` to stdout as a timestamped progress line and flush it."""
    sys.stdout.write(f"[gpu_check {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stdout.flush()


def run_tests(log_path: Path) -> dict:
    """Run ``tests/test_devices.py`` under pytest, its full output written to ``log_path``.

    Returns:
        The return code, pytest's summary line, the passed/failed/skipped/error
        counts in it, and the seconds taken.
    """
    tic = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_devices.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    log_path.write_text(proc.stdout + proc.stderr)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {
        k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)
    }
    sys.stdout.write(proc.stdout[-1500:])
    return {
        "returncode": proc.returncode,
        "summary": tail,
        **counts,
        "seconds": time.perf_counter() - tic,
    }


def breakdown(device: torch.device, repeats: int) -> list[dict]:
    """Where the SMILES time goes: the decoder's forward mode and the log-determinant."""
    from scales_core.jacobian import logits_and_jacobian
    from scales_core.logdet import log_det_paper
    from scales_core.timing import median_time

    def timed(fn):
        def run():
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        return median_time(run, repeats, warmup=2)

    rows = []
    for dtype in (torch.float32, torch.float64):
        dec = load_decoder("smiles_gru_1", device, dtype)
        for B in (10, 100):
            z = torch.randn(B, 56, generator=torch.Generator().manual_seed(0)).to(
                device, dtype
            )

            def jac_grad():
                x = z.clone().requires_grad_()
                logits, A = logits_and_jacobian(dec, x)
                torch.autograd.grad(logits.sum() + A.sum(), x)

            with torch.no_grad():
                logits, A = logits_and_jacobian(dec, z)

            def det_grad():
                lg, a = logits.clone().requires_grad_(), A.clone().requires_grad_()
                torch.autograd.grad(log_det_paper(lg, a).sum(), (lg, a))

            def qr_grad():
                Y = A.to(torch.float64).requires_grad_()
                torch.autograd.grad(
                    torch.linalg.qr(Y).R.diagonal(dim1=-2, dim2=-1).abs().log().sum(), Y
                )

            with torch.no_grad():
                rows.append(
                    {
                        "checkpoint": "smiles_gru_1",
                        "B": B,
                        "decoder_dtype": str(dtype).removeprefix("torch."),
                        "jacobian_s": timed(lambda: logits_and_jacobian(dec, z)),
                        "jacobian_eager_s": timed(
                            lambda: logits_and_jacobian(dec, z, cuda_graph=False)
                        ),
                        "log_det_s": timed(lambda: log_det_paper(logits, A)),
                    }
                )
            rows[-1] |= {
                "jacobian_grad_s": timed(jac_grad),
                "log_det_grad_s": timed(det_grad),
                "one_qr_grad_s": timed(qr_grad),
            }
            log(json.dumps(rows[-1]))
    return rows


def agreement(device: torch.device) -> list[dict]:
    """Largest relative error of scores against a float64 decoder on the CPU."""
    out = []
    f64 = torch.float64
    for name in ("expressions_gru_1", "smiles_gru_1", "selfies_transformer"):
        d = load_decoder(name, "cpu").latent_dim
        z = torch.randn(10, d, generator=torch.Generator().manual_seed(0), dtype=f64)
        positions = 30 if name == "selfies_transformer" else None

        def score(dev, dtype):
            s = sc.ScaLES(load_decoder(name, dev, dtype), positions=positions)
            x = z.to(dev).requires_grad_()
            value = s(x)
            (grad,) = torch.autograd.grad(value.sum(), x)
            return value.detach().cpu(), grad.cpu()

        ref, gref = score("cpu", f64)
        row = {"checkpoint": name, "B": 10, "positions": positions}
        for label, dev, dtype in (
            ("cpu_float32", "cpu", torch.float32),
            ("gpu_float32", device, torch.float32),
            ("gpu_float64", device, f64),
        ):
            v, g = score(dev, dtype)
            row[f"{label}_value_rel"] = float(((v - ref).abs() / ref.abs()).max())
            row[f"{label}_grad_rel"] = float((g - gref).norm() / gref.norm())
        out.append(row)
    return out


def bo_run(device: torch.device, steps: int, n_init: int) -> dict:
    """A ``steps``-step BO run (ScaLES lambda 0.5, ranolazine MPO) on ``device``.

    The SELFIES VAE with ``n_init`` initial points, batch 5, lr 1 and a deep-kernel
    surrogate, seed 0.

    Returns:
        The run's settings, its validity and best value, the setup and run seconds,
        and the median per-step fit, acquisition, oracle and score seconds.
    """
    from scales_core.bo import BOConfig, make_problem, run_bo
    from scales_core.bo.surrogate import SurrogateConfig

    tic = time.perf_counter()
    problem = make_problem("ranolazine_mpo", n_init=n_init, seed=0, device=device)
    setup_s = time.perf_counter() - tic
    config = BOConfig(
        n_steps=steps,
        q=5,
        lr=1.0,
        device=str(device),
        surrogate=SurrogateConfig(kind="deep_kernel"),
    )
    tic = time.perf_counter()
    data = run_bo(problem, "scales_0.5", seed=0, config=config, progress=False)
    run_s = time.perf_counter() - tic
    valid = [c["objective"] for c in data.oracle if c["valid"]]
    med = {
        k: statistics.median(s[k] for s in data.steps)
        for k in ("fit_s", "acq_s", "oracle_s", "score_s")
    }
    return {
        "task": "ranolazine_mpo",
        "model": "selfies_transformer",
        "method": "scales_0.5",
        "seed": 0,
        "n_init": int(problem.train_X.shape[0]),
        "n_steps": steps,
        "q": 5,
        "lr": 1.0,
        "surrogate": "deep_kernel",
        "device": str(device),
        "n_oracle": len(data.oracle),
        "validity": len(valid) / len(data.oracle),
        "best": max(valid) if valid else None,
        "setup_s": setup_s,
        "run_s": run_s,
        "median_step_s": med,
    }


def main() -> None:
    """Run the GPU check and write ``<out>/<date>.json``; exit 1 if the tests failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--bo-steps", type=int, default=20)
    parser.add_argument("--n-init", type=int, default=1000)
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    if not torch.cuda.is_available():
        parser.error("torch sees no CUDA GPU")
    log(f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}")

    result: dict = {}
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.skip_tests:
        log("CUDA tests")
        result["tests"] = run_tests(args.out / "tests.log")
    warm_up(device)
    log("where the SMILES time goes")
    result["breakdown"] = breakdown(device, args.repeats)
    log("benchmark (CUDA graphs)")
    # SELFIES at B=100 with all 70 positions keeps ~60 GB of exact-gradient activations
    cases = [
        ("expressions_gru_1", None, (10, 100)),
        ("smiles_gru_1", None, (10, 100)),
        ("smiles_gru_1", 30, (10, 100)),
        ("selfies_transformer", None, (10,)),
        ("selfies_transformer", 30, (10, 100)),
    ]
    rows = [bench(n, b, args.repeats, 0, device, p) for n, p, bs in cases for b in bs]
    # float64 arithmetic costs little more than float32 in these launch-bound kernels
    rows += [
        bench("smiles_gru_1", b, args.repeats, 0, device, None, torch.float64)
        for b in (10, 100)
    ]
    rows.append(bench("smiles_gru_1", 10, args.repeats, 0, device))  # drift check
    sys.stdout.write(markdown(rows))
    log("benchmark (eager)")
    os.environ["SCALES_CUDA_GRAPHS"] = "0"
    eager = [
        bench(n, b, args.repeats, 0, device)
        for n, b in (
            ("smiles_gru_1", 10),
            ("smiles_gru_1", 100),
            ("selfies_transformer", 10),
        )
    ]
    del os.environ["SCALES_CUDA_GRAPHS"]
    sys.stdout.write(markdown(eager))
    log("agreement with float64")
    result["agreement"] = agreement(device)
    log(json.dumps(result["agreement"]))
    log(f"BO: {args.bo_steps} steps on ranolazine MPO")
    result["bo"] = bo_run(device, args.bo_steps, args.n_init)
    log(json.dumps(result["bo"]))

    meta = provenance(
        vars(args) | {"out": str(args.out)},
        seed=0,
        command=" ".join(["python", *sys.argv]),
    )
    meta |= {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device),
        "cuda": torch.version.cuda,
    }
    date = dt.date.today().isoformat()
    path = args.out / f"{date}.json"
    path.write_text(
        json.dumps(
            {"meta": meta, "rows": rows, "rows_eager": eager, **result}, indent=2
        )
    )
    log(f"wrote {path}")
    failed = result.get("tests", {}).get("returncode", 0) != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
