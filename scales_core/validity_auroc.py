r"""The validity experiment of Sec. 3.3 (Table 1).

Can a latent score tell which latents decode to valid sequences?

Latents come from a few distributions; each is decoded by argmax and labelled valid
or not; every score is judged by its AUROC for that label. Two protocols
(:data:`PROTOCOLS`) say which distributions:

* ``"paper_text"`` (the paper's Sec. 3.3): train and test items encoded by the
  VAE's posterior mean, ``N(0, I)`` and ``N(0, 20 I)``;
* ``"published_code"`` (OmerRonen/scales ``les/analysis/ood.py``,
  ``get_methods_auc``): encoded training items, ``randn * s`` and ``randn * 5 s``,
  where ``s`` is the VAE's latent scale (``eps_std``: 0.1 for the published
  expressions VAEs, 0.001 for SMILES).

ScaLES is ``log N(z; 0, s^2 I) + rho * log_det`` (``s = 1`` under the paper-text
protocol, the VAE's latent scale under the published one), so its ``rho`` is tuned
on a separate calibration draw from the same distributions, from one evaluation of
each term. Every score's orientation (whether high means valid) is also fixed on
the calibration draw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from .auroc import auroc
from .baselines import likelihood_from_logits, polarity_from_jacobian
from .batching import map_batches
from .datasets import VAE, Dataset, get_dataset
from .jacobian import logits_and_jacobian
from .logdet import clip_logits, log_det_forward, log_det_paper
from .score import prior_score

__all__ = [
    "DISTRIBUTIONS",
    "JACOBIAN_SCORES",
    "PROTOCOLS",
    "SCORES",
    "FIXED_SIGN",
    "RHO_GRID",
    "ValidityDraw",
    "draw_latents",
    "score_draw",
    "tune_rho",
    "load_setup",
    "run_validity_experiment",
]

#: The latent distributions of each protocol, in draw order.
PROTOCOLS = {
    "paper_text": ("train", "test", "N(0, I)", "N(0, 20 I)"),
    "published_code": ("train", "N(0, s^2 I)", "N(0, 25 s^2 I)"),
}
DISTRIBUTIONS = PROTOCOLS["paper_text"]

#: The scores computed from one decoder Jacobian: name -> ``(logits, A) -> batch``
#: values, for `batch x L x D` logits and their `batch x (L*D) x d` Jacobian.
JACOBIAN_SCORES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "log_det": log_det_paper,
    "polarity": lambda logits, A: polarity_from_jacobian(A),
    "likelihood": lambda logits, A: likelihood_from_logits(logits),
    # the other formulas of the log-det term (scales_core.logdet, module notes)
    "forward_c": lambda logits, A: log_det_forward(logits, A, "c"),
    "forward_inv_c": lambda logits, A: log_det_forward(logits, A, "inv_c"),
    "log_det_clip12": lambda logits, A: log_det_paper(clip_logits(logits, 12.0), A),
}

#: Scores whose sign is part of their claim (higher = more valid): their AUROC is
#: reported as computed, never flipped by the calibration draw. An AUROC below 0.5
#: then says the formula ranks validity backwards.
FIXED_SIGN = ("forward_c", "forward_inv_c", "log_det_clip12")

#: Every score of the experiment, in report order. ``scales`` is
#: ``prior + rho * log_det``; ``uncertainty`` is the negated UC score (high =
#: certain); the others are :data:`JACOBIAN_SCORES` and the prior.
SCORES = (
    "scales",
    "uncertainty",
    "prior",
    "polarity",
    "likelihood",
    "log_det",
    *FIXED_SIGN,
)

#: Candidate ScaLES weights: half decades from 1e-3 to 1e7, wide enough for a prior
#: of scale ``s = 0.001`` (its term is ``1 / s^2 = 1e6`` times that of ``N(0, I)``).
RHO_GRID = tuple(float(f"{10 ** (k / 2):.3g}") for k in range(-6, 15))


@dataclass
class ValidityDraw:
    """Latents, their source distribution, decodes and validity labels.

    Attributes:
        z: `batch x d` latents.
        source: `batch` distribution names.
        decoded: `batch` argmax decodes.
        valid: `batch` booleans.
    """

    z: Tensor
    source: np.ndarray
    decoded: list[str]
    valid: np.ndarray


def draw_latents(
    vae,
    train_items: Sequence[str],
    test_items: Sequence[str],
    n: int,
    is_valid: Callable[[str], bool],
    seed: int,
    far_variance: float = 20.0,
    protocol: str = "paper_text",
) -> ValidityDraw:
    r"""Draw `n` latents from each distribution of ``protocol`` and label them.

    Args:
        vae: A model with ``encode``, ``decode_strings``, ``latent_dim`` and (for
            ``"published_code"``) ``latent_scale``.
        train_items: Training strings the VAE can encode (sampled without
            replacement, `n` of them).
        test_items: Test strings the VAE can encode (sampled without replacement,
            `n` of them; unused by ``"published_code"``).
        n: Latents per distribution.
        is_valid: The validity notion.
        seed: Seeds the item choice and the Gaussian draws.
        far_variance: Variance of the out-of-distribution Gaussian of
            ``"paper_text"``.
        protocol: A key of :data:`PROTOCOLS`.

    Returns:
        A :class:`ValidityDraw` with `n` rows per distribution.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"unknown protocol {protocol!r}; use one of {tuple(PROTOCOLS)}"
        )
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    d = vae.latent_dim
    splits = (train_items, test_items) if protocol == "paper_text" else (train_items,)
    parts = []
    for items in splits:
        if len(items) < n:
            raise ValueError(f"need {n} items per split, got {len(items)}")
        pick = rng.choice(len(items), size=n, replace=False)
        parts.append(vae.encode([items[i] for i in pick]).float().cpu())
    if protocol == "paper_text":
        scales = (1.0, far_variance**0.5)
    else:  # les/analysis/ood.py: randn * eps_std and randn * 5 * eps_std
        scales = (vae.latent_scale, 5.0 * vae.latent_scale)
    parts += [scale * torch.randn(n, d, generator=gen) for scale in scales]
    z = torch.cat(parts)
    decoded = vae.decode_strings(z)
    return ValidityDraw(
        z=z,
        source=np.repeat(np.array(PROTOCOLS[protocol]), n),
        decoded=decoded,
        valid=np.array([is_valid(s) for s in decoded]),
    )


def _device_of(decoder) -> torch.device:
    """The device of a module's parameters (CPU for a plain function)."""
    params = getattr(decoder, "parameters", None)
    first = next(iter(params()), None) if callable(params) else None
    return first.device if first is not None else torch.device("cpu")


def score_draw(
    decoder,
    z: Tensor,
    positions: int | None = None,
    batch_size: int = 50,
    uncertainty: Callable[[Tensor], Tensor] | None = None,
    progress: bool = False,
    prior_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    r"""Every score of the experiment on `batch x d` latents.

    ``prior`` is ``log N(z; 0, prior_scale^2 I)``.

    Returns:
        ``{"prior", "log_det", "polarity", "likelihood"[, "uncertainty"]}``, each a
        `batch` array. ScaLES for any ``rho`` is ``prior + rho * log_det``.
    """
    device = _device_of(decoder)
    z = z.to(device)

    def jacobian_scores(x: Tensor) -> Tensor:
        # one Jacobian per batch serves every score of JACOBIAN_SCORES;
        # a causal decoder stops at ``positions``
        logits, A = logits_and_jacobian(decoder, x, positions=positions)
        return torch.stack([score(logits, A) for score in JACOBIAN_SCORES.values()], -1)

    fused = map_batches(
        jacobian_scores, z, batch_size, "ScaLES/polarity/likelihood", progress
    )
    out = {
        "prior": prior_score(z, prior_scale),
        **{name: fused[:, k] for k, name in enumerate(JACOBIAN_SCORES)},
    }
    if uncertainty is not None:
        out["uncertainty"] = map_batches(uncertainty, z, batch_size, "UC", progress)
    return {k: v.detach().double().cpu().numpy() for k, v in out.items()}


def tune_rho(
    prior: np.ndarray, log_det: np.ndarray, valid: np.ndarray, grid: Sequence[float]
) -> tuple[float, dict[float, float]]:
    r"""The ``rho`` in ``grid`` with the highest AUROC of ``prior + rho * log_det``.

    Returns:
        ``(best_rho, {rho: auroc})``.
    """
    if len(grid) == 0:
        raise ValueError("the rho grid is empty")
    table = {float(r): auroc(valid, prior + r * log_det) for r in grid}
    best = max(table, key=lambda r: (np.nan_to_num(table[r], nan=-1.0), -r))
    return best, table


def load_setup(
    dataset: str | Dataset, model: str | None = None, device: str | torch.device = "cpu"
) -> tuple[VAE, Callable[[str], bool], Dataset]:
    """``(vae, is_valid, record)`` of a dataset record (or a registered name).

    ``model`` overrides the dataset's default checkpoint (e.g. ``"smiles_gru_0.05"``;
    the returned record then names it as its :attr:`~Dataset.model`); the VAE is
    put on ``device`` in eval mode.

    Raises:
        ValueError: for an unknown dataset or a model the dataset does not accept.
    """
    record = get_dataset(dataset)
    vae = record.load_vae(model, device)  # refuses a model the dataset lacks
    if model is not None:
        models = record.models if model in record.models else (*record.models, model)
        record = replace(record, model=model, models=models)
    return vae, record.validity, record


def run_validity_experiment(
    dataset: str | Dataset,
    n: int = 500,
    n_calibration: int = 200,
    rho_grid: Sequence[float] = RHO_GRID,
    seed: int = 0,
    uc_samples: tuple[int, int] = (10, 10),
    batch_size: int = 50,
    progress: bool = False,
    model: str | None = None,
    device: str | torch.device = "cpu",
    protocol: str = "paper_text",
):
    r"""Table 1 for one dataset: AUROC of every score for validity.

    Args:
        dataset: A dataset record (:class:`~scales_core.datasets.Dataset`) or a
            registered name (``"expressions"``, ``"smiles"``, ``"selfies"``).
        n: Latents per distribution in the evaluation draw.
        n_calibration: Latents per distribution in the calibration draw (rho and
            orientations are chosen there).
        rho_grid: Candidate ScaLES weights.
        seed: Evaluation seed; the calibration draw uses ``seed + 1``.
        uc_samples: ``(K, N)`` of the UC score.
        batch_size: Latents per score call.
        progress: tqdm bars.
        model: Override the dataset's default checkpoint.
        device: Where the VAE and the scores run (``"cpu"``, ``"cuda"``).
        protocol: ``"paper_text"`` or ``"published_code"`` (:data:`PROTOCOLS`); the
            ScaLES prior term is ``N(0, I)`` under the first and ``N(0, s^2 I)``, at
            the VAE's latent scale, under the second.

    Returns:
        ``(frame, summary)``: a per-latent ``pandas.DataFrame`` (source, decode, valid,
        every score) of the evaluation draw, and a dict with the tuned rho, the rho
        AUROC curve on the calibration draw, each score's orientation and AUROC.
    """
    import pandas as pd

    from .uncertainty import uncertainty_score

    if protocol not in PROTOCOLS:
        raise ValueError(
            f"unknown protocol {protocol!r}; use one of {tuple(PROTOCOLS)}"
        )
    vae, is_valid, record = load_setup(dataset, model, device)
    decoder = vae.decoder.requires_grad_(False)
    prior_scale = 1.0 if protocol == "paper_text" else vae.latent_scale

    def uc(x: Tensor) -> Tensor:
        return uncertainty_score(decoder, x, *uc_samples, seed=seed)

    draws, scores = {}, {}
    for name, s in (("calibration", seed + 1), ("evaluation", seed)):
        train = record.encodable(vae, record.load_items("train", n, s), 4 * n)
        test = record.encodable(vae, record.load_items("test", n, s), 4 * n)
        draws[name] = draw_latents(
            vae,
            train,
            test,
            n_calibration if name == "calibration" else n,
            is_valid,
            s,
            protocol=protocol,
        )
        scores[name] = score_draw(
            decoder,
            draws[name].z,
            record.positions,
            batch_size,
            uc,
            progress,
            prior_scale,
        )
        scores[name]["uncertainty"] = -scores[name]["uncertainty"]  # high = certain
    cal, ev = scores["calibration"], scores["evaluation"]
    rho, curve = tune_rho(
        cal["prior"], cal["log_det"], draws["calibration"].valid, rho_grid
    )
    for part in (cal, ev):
        part["scales"] = part["prior"] + rho * part["log_det"]
    summary = {
        "dataset": record.name,
        "model": record.model,
        "protocol": protocol,
        "prior_scale": prior_scale,
        "rho": rho,
        "rho_curve": curve,
        "positions": record.positions,
        "n": n,
        "n_calibration": n_calibration,
        "valid_share": {},
        "orientation": {},
        "auroc": {},
    }
    ev_draw = draws["evaluation"]
    for src in PROTOCOLS[protocol]:
        summary["valid_share"][src] = float(ev_draw.valid[ev_draw.source == src].mean())
    for key in SCORES:
        sign = (
            1.0
            if key in FIXED_SIGN or auroc(draws["calibration"].valid, cal[key]) >= 0.5
            else -1.0
        )
        summary["orientation"][key] = sign
        summary["auroc"][key] = auroc(ev_draw.valid, sign * ev[key])
    frame = pd.DataFrame(
        {
            "source": ev_draw.source,
            "decoded": ev_draw.decoded,
            "valid": ev_draw.valid,
            **ev,
        }
    )
    return frame, summary
