"""Wall-clock benchmark of the ScaLES score on the published checkpoints.

    python scripts/benchmark_score.py [--repeats 5] [--out results/benchmark_score.json]

For each checkpoint and batch size B it reports the median over repeats of: the
score alone, the score plus its exact gradient, the score plus its cpa gradient,
the finite-difference score (the published code's Jacobian), and one decoder
forward pass over B*(d+1) latents (the cost of one finite-difference Jacobian).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

import scales_core as sc
from scales_core.provenance import git_commit
from scales_core.timing import grad_timer, median_time, score_timer


def bench(name: str, batch: int, repeats: int, seed: int) -> dict:
    vae = sc.models.load_paper_vae(name)
    dec = vae.decoder.requires_grad_(False)
    d = vae.latent_dim
    z = torch.randn(batch, d, generator=torch.Generator().manual_seed(seed))
    zz = torch.randn(batch * (d + 1), d, generator=torch.Generator().manual_seed(seed))
    exact, cpa = sc.ScaLES(dec, grad="exact"), sc.ScaLES(dec, grad="cpa")
    fd = sc.ScaLES(dec, jacobian="fd")

    return {
        "checkpoint": name,
        "B": batch,
        "score_s": median_time(score_timer(exact, z), repeats),
        "score_grad_exact_s": median_time(grad_timer(exact, z), repeats),
        "score_grad_cpa_s": median_time(grad_timer(cpa, z), repeats),
        "score_fd_s": median_time(score_timer(fd, z), repeats),
        "decoder_forward_B(d+1)_s": median_time(score_timer(dec, zz), repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", default=["expressions_gru_1", "smiles_gru_1"])
    parser.add_argument("--batches", nargs="+", type=int, default=[5, 10])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args()

    rows = [bench(n, b, args.repeats, args.seed) for n in args.checkpoints for b in args.batches]
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols) + " |")
    sys.stdout.write("\n".join(lines) + "\n")
    if args.out is not None:
        meta = {
            "command": " ".join(sys.argv),
            "parameters": vars(args) | {"out": str(args.out)},
            "seed": args.seed,
            "commit": git_commit(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
