r"""One BO step's pieces: the growing data set and the proposal of one point."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.sampling import SobolQMCNormalSampler
from torch import Tensor, nn

from ..score import ScaLES, prior_score
from .config import BOConfig, check_invalid_rule
from .methods import MethodConfig
from .optimize import hypercube_bounds, optimize_acqf_ga, optimize_acqf_lbfgs
from .problem import Problem
from .published import PublishedPenalty, ReleasePenalty
from .seeding import derive_seed
from .init_store import InitStore
from .stopping import ScoreThresholdStopping, SeededScore, quantile_of, score_values
from .surrogate import fit_surrogate

__all__ = ["OPTIMIZERS", "PENALTIES", "STOPPING", "Observations", "StepRunner"]


class Observations:
    r"""Observed latents and GP targets, and the row count at the start of each step.

    Args:
        X: The `n x d` initial latents.
        Y: The `n` initial objective values.
        invalid: What an invalid call adds to the GP data: ``"lowest"`` (its latent
            at the lowest value observed so far) or ``"drop"`` (nothing, as the
            published code does with its NaN objective values).
    """

    def __init__(self, X: Tensor, Y: Tensor, invalid: str = "lowest") -> None:
        check_invalid_rule(invalid)
        self.X, self.Y, self.sizes, self.invalid = X, Y, [], invalid

    def start_step(self) -> tuple[Tensor, Tensor]:
        """Mark the start of a step; the `n x d` and `n x 1` training data."""
        self.sizes.append(self.X.shape[0])
        return self.X, self.Y[:, None]  # n x d, n x 1

    def add(self, calls: list[dict]) -> None:
        """Append a step's oracle records (invalid ones per :attr:`invalid`)."""
        if self.invalid == "drop":
            calls = [c for c in calls if c["valid"]]
            if not calls:
                return
        floor = float(self.Y.min())
        tkwargs = dict(dtype=torch.float64, device=self.X.device)
        Z = torch.tensor([c["latent"] for c in calls], **tkwargs).reshape(len(calls), -1)
        Y = [c["objective"] if c["valid"] else floor for c in calls]
        self.X = torch.cat([self.X, Z])
        self.Y = torch.cat([self.Y, torch.tensor(Y, **tkwargs)])


class StepRunner:
    r"""The fixed pieces of one run: scores, bounds, the threshold, one proposal.

    Args:
        problem: The problem.
        method: The acquisition optimizer.
        seed: The run seed (every random choice derives from it).
        config: The run parameters.
    """

    def __init__(
        self, problem: Problem, method: MethodConfig, seed: int, config: BOConfig
    ):
        self.problem, self.method = problem, method
        self.seed, self.config = seed, config
        self.device = torch.device(config.device)
        if isinstance(problem.decoder, nn.Module):
            # BO needs latent gradients only; frozen weights also let the scores
            # replay CUDA graphs on a GPU.
            problem.decoder.to(self.device).requires_grad_(False)
        # the recorded ScaLES keeps the unit prior where the penalty has none
        prior_scale = problem.latent_scale if config.scales_prior == "latent" else 1.0
        self.scales = ScaLES(
            problem.decoder, rho=problem.rho, grad=config.scales_grad,
            prior_scale=prior_scale, positions=problem.positions,
        )
        d, h = problem.latent_dim, config.half_width
        tkwargs = dict(dtype=torch.float64, device=self.device)
        self.box = hypercube_bounds(d, 1.0, h, **tkwargs)
        facet = method.facet if method.facet is not None else 1.0  # L-BFGS only
        self.bounds = hypercube_bounds(d, facet, h, **tkwargs)
        self.penalty = PENALTIES[method.penalty](self)
        self.optimizer = OPTIMIZERS[method.optimizer]
        self.restarts = self.optimizer.restarts(config)

    def stopping_score(self, *keys: int | str):
        """The early-stopping score; a UC score is seeded by ``(seed, *keys)``."""
        return STOPPING[self.method.stopping].score(self, keys)

    def threshold(self, store: InitStore | None = None) -> float | None:
        """The stopping threshold: the method's quantile on the initial latents.

        Args:
            store: Where the score values of the initial latents are cached
                across runs (deterministic scores of a named checkpoint only).
        """
        if self.method.stopping is None:
            return None
        score = self.stopping_score("threshold")
        X = self.problem.train_X.to(self.device)
        name = STOPPING[self.method.stopping].cache_name(self)
        if store is None or name is None:
            values = score_values(score, X)
        else:
            values = store.scores(X, name, partial(score_values, score))
        if bool((values == values[0]).all()):
            raise ValueError(
                f"{self.method.name}: the {self.method.stopping} score is "
                f"{float(values[0]):g} on every initial latent, so no threshold "
                "separates anything (a decoder without dropout has UC 0 everywhere)"
            )
        return quantile_of(values, self.method.quantile)

    def fit(self, X: Tensor, Y: Tensor, state: dict | None, fit: bool = True):
        """Fit (or, with ``fit=False``, rebuild) the surrogate on `n x d`, `n x 1`."""
        return fit_surrogate(
            X, Y, self.box, self.config.surrogate, state=state, fit=fit
        )

    def propose(
        self, model, best_f, pending, starts, t, j, threshold
    ) -> tuple[Tensor, float, dict]:
        r"""Point ``j`` of step ``t``: maximize qLogEI given the ``pending`` points.

        Args:
            model: The fitted surrogate.
            best_f: The best observed value.
            pending: `1 x d` tensors chosen earlier in this step.
            starts: An `r x 1 x d` tensor of start points.
            t: Step index.
            j: Index within the step.
            threshold: The early-stopping threshold (or ``None``).

        Returns:
            The `1 x d` candidate, its acquisition value and the optimizer's extra
            fields for the oracle record (e.g. ``ascent_steps``).
        """
        cfg = self.config
        qmc_seed = derive_seed(self.seed, t, j, "qmc")
        sampler = SobolQMCNormalSampler(torch.Size([cfg.mc_samples]), seed=qmc_seed)
        X_pending = torch.cat(pending).to(self.device) if pending else None
        acq = qLogExpectedImprovement(
            model, best_f, sampler=sampler, X_pending=X_pending
        )
        with torch.random.fork_rng():
            torch.manual_seed(derive_seed(self.seed, t, j, "torch"))
            X, value, extra = self.optimizer.propose(self, acq, starts, t, j, threshold)
        return X.detach().reshape(1, -1), float(value), extra

    def observations(self) -> Observations:
        """The initial data on this run's device."""
        X, Y = self.problem.train_X, self.problem.train_Y
        return Observations(X.to(self.device), Y.to(self.device), self.config.invalid)

    def oracle(self, z: Tensor) -> tuple[dict, float, float]:
        """Decode and evaluate a `1 x d` latent: record fields, oracle s, ScaLES s."""
        tic = time.perf_counter()
        (string,) = self.problem.decode(z)
        values, valid, reasons = self.problem.evaluate([string])
        toc = time.perf_counter()
        with torch.no_grad():
            scales = float(self.scales(z))
        ok, objective, reason = bool(valid[0]), None, reasons[0]
        if ok:
            try:
                objective = float(values[0])
            except (TypeError, ValueError):
                objective = math.nan
            if not math.isfinite(objective):  # an invalid call, not a crash mid-run
                ok, reason = False, f"the black box returned {objective} for a valid item"
                objective = None
        out = dict(string=string, objective=objective, valid=ok, reason=reason, scales=scales)
        return out, toc - tic, time.perf_counter() - toc


# ------------------------------------------------------------------ tables


def _propose_ga(runner: StepRunner, acq, starts: Tensor, t, j, threshold):
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


def _propose_lbfgs(runner: StepRunner, acq, starts: Tensor, t, j, threshold):
    """BoTorch's L-BFGS-B in the method's hypercube."""
    X, value = optimize_acqf_lbfgs(acq, runner.bounds, starts, runner.config.lbfgs_maxiter)
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
    cache_name: Callable[[StepRunner], str | None] = lambda runner: None


def _uc_score(runner: StepRunner, keys: tuple) -> SeededScore:
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

def _scales_penalty(runner: StepRunner):
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
        return ScaLES(decoder, rho=s.rho, grad=s.grad, prior_scale=s.prior_scale,
                      positions=s.positions)
    prior = {"unit": 1.0, "latent": problem.latent_scale, "none": None}[cfg.scales_prior]
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
PENALTIES: dict[str | None, Callable[[StepRunner], object]] = {
    "scales": _scales_penalty,
    "prior": lambda runner: prior_score,
    "published": lambda runner: PublishedPenalty(
        runner.problem.decoder, positions=runner.problem.positions
    ),
    None: lambda runner: None,
}

#: Stopping score name (:attr:`MethodConfig.stopping`) -> score and direction.
def _scales_cache_name(runner: StepRunner) -> str | None:
    """What the ScaLES values depend on besides the latents (``None``: an unnamed decoder)."""
    checkpoint = runner.problem.info.get("checkpoint")
    if checkpoint is None:
        return None
    s = runner.scales
    return (f"scales-{checkpoint}-rho{s.rho:g}-pos{s.positions}"
            f"-prior{s.prior_scale:g}-{s.formula}")


STOPPING: dict[str, StoppingRule] = {
    "scales": StoppingRule(lambda runner, keys: runner.scales, reject_above=False,
                           cache_name=_scales_cache_name),
    "uc": StoppingRule(_uc_score, reject_above=True),
}
