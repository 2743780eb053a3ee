r"""The method vocabulary: one table each for optimizers, penalties and stopping rules.

A method (:class:`~scales_core.bo.methods.MethodConfig`) names one entry of each
table; :class:`~scales_core.bo.step.StepRunner` looks them up here, and
:class:`~scales_core.bo.methods.MethodConfig` refuses names that are not here. A new
optimizer, penalty or stopping rule is a new row (and, for a new method name, a new
family in :data:`~scales_core.bo.methods.METHOD_FAMILIES`).

* :data:`OPTIMIZERS`: how one point is proposed from its start points.
* :data:`PENALTIES`: the penalty added to the acquisition along a gradient ascent.
* :data:`STOPPING`: the score whose threshold stops a gradient ascent early.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from torch import Tensor, nn

from ..score import ScaLES, prior_score
from .config import BOConfig
from .optimize import optimize_acqf_ga, optimize_acqf_lbfgs
from .problem import Problem
from .published import PublishedPenalty, ReleasePenalty
from .seeding import derive_seed
from .stopping import ScoreThresholdStopping, SeededScore

__all__ = ["OPTIMIZERS", "PENALTIES", "STOPPING", "Optimizer", "Runner", "StoppingRule"]


class Runner(Protocol):
    """What a table entry reads of the run it serves.

    :class:`~scales_core.bo.step.StepRunner` is one; a new optimizer, penalty or
    stopping rule may use these attributes.

    Attributes:
        problem: Decoder, black box and initial data.
        method: The run's :class:`~scales_core.bo.methods.MethodConfig`.
        seed: The run seed (random choices derive from it).
        config: The run parameters.
        scales: The exact ScaLES of the run's decoder (recorded with every call).
        penalty: The penalty :data:`PENALTIES` built for the run (or ``None``).
        bounds: The `2 x d` box of an L-BFGS method.
    """

    problem: Problem
    method: Any
    seed: int
    config: BOConfig
    scales: Any
    penalty: Any
    bounds: Tensor


def _propose_ga(runner: Runner, acq, starts: Tensor, t, j, threshold):
    """Normalized gradient ascent (Eq. 15), penalized or early-stopped."""
    method, cfg = runner.method, runner.config
    stopping = None
    if method.stopping is not None:
        rule = STOPPING[method.stopping]
        score = rule.score(runner, (t, j, "stop"))
        stopping = ScoreThresholdStopping(score, threshold, rule.reject_above)
    X, value, accepted = optimize_acqf_ga(
        acq,
        starts,
        penalty=runner.penalty,
        lam=method.lam,
        lr=cfg.lr,
        n_steps=cfg.ga_steps,
        stopping=stopping,
        renormalize=cfg.direction == "renormalized",
        return_accepted=True,
    )
    return X, value, {"ascent_steps": accepted}


def _propose_lbfgs(runner: Runner, acq, starts: Tensor, t, j, threshold):
    """BoTorch's L-BFGS-B in the method's hypercube."""
    X, value = optimize_acqf_lbfgs(
        acq, runner.bounds, starts, runner.config.lbfgs_maxiter
    )
    return X, value, {}


@dataclass(frozen=True)
class Optimizer:
    r"""An acquisition optimizer of :data:`OPTIMIZERS`.

    Attributes:
        propose: ``(runner, acq, starts, t, j, threshold) -> (X, value, extra)``
            for an `r x 1 x d` tensor of start points; ``extra`` holds fields for
            the oracle record (gradient ascent: ``ascent_steps``, the updates
            the proposal took before early stopping).
        restarts: Start points per proposed point, from the run parameters.
    """

    propose: Callable
    restarts: Callable[[BOConfig], int]


@dataclass(frozen=True)
class StoppingRule:
    r"""An early-stopping score of :data:`STOPPING`.

    Attributes:
        score: ``(runner, keys) -> score`` (a random score is seeded by
            ``(seed, *keys)``).
        reject_above: Reject an update whose score is above the threshold (else
            below).
        cache_name: ``runner -> name`` under which the score's values on the
            initial latents may be cached (:class:`~scales_core.bo.init_store.
            InitStore`), or ``None`` where they may not (a random score).
    """

    score: Callable
    reject_above: bool
    cache_name: Callable[[Runner], str | None] = lambda runner: None


def _uc_score(runner: Runner, keys: tuple) -> SeededScore:
    from ..uncertainty import uncertainty_score

    return SeededScore(
        partial(uncertainty_score, runner.problem.decoder),
        derive_seed(runner.seed, *keys),
        n_weights=runner.config.uc_weights,
        n_samples=runner.config.uc_samples,
    )


#: Optimizer name (:attr:`MethodConfig.optimizer`) -> proposal and restarts.
OPTIMIZERS: dict[str, Optimizer] = {
    "ga": Optimizer(_propose_ga, lambda config: 1),
    "lbfgs": Optimizer(_propose_lbfgs, lambda config: config.lbfgs_restarts),
}


def _scales_penalty(runner: Runner):
    """The exact ScaLES, or a :class:`ReleasePenalty` where the run sets a component."""
    cfg, problem = runner.config, runner.problem
    decoder = problem.decoder
    if cfg.penalty_float64:
        if not isinstance(decoder, nn.Module):
            raise ValueError("penalty_float64 needs an nn.Module decoder (to copy it)")
        decoder = copy.deepcopy(decoder).double().requires_grad_(False)
    if not cfg.release_penalty:
        if decoder is problem.decoder:
            return runner.scales
        s = runner.scales
        return ScaLES(
            decoder,
            rho=s.rho,
            grad=s.grad,
            prior_scale=s.prior_scale,
            positions=s.positions,
        )
    prior = {"unit": 1.0, "latent": problem.latent_scale, "none": None}[
        cfg.scales_prior
    ]
    return ReleasePenalty(
        decoder,
        formula=cfg.scales_formula,
        normalizer=cfg.scales_normalizer,
        jacobian=cfg.scales_jacobian,
        anchor=cfg.scales_anchor,
        dropout=cfg.scales_dropout,
        tau=problem.rho if cfg.scales_tau is None else cfg.scales_tau,
        logit_clip=cfg.logit_clip,
        prior_scale=prior,
        positions=problem.positions,
    )


#: Penalty name (:attr:`MethodConfig.penalty`) -> factory taking the runner.
PENALTIES: dict[str | None, Callable[[Runner], object]] = {
    "scales": _scales_penalty,
    "prior": lambda runner: prior_score,
    "published": lambda runner: PublishedPenalty(
        runner.problem.decoder, positions=runner.problem.positions
    ),
    None: lambda runner: None,
}


def _scales_cache_name(runner: Runner) -> str | None:
    """What the ScaLES values depend on besides the latents (``None``: an unnamed decoder)."""
    checkpoint = runner.problem.info.get("checkpoint")
    if checkpoint is None:
        return None
    s = runner.scales
    return (
        f"scales-{checkpoint}-rho{s.rho:g}-pos{s.positions}"
        f"-prior{s.prior_scale:g}-{s.formula}"
    )


#: Stopping score name (:attr:`MethodConfig.stopping`) -> score and direction.
STOPPING: dict[str, StoppingRule] = {
    "scales": StoppingRule(
        lambda runner, keys: runner.scales,
        reject_above=False,
        cache_name=_scales_cache_name,
    ),
    "uc": StoppingRule(_uc_score, reject_above=True),
}
