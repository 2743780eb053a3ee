r"""One BO step's pieces: the growing data set and the proposal of one point."""

from __future__ import annotations

import math
import time
from functools import partial

import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.sampling import SobolQMCNormalSampler
from torch import Tensor, nn

from ..score import ScaLES
from .config import BOConfig, check_invalid_rule
from .init_store import InitStore
from .methods import MethodConfig
from .optimize import hypercube_bounds
from .problem import Problem
from .seeding import derive_seed
from .stopping import quantile_of, score_values
from .strategies import OPTIMIZERS, PENALTIES, STOPPING
from .surrogate import fit_surrogate

__all__ = ["Observations", "StepRunner"]


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
        return self.X, self.Y[:, None]  # `n x d`, `n x 1`

    def add(self, calls: list[dict]) -> None:
        """Append a step's oracle records (invalid ones per :attr:`invalid`)."""
        if self.invalid == "drop":
            calls = [c for c in calls if c["valid"]]
            if not calls:
                return
        floor = float(self.Y.min())
        tkwargs = dict(dtype=torch.float64, device=self.X.device)
        Z = torch.tensor([c["latent"] for c in calls], **tkwargs).reshape(
            len(calls), -1
        )
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
            problem.decoder,
            rho=problem.rho,
            grad=config.scales_grad,
            prior_scale=prior_scale,
            positions=problem.positions,
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
                ok, reason = (
                    False,
                    f"the black box returned {objective} for a valid item",
                )
                objective = None
        out = dict(
            string=string, objective=objective, valid=ok, reason=reason, scales=scales
        )
        return out, toc - tic, time.perf_counter() - toc
