r"""What the optimizers proposed.

Latent norms, how ScaLES ranks valid and invalid proposals, and the proposals that
did not move from their start (early stopping).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..bo.run_record import RunData
from ..bo.slim import is_slim, pool_distances

__all__ = ["proposal_norms", "proposal_ranking", "unmoved_proposals", "unmoved_summary"]


def proposal_norms(runs: Iterable[RunData]) -> tuple[pd.DataFrame, float]:
    r"""The norm of every proposed latent of the finished runs, and of the initial set.

    Args:
        runs: Run records (e.g. the values of ``dict(iter_runs(folder))``).

    Returns:
        ``(norms, init_median)``: columns method, seed, norm, valid (one row per
        oracle call), and the median norm of the initial latents over all runs.
    """
    frames, init = [], []
    for run in runs:
        if run.done is None:
            continue
        if is_slim(run.oracle):
            norm = np.asarray([r["latent_norm"] for r in run.oracle], dtype=float)
        else:
            norm = np.linalg.norm(
                np.asarray([r["latent"] for r in run.oracle], dtype=float), axis=1
            )
        frames.append(
            pd.DataFrame(
                {
                    "method": run.header["method"],
                    "seed": run.header["seed"],
                    "norm": norm,
                    "valid": [bool(r["valid"]) for r in run.oracle],
                }
            )
        )
        latents = run.init_latents()
        if latents is not None and len(latents):
            init.append(np.linalg.norm(latents, axis=1))
    norms = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["method", "seed", "norm", "valid"])
    )
    return norms, float(np.median(np.concatenate(init))) if init else math.nan


def proposal_ranking(frame: pd.DataFrame, by: str = "method") -> pd.DataFrame:
    r"""How well the ScaLES value of BO proposals separates valid from invalid ones.

    Chapter 3's AUROC is measured on encoded and prior latents; this one on the
    latents the optimizer proposed. Within one group (a method's proposals over
    all its seeds) and over all finished proposals pooled: a penalty can raise
    the score of its proposals without raising their valid share, and then the
    pooled AUROC falls below the within-group ones.

    Args:
        frame: :func:`load_sweep` output (only finished runs count).
        by: Column that defines a group.

    Returns:
        One row per group and a last row ``"all pooled"``; columns ``auroc``
        (NaN when a group has one class only), ``valid share``, ``mean ScaLES``
        and ``proposals``.
    """
    from ..auroc import auroc  # sklearn, loaded on first use

    done = frame[frame["complete"]]

    def row(group: pd.DataFrame) -> dict:
        return {
            "auroc": auroc(
                group["valid"].to_numpy(), group["scales"].to_numpy(dtype=float)
            ),
            "valid share": float(group["valid"].mean()),
            "mean ScaLES": float(group["scales"].mean()),
            "proposals": len(group),
        }

    rows = {name: row(group) for name, group in done.groupby(by, sort=False)}
    if len(done):
        rows["all pooled"] = row(done)
    return pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["auroc", "valid share", "mean ScaLES", "proposals"],
    )


def unmoved_proposals(runs: Iterable[RunData], rel_tol: float = 1e-3) -> pd.DataFrame:
    r"""Which proposals sit on a latent the run had already observed.

    An early-stopping ascent whose first update is rejected returns its start
    point, a latent drawn from the observed ones: the proposal is then an observed
    latent queried again. A proposal counts as *unmoved* when it lies within
    ``rel_tol`` times the median nearest-neighbour distance of the initial latents
    of an initial latent or of a proposal of an earlier step (the start pool;
    stored latents are float32-rounded alike, so a returned start point matches
    exactly; :func:`~scales_core.bo.pool_distances`). Slim records
    (:mod:`~scales_core.bo.slim`) carry that distance instead of the latent.

    Args:
        runs: Run records (e.g. the values of ``dict(iter_runs(folder))``);
            unfinished runs are skipped.
        rel_tol: The tolerance, relative to the initial latents' spacing.

    Returns:
        A frame with one row per oracle call and the columns method, seed, step,
        index, valid, unmoved and ascent_steps (the gradient-ascent updates the
        proposal took, recorded by runs since it was added; NaN before).
    """
    frames = []
    for run in runs:
        if run.done is None or run.init is None or not run.oracle:
            continue
        steps = np.array([r["step"] for r in run.oracle])
        if is_slim(run.oracle):
            distance = np.asarray(
                [r["pool_distance"] for r in run.oracle], dtype=float
            )  # None -> NaN
        else:
            z = np.asarray([r["latent"] for r in run.oracle], dtype=float)
            distance = pool_distances(run.init_latents(), z, steps)
        unmoved = distance <= rel_tol
        frames.append(
            pd.DataFrame(
                {
                    "method": run.header["method"],
                    "seed": run.header["seed"],
                    "step": steps,
                    "index": [r["index"] for r in run.oracle],
                    "valid": [bool(r["valid"]) for r in run.oracle],
                    "unmoved": unmoved,
                    "ascent_steps": [r.get("ascent_steps", np.nan) for r in run.oracle],
                }
            )
        )
    columns = ["method", "seed", "step", "index", "valid", "unmoved", "ascent_steps"]
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=columns)
    )


def unmoved_summary(calls: pd.DataFrame) -> pd.DataFrame:
    r"""Per method: the share of unmoved proposals and the validity of each kind.

    Args:
        calls: The output of :func:`unmoved_proposals`.

    Returns:
        Index method; columns ``unmoved share``, ``valid (moved)``, ``valid
        (unmoved)``, ``valid (all)`` and ``proposals``.
    """

    def row(group: pd.DataFrame) -> pd.Series:
        moved, still = group[~group["unmoved"]], group[group["unmoved"]]
        return pd.Series(
            {
                "unmoved share": float(group["unmoved"].mean()),
                "valid (moved)": float(moved["valid"].mean())
                if len(moved)
                else math.nan,
                "valid (unmoved)": float(still["valid"].mean())
                if len(still)
                else math.nan,
                "valid (all)": float(group["valid"].mean()),
                "proposals": len(group),
            }
        )

    if calls.empty:
        return pd.DataFrame(
            columns=[
                "unmoved share",
                "valid (moved)",
                "valid (unmoved)",
                "valid (all)",
                "proposals",
            ]
        )
    return calls.groupby("method")[["valid", "unmoved"]].apply(row)
