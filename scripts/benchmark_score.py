"""Wall-clock benchmark of the ScaLES score on the published checkpoints.

    python scripts/benchmark_score.py [--device cuda] [--repeats 5] \
        [--out results/benchmark_score.json]

For each checkpoint and batch size B it reports the median over repeats of: the
score alone, the score plus its exact gradient, the score plus its cpa gradient,
the finite-difference score (the published code's Jacobian), and one decoder
forward pass over B*(d+1) latents (the cost of one finite-difference Jacobian).
Checkpoints are the published ones (``smiles_gru_1``, ...) or the project's own
(``selfies_transformer``). On a GPU every time is taken after
``torch.cuda.synchronize``, and the decoder runs from CUDA graphs unless
``SCALES_CUDA_GRAPHS=0``.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path

import torch

import scales_core as sc
from scales_core.cuda_graph import graphs_enabled
from scales_core.provenance import git_commit
from scales_core.timing import grad_timer, median_time, score_timer


def load_decoder(name: str, device: torch.device, dtype: torch.dtype = torch.float32):
    """A frozen decoder in eval mode on ``device`` (weights cast to ``dtype``)."""
    if name in sc.models.OWN_MODELS:
        vae = sc.models.load_vae(name)
    else:
        vae = sc.models.load_paper_vae(name)
    return vae.decoder.to(device, dtype).eval().requires_grad_(False)


def bench(
    name: str,
    batch: int,
    repeats: int,
    seed: int,
    device: torch.device,
    positions: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> dict:
    """Median timings of the score of one checkpoint at one batch size.

    Args:
        name: A published checkpoint (``smiles_gru_1``, ...) or one of the project's
            own (``selfies_transformer``).
        batch: The batch size B.
        repeats: Timed repeats per quantity (the median is kept).
        seed: Seeds the random latents.
        device: Where the decoder and the latents live.
        positions: Score only the first ``positions`` positions (``None``: all).
        dtype: The decoder's weight dtype.

    Returns:
        A row: ``checkpoint``, ``B`` (with ``positions`` and ``decoder_dtype`` where
        not the default), then the seconds of the score, the score plus its exact
        and cpa gradients, the finite-difference score and one decoder forward pass
        over `B(d+1)` latents.
    """
    dec = load_decoder(name, device, dtype)
    d = dec.latent_dim
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, d, generator=gen).to(device, dtype)
    zz = torch.randn(batch * (d + 1), d, generator=gen).to(device, dtype)
    kw = dict(positions=positions)
    forward = dec if positions is None else functools.partial(dec, positions=positions)
    exact, cpa = sc.ScaLES(dec, grad="exact", **kw), sc.ScaLES(dec, grad="cpa", **kw)
    fd = sc.ScaLES(dec, jacobian="fd", **kw)
    row = {"checkpoint": name, "B": batch}
    if positions is not None:
        row["positions"] = positions
    if dtype != torch.float32:
        row["decoder_dtype"] = str(dtype).removeprefix("torch.")
    return row | {
        "score_s": median_time(score_timer(exact, z), repeats),
        "score_grad_exact_s": median_time(grad_timer(exact, z), repeats),
        "score_grad_cpa_s": median_time(grad_timer(cpa, z), repeats),
        "score_fd_s": median_time(score_timer(fd, z), repeats),
        "decoder_forward_B(d+1)_s": median_time(score_timer(forward, zz), repeats),
    }


def warm_up(device: torch.device, seconds: float = 3.0) -> None:
    """Keep the GPU busy for a few seconds so that its clocks are up before timing."""
    x = torch.randn(4096, 4096, device=device)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            x = torch.tanh(x @ x)
        torch.cuda.synchronize(device)


def markdown(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (columns in order of appearance, floats to 3 places)."""
    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [r.get(c, "") for c in cols]
        lines.append(
            "| "
            + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Time every checkpoint and batch size, print a markdown table, optionally save JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoints", nargs="+", default=["expressions_gru_1", "smiles_gru_1"]
    )
    parser.add_argument("--batches", nargs="+", type=int, default=[5, 10])
    parser.add_argument(
        "--positions",
        type=int,
        default=None,
        help="also time every checkpoint with this many positions",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--out", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: torch sees no CUDA GPU")

    if device.type == "cuda":
        warm_up(device)  # clocks up before the first timing
    rows = []
    for name in args.checkpoints:
        for b in args.batches:
            rows.append(bench(name, b, args.repeats, args.seed, device))
            if args.positions is not None:
                rows.append(
                    bench(name, b, args.repeats, args.seed, device, args.positions)
                )
    sys.stdout.write(markdown(rows))
    if args.out is not None:
        meta = {
            "command": " ".join(sys.argv),
            "parameters": vars(args) | {"out": str(args.out)},
            "seed": args.seed,
            "commit": git_commit(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(),
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else "cpu",
            "cuda_graphs": graphs_enabled() and device.type == "cuda",
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
