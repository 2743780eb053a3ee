"""Run the validity-AUROC experiment (Table 1) and save it under results/.

    python scripts/run_validity_auroc.py --dataset expressions --n 500 --seed 0

Writes results/validity_auroc/<dataset>.json (summary with command, parameters, seed,
commit) and <dataset>_scores.csv.gz (one row per latent of the evaluation draw).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from scales_core.provenance import provenance, write_json
from scales_core.validity_auroc import run_validity_experiment

GRID = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]


def main() -> None:
    """Run the experiment on ``--dataset`` and write its summary and scores file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", required=True, choices=["expressions", "smiles", "selfies"]
    )
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--n-calibration", type=int, default=200)
    parser.add_argument("--rho-grid", type=float, nargs="+", default=GRID)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model", default=None, help="override the checkpoint, e.g. smiles_gru_0.05"
    )
    parser.add_argument("--out", type=Path, default=Path("results/validity_auroc"))
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    params = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    frame, summary = run_validity_experiment(
        args.dataset,
        args.n,
        args.n_calibration,
        args.rho_grid,
        args.seed,
        progress=True,
        model=args.model,
        device=args.device,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.dataset if args.model is None else f"{args.dataset}_{args.model}"
    frame.to_csv(args.out / f"{stem}_scores.csv.gz", index=False)
    write_json(
        args.out / f"{stem}.json", provenance(params, args.seed), summary=summary
    )
    logging.info("AUROC: %s", {k: round(v, 3) for k, v in summary["auroc"].items()})


if __name__ == "__main__":
    main()
