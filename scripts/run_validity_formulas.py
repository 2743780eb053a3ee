"""Table 1 by log-det formula: add the forward variants and the clipped pinv to every run.

    python scripts/run_validity_formulas.py                    # every finished protocol run
    python scripts/run_validity_formulas.py --checkpoints smiles_gru_1 --protocols published_code

For each finished run of ``scripts/run_validity_protocols.py`` the evaluation draw is
drawn again (same seed and items), the decodes and the stored ``log_det`` column are
checked against the stored scores file (the same latents, or an error), and the scores
``forward_c``, ``forward_inv_c`` and ``log_det_clip12``
(:data:`scales_core.validity_auroc.FIXED_SIGN`) are added to
``<checkpoint>_<protocol>_scores.csv.gz`` and to the summary's AUROCs, with this
command's provenance under ``formulas``. A run that already has them is skipped.
At the end ``results/validity_auroc/protocols.csv`` is collected again.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from run_validity_protocols import CHECKPOINTS, collect, dataset_of

from scales_core.auroc import auroc
from scales_core.provenance import provenance
from scales_core.validity_auroc import (
    FIXED_SIGN,
    PROTOCOLS,
    draw_latents,
    load_setup,
    score_draw,
)


def add_formulas(
    folder: Path, checkpoint: str, protocol: str, batch_size: int
) -> dict | None:
    """Add the FIXED_SIGN scores to one run; their AUROCs, or None if already there."""
    stem = f"{checkpoint}_{protocol}"
    summary_path, scores_path = (
        folder / f"{stem}.json",
        folder / f"{stem}_scores.csv.gz",
    )
    stored = json.loads(summary_path.read_text())
    summary = stored["summary"]
    if all(k in summary["auroc"] for k in FIXED_SIGN):
        return None
    frame = pd.read_csv(scores_path)
    params = stored["meta"]["parameters"]
    n, seed = params["n"], params["seed"]
    vae, is_valid, record = load_setup(dataset_of(checkpoint), checkpoint)
    decoder = vae.decoder.requires_grad_(False)
    train = record.encodable(vae, record.load_items("train", n, seed), 4 * n)
    test = record.encodable(vae, record.load_items("test", n, seed), 4 * n)
    draw = draw_latents(vae, train, test, n, is_valid, seed, protocol=protocol)
    if (
        list(draw.decoded) != frame["decoded"].fillna("").astype(str).tolist()
    ):  # "" reads as NaN
        raise ValueError(
            f"{stem}: the redrawn latents decode differently from {scores_path}"
        )
    scores = score_draw(decoder, draw.z, record.positions, batch_size)
    np.testing.assert_allclose(
        scores["log_det"],
        frame["log_det"].to_numpy(),
        rtol=1e-6,
        err_msg=f"{stem}: recomputed log_det differs from the stored one",
    )
    for key in FIXED_SIGN:
        frame[key] = scores[key]
        summary["auroc"][key] = auroc(draw.valid, scores[key])
        summary["orientation"][key] = 1.0
    stored["formulas"] = provenance(
        dict(checkpoint=checkpoint, protocol=protocol, scores=list(FIXED_SIGN)), seed
    )
    frame.to_csv(scores_path, index=False)
    summary_path.write_text(json.dumps(stored, indent=1) + "\n")
    return {k: summary["auroc"][k] for k in FIXED_SIGN}


def main() -> None:
    """Add the fixed-sign formulas to every finished run, then collect the table again."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", default=list(CHECKPOINTS))
    parser.add_argument(
        "--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS)
    )
    parser.add_argument("--out", type=Path, default=Path("results/validity_auroc"))
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = args.out / "protocols"
    for checkpoint in args.checkpoints:
        for protocol in args.protocols:
            tic = time.perf_counter()
            got = add_formulas(folder, checkpoint, protocol, args.batch_size)
            logging.info(
                "%s %s (%.0f s): %s",
                checkpoint,
                protocol,
                time.perf_counter() - tic,
                "already done"
                if got is None
                else {k: round(v, 3) for k, v in got.items()},
            )
    collect(folder).to_csv(args.out / "protocols.csv", index=False)


if __name__ == "__main__":
    main()
