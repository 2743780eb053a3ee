"""Reconstruction, prior validity, UC timing and UC threshold check of the VAEs.

    python scripts/report_models.py [--selfies] [--out results/model_report.json]

For each model: exact-match reconstruction accuracy (argmax decoding of the encoder
mean) on held-out items, the fraction of valid decodes of N(0, I) samples under
each validity notion that applies, and (published checkpoints) the wall time of
the decoder-uncertainty score for (K, N) = (10, 10) and (2, 2), B = 5 and 10
(median of ``--repeats``). ``--threshold-rates`` adds the quantiles of ``log UC``
on encoded training items for several decoder dropout rates, next to the
published ``uncertainty_thresholds`` files (the dropout rate of the published
decoders is not recorded). Prints a markdown table; writes JSON with provenance.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scales_core import models
from scales_core.data import load_expressions, load_zinc, subsample
from scales_core.datasets import (
    DATASETS,
    Dataset,
    dataset_for_model,
    encodable,
    get_dataset,
)
from scales_core.models.paper import load_uncertainty_thresholds
from scales_core.provenance import provenance, write_json
from scales_core.timing import median_time
from scales_core.uncertainty import uncertainty_score

logger = logging.getLogger("report_models")

#: Every validity notion of the registered records, by report column.
NOTIONS = {v.label: v for d in DATASETS.values() for v in d.notions}

#: Where the held-out items of the reconstruction come from, per dataset:
#: ``(pool loader (n, seed) -> items, description)``. Default: the record's test
#: split. The expressions file is an ordered enumeration whose training split is not
#: published, so its items are a uniform sample of the whole file.
RECON_POOLS = {
    "expressions": (
        lambda n, seed: load_expressions(),
        "expressions/equation2_15_dataset.txt (an ordered enumeration; "
        "uniform random sample, the training split is not published)",
    ),
    "smiles": (None, "ZINC-250k JT-VAE test split"),
    "selfies": (None, "MOSES test split"),
}

#: Training items whose UC quantiles are compared with the published thresholds:
#: ``(loader (vae, n, seed) -> items, description)``.
THRESHOLD_POOLS = {
    "expressions": (
        lambda vae, n, seed: load_expressions(n=n, seed=seed),
        "expressions dataset",
    ),
    # the ZINC training split is not in the data folder; valid is the closest
    "smiles": (
        lambda vae, n, seed: subsample(
            _all_encodable(vae, load_zinc("valid")), n, seed
        ),
        "ZINC-250k JT-VAE valid split",
    ),
}


def _all_encodable(vae: Any, items: list[str]) -> list[str]:
    """Every item the model can tokenize (length and vocabulary)."""
    return encodable(vae, items, len(items))


def held_out(record: Dataset, vae: Any, n: int, seed: int) -> tuple[list[str], str]:
    """``n`` held-out items drawn uniformly at random (seeded) from the encodable pool."""
    loader, source = RECON_POOLS.get(record.name, (None, record.description))
    pool = (loader or (lambda n, seed: record.load_items("test", n, seed)))(n, seed)
    usable = _all_encodable(vae, pool)
    items = subsample(usable, min(n, len(usable)), seed)
    return items, f"{source}; {len(usable)}/{len(pool)} encodable; seed {seed}"


def reconstruction(vae: Any, items: list[str]) -> float:
    """Exact-match rate of argmax decoding of the encoder mean.

    A SELFIES model is compared in its own representation (SELFIES strings).
    """
    z = vae.encode(items)
    if hasattr(vae, "decode_selfies"):
        targets = vae.detokenize(vae.tokenize(items))
        decoded = vae.decode_selfies(z)
    else:
        targets, decoded = items, vae.decode_strings(z)
    return float(np.mean([a == b for a, b in zip(decoded, targets)]))


def prior_validity(vae: Any, notions: list[str], n: int, seed: int) -> dict[str, float]:
    """Fraction of valid decodes of ``n`` N(0, I) latents under each notion."""
    z = torch.randn(n, vae.latent_dim, generator=torch.Generator().manual_seed(seed))
    decoded = vae.decode_strings(z)
    return {k: float(np.mean([NOTIONS[k](s) for s in decoded])) for k in notions}


def uc_timing(vae: Any, repeats: int, seed: int) -> dict[str, float]:
    """Median wall time of the UC score for (K, N) in {(10, 10), (2, 2)}, B in {5, 10}."""
    out = {}
    for K, N in ((10, 10), (2, 2)):
        for B in (5, 10):
            z = torch.randn(
                B, vae.latent_dim, generator=torch.Generator().manual_seed(seed)
            )
            fn = lambda: uncertainty_score(vae.decoder, z, K, N, seed=seed)  # noqa: E731
            out[f"uc_{K}_{N}_B{B}_s"] = median_time(fn, repeats)
    return out


def threshold_check(
    name: str,
    vae: Any,
    rates: list[float],
    n: int,
    settings: list[tuple[int, int]],
    seed: int,
) -> dict[str, Any]:
    """Quantiles (90/95/99/max) of log UC on training items, per dropout rate."""
    loader, source = THRESHOLD_POOLS[dataset_for_model(name).name]
    items = loader(vae, n, seed)
    z = vae.encode(items)
    base = vae.decoder.cfg
    rows = []
    try:
        for rate in rates:
            vae.decoder.cfg = dataclasses.replace(base, dropout=rate)
            for K, N in settings:
                chunks = [
                    uncertainty_score(vae.decoder, c, K, N, seed=seed + i, log=True)
                    for i, c in enumerate(z.split(500))
                ]
                s = torch.cat(chunks).double().numpy()
                q = np.quantile(s, [0.9, 0.95, 0.99]).tolist() + [float(s.max())]
                rows.append(
                    {
                        "dropout": rate,
                        "K": K,
                        "N": N,
                        "quantiles": dict(zip(("90", "95", "99", "max"), q)),
                    }
                )
    finally:
        vae.decoder.cfg = base
    return {
        "items": f"{len(items)} encoder means from the {source}, seed {seed}",
        "published": load_uncertainty_thresholds(name),
        "rows": rows,
    }


def report(
    name: str, record: Dataset, vae: Any, args: argparse.Namespace
) -> dict[str, Any]:
    """The report row of one model.

    Args:
        name: The model's name.
        record: Its dataset record (validity notions, held-out items).
        vae: The loaded VAE.
        args: The command-line arguments (``n_recon``, ``n_prior``, ``repeats``,
            ``seed``).

    Returns:
        The exact-match reconstruction accuracy on held-out items, the valid share
        of prior decodes per notion, and (published checkpoints) the decoder dropout
        rate and the UC timings.
    """
    labels = {v.label for v in record.notions}
    notions = [k for k in NOTIONS if k in labels]
    items, source = held_out(record, vae, args.n_recon, args.seed)
    row: dict[str, Any] = {
        "model": name,
        "recon_items": len(items),
        "recon_source": source,
        "recon_accuracy": reconstruction(vae, items),
        "prior_samples": args.n_prior,
    }
    for k, v in prior_validity(vae, notions, args.n_prior, args.seed).items():
        row[f"prior_valid_{k}"] = v
    if name in models.PAPER_CHECKPOINTS:
        row["uc_dropout"] = vae.decoder.cfg.dropout
        row |= uc_timing(vae, args.repeats, args.seed)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table (without ``recon_source``, floats to 3 places)."""
    cols = [c for c in dict.fromkeys(k for r in rows for k in r) if c != "recon_source"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [
            f"{r[c]:.3f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
            for c in cols
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Report every model, print the markdown tables and write JSON with provenance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoints", nargs="+", default=["expressions_gru_1", "smiles_gru_1"]
    )
    parser.add_argument(
        "--selfies", action="store_true", help="add load_vae('selfies_transformer')"
    )
    parser.add_argument("--n-recon", type=int, default=1000)
    parser.add_argument("--n-prior", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threshold-rates", type=float, nargs="*", default=[0.1, 0.12, 0.15]
    )
    parser.add_argument(
        "--threshold-n",
        type=int,
        nargs=2,
        default=[3000, 300],
        metavar=("EXPRESSIONS", "SMILES"),
        help="training items for the check",
    )
    parser.add_argument("--out", type=Path, default=Path("results/model_report.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    rows, thresholds, skipped = [], {}, {}
    load_before, start = os.getloadavg(), time.perf_counter()
    threshold_n = dict(zip(("expressions", "smiles"), args.threshold_n))
    for name in args.checkpoints:
        record = dataset_for_model(name)
        vae = record.load_vae(name)
        logger.info("%s ...", name)
        rows.append(report(name, record, vae, args))
        logger.info("%s: report done at %.0f s", name, time.perf_counter() - start)
        if args.threshold_rates:
            n = threshold_n[record.name]
            settings = [(10, 10), (10, 1)]
            thresholds[name] = threshold_check(
                name, vae, args.threshold_rates, n, settings, args.seed
            )
    if args.selfies:
        record = get_dataset("selfies")
        try:
            vae = record.load_vae()
        except (ImportError, ValueError, OSError, RuntimeError, KeyError) as err:
            skipped[record.model] = f"{type(err).__name__}: {err}"
            logger.warning("skipping %s: %s", record.model, err)
        else:
            logger.info("%s ...", record.model)
            rows.append(report(record.model, record, vae, args))

    text = table(rows)
    for name, check in thresholds.items():
        pub = check["published"]
        published = ", ".join(f"{k} {v:.2f}" for k, v in pub.items())
        text += f"\n\nlog UC quantiles, {name} (published: {published})\n\n"
        text += (
            "| dropout | K | N | 90 | 95 | 99 | max |\n|---|---|---|---|---|---|---|"
        )
        for r in check["rows"]:
            q = " | ".join(f"{v:.2f}" for v in r["quantiles"].values())
            text += f"\n| {r['dropout']} | {r['K']} | {r['N']} | {q} |"
    sys.stdout.write(text + "\n")
    meta = provenance(vars(args) | {"out": str(args.out)}, args.seed)
    # the timings are wall clock on a shared machine: record how busy it was
    meta["load_average_1_5_15"] = {"start": load_before, "end": os.getloadavg()}
    meta["elapsed_s"] = time.perf_counter() - start
    write_json(args.out, meta, rows=rows, uc_thresholds=thresholds, skipped=skipped)


if __name__ == "__main__":
    main()
