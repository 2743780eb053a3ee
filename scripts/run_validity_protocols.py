"""Table 1 under both protocols for every published checkpoint and the SELFIES model.

    python scripts/run_validity_protocols.py                       # everything
    python scripts/run_validity_protocols.py --checkpoints smiles_gru_1 --protocols published_code

One run per (checkpoint, protocol) writes
``results/validity_auroc/protocols/<checkpoint>_<protocol>.json`` (summary with
command, parameters, seed, commit) and ``..._scores.csv.gz`` (one row per latent of
the evaluation draw). Finished runs are skipped, so a killed sweep resumes where it
stopped. At the end every finished run is collected into
``results/validity_auroc/protocols.csv`` (columns ``dataset, checkpoint, protocol,
score, auroc, rho``; ``rho`` is the tuned weight on the ``scales`` rows).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd

from scales_core.datasets import DATASETS, dataset_for_model
from scales_core.provenance import provenance, write_json
from scales_core.validity_auroc import PROTOCOLS, run_validity_experiment

#: Every model of every dataset record: the 12 published character VAEs and the
#: project's SELFIES model.
CHECKPOINTS = tuple(model for record in DATASETS.values() for model in record.models)
SCORES = (
    "scales",
    "log_det",
    "prior",
    "polarity",
    "likelihood",
    "uncertainty",
    "forward_c",
    "forward_inv_c",
    "log_det_clip12",
)


def dataset_of(checkpoint: str) -> str:
    """The name of the dataset record a checkpoint belongs to."""
    return dataset_for_model(checkpoint).name


def collect(folder: Path) -> pd.DataFrame:
    """Every finished run under ``folder`` as rows of the protocols table."""
    rows = []
    for path in sorted(folder.glob("*.json")):
        summary = json.loads(path.read_text())["summary"]
        for score in SCORES:
            if score not in summary["auroc"]:  # a formula not yet added
                continue
            rows.append(
                dict(
                    dataset=summary["dataset"],
                    checkpoint=summary["model"],
                    protocol=summary["protocol"],
                    score=score,
                    auroc=summary["auroc"][score],
                    rho=summary["rho"] if score == "scales" else float("nan"),
                )
            )
    return pd.DataFrame(
        rows, columns=["dataset", "checkpoint", "protocol", "score", "auroc", "rho"]
    )


def main() -> None:
    """Run every (checkpoint, protocol) not yet finished, then collect the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", default=list(CHECKPOINTS))
    parser.add_argument(
        "--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS)
    )
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--n-calibration", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/validity_auroc"))
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = args.out / "protocols"
    folder.mkdir(parents=True, exist_ok=True)
    for checkpoint in args.checkpoints:
        for protocol in args.protocols:
            stem = f"{checkpoint}_{protocol}"
            summary_path = folder / f"{stem}.json"  # not with_suffix: "gru_0.05"
            if summary_path.exists():
                logging.info("%s %s: done, skipped", checkpoint, protocol)
                continue
            tic = time.perf_counter()
            frame, summary = run_validity_experiment(
                dataset_of(checkpoint),
                args.n,
                args.n_calibration,
                seed=args.seed,
                model=checkpoint,
                device=args.device,
                protocol=protocol,
            )
            summary["wall_s"] = time.perf_counter() - tic
            params = dict(
                checkpoint=checkpoint,
                protocol=protocol,
                n=args.n,
                n_calibration=args.n_calibration,
                seed=args.seed,
                device=args.device,
            )
            frame.to_csv(folder / f"{stem}_scores.csv.gz", index=False)
            # the summary last: its presence marks the run finished
            write_json(summary_path, provenance(params, args.seed), summary=summary)
            logging.info(
                "%s %s (%.0f s): %s",
                checkpoint,
                protocol,
                summary["wall_s"],
                {k: round(v, 3) for k, v in summary["auroc"].items()},
            )
    collect(folder).to_csv(args.out / "protocols.csv", index=False)


if __name__ == "__main__":
    main()
