r"""Parameters of one BO run (:class:`BOConfig`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch

from .._checks import is_int
from .optimize import START_STRATEGIES
from .surrogate import SurrogateConfig

__all__ = ["BOConfig"]

_POSITIVE_INTS = (
    "q",
    "ga_steps",
    "mc_samples",
    "uc_weights",
    "uc_samples",
    "lbfgs_restarts",
    "lbfgs_maxiter",
    "max_cholesky",
)


#: What an invalid proposal adds to the GP data (:attr:`BOConfig.invalid`).
INVALID_RULES = ("lowest", "drop")


def check_invalid_rule(invalid: str) -> None:
    """Raise ``ValueError`` unless ``invalid`` is one of ``INVALID_RULES``."""
    if invalid not in INVALID_RULES:
        raise ValueError(f"invalid must be one of {INVALID_RULES}, got {invalid!r}")


#: When the surrogate is fitted (:attr:`BOConfig.refit`).
REFIT_RULES = ("every_step", "never")

#: How the GA combines the unit acquisition and penalty gradients
#: (:attr:`BOConfig.direction`).
DIRECTIONS = ("sum", "renormalized")

#: The penalty components a run may set away from the exact ScaLES (the published
#: releases' choices, :mod:`scales_core.bo.published`), with the exact ScaLES's value.
PENALTY_DEFAULTS = {
    "scales_formula": "paper",
    "scales_normalizer": "c",
    "scales_jacobian": "forward",
    "scales_anchor": "current",
    "scales_dropout": False,
    "scales_tau": None,
    "logit_clip": None,
}

#: Fields added after runs were stored, with the default those runs used.
LATER_FIELDS = {
    "penalty_float64": False,
    "invalid": "lowest",
    "refit": "every_step",
    "direction": "sum",
    **PENALTY_DEFAULTS,
}


@dataclass(frozen=True)
class BOConfig:
    r"""Parameters of one BO run (defaults: the paper's expressions setting).

    Attributes:
        n_steps: BO steps.
        q: Points per step, chosen sequentially with pending points.
        lr: Step length of the normalized gradient ascent (raw latent units).
        ga_steps: Gradient-ascent updates per point.
        start: ``"random"`` (distinct observed latents drawn afresh each step, as
            the reference code does) or ``"best"`` (the best observed latents).
        mc_samples: QMC samples of qLogEI.
        scales_grad: Gradient of the ScaLES penalty (and of ScaLES early stopping,
            which needs none): ``"cpa"`` (default) holds the decoder Jacobian
            fixed, the derivative the published reference code computes; it costs
            about half of ``"exact"`` (35 vs 73 ms per point on the expressions
            GRU, loaded CPU), which keeps a 100-step run under 10 minutes.
        uc_weights: Dropout weight samples of the UC score.
        uc_samples: Importance samples of the UC score.
        lbfgs_restarts: Start points per L-BFGS point (observed latents). 1, as in
            the published code (``les/opt/optimizer.py``, ``optimize_lbfgs``:
            ``num_restarts=1`` from the start points). With 4, the acquisition of a
            100-step expressions run took 8-10 minutes on one core.
        lbfgs_maxiter: L-BFGS-B iteration cap.
        half_width: The latent box ``[-h, h]^d`` (raw latent units) mapped to the
            unit cube (GP input normalization; L-BFGS facets are in these units).
            A dataset record states it in latent scales (see
            :class:`scales_core.datasets.BODefaults`).
        scales_prior: The prior term of the ScaLES penalty: ``"unit"`` (the
            paper's ``log N(z; 0, I)``), ``"latent"`` (``log N(z; 0, s^2 I)`` at
            the problem's latent scale ``s``, the VAE's own prior) or ``"none"``
            (no prior term, as the later published release).
        direction: ``"sum"`` (the default: the GA steps ``lr (u_acq + lam
            u_pen)`` with unit gradients ``u``, up to ``lr (1 + lam)`` long) or
            ``"renormalized"`` (that sum scaled to unit length, so every step is
            ``lr`` long and ``lam`` only turns it: the first published release,
            ``scales/opt/black_box.py``, ``_get_new_batch``).
        scales_formula: The penalty's log-det, ``"paper"`` (Eq. 13) or
            ``"forward"``; with ``scales_normalizer`` ``"c"`` or ``"inv_c"`` (the
            later release's forward formula).
        scales_jacobian: ``"forward"`` (exact forward mode, the default) or
            ``"fd"`` (forward differences, step 1e-4, as both releases).
        scales_anchor: ``"current"`` (the penalty's Jacobian at each ascent point,
            held fixed for its gradient) or ``"start"`` (taken once at the
            ascent's start points, as the later release).
        scales_dropout: Decoder in train mode (dropout on) in the penalty, as the
            later release.
        scales_tau: Weight of the penalty's log-det term against its prior
            (``None``: the problem's ``rho``; the first release used 1
            expressions, 0.001 SMILES, 0.003 SELFIES).
        logit_clip: Clamp the penalty's logits to ``+-logit_clip`` before the
            softmax (the first release: 12), or ``None``. Any penalty field away
            from its default makes the penalty a
            :class:`~scales_core.bo.published.ReleasePenalty`; the recorded ScaLES
            values and early-stopping scores stay the exact ScaLES.
        penalty_float64: Compute the penalty on a float64 copy of the decoder
            (``nn.Module`` decoders): the SMILES decoder's float32 logits move the
            penalty gradient by tens of percent against float64.
        invalid: What an invalid proposal adds to the GP data: ``"lowest"`` (the
            default: its latent at the lowest objective value observed so far, so
            the GP learns where the decoder fails) or ``"drop"`` (nothing; the
            published code's BO loop drops the NaN values of invalid decodes,
            ``les/opt/bo.py``, ``BayesianOptimizer.optimize``), which also keeps
            invalid latents out of the ascent's start points.
        refit: ``"every_step"`` (the default: the surrogate is refitted, warm
            started, on all observations at every step) or ``"never"`` (fitted
            once on the initial data and kept for the whole run; only the
            incumbent ``best_f`` and the start points see new observations). The
            published BO loop does the latter, apparently by accident:
            ``les/opt/bo.py``, ``BayesianOptimizer.fit_gp`` assigns ``self.gp``
            on its first call only; later calls build (and, with ``use_dkl``,
            train) a model, load the first call's ``state_dict`` into it and
            return it to ``optimize``, which discards it.
        max_cholesky: Largest kernel matrix handled by Cholesky (exact and
            deterministic) instead of GPyTorch's iterative solvers.
        surrogate: The GP surrogate and its fit budget.
        device: Where the decoder, the scores, the GP and the acquisition run
            (``"cpu"``, ``"cuda"``, ``"cuda:1"``); run records are the same on
            every device up to floating-point rounding.
    """

    n_steps: int = 100
    q: int = 5
    lr: float = 0.5
    ga_steps: int = 10
    start: str = "random"
    mc_samples: int = 256
    scales_grad: str = "cpa"
    uc_weights: int = 10
    uc_samples: int = 10
    lbfgs_restarts: int = 1
    lbfgs_maxiter: int = 200
    half_width: float = 3.0
    scales_prior: str = "unit"
    invalid: str = "lowest"
    refit: str = "every_step"
    direction: str = "sum"
    scales_formula: str = "paper"
    scales_normalizer: str = "c"
    scales_jacobian: str = "forward"
    scales_anchor: str = "current"
    scales_dropout: bool = False
    scales_tau: float | None = None
    logit_clip: float | None = None
    penalty_float64: bool = False
    max_cholesky: int = 5000
    surrogate: SurrogateConfig = field(default_factory=SurrogateConfig)
    device: str = "cpu"

    def __post_init__(self) -> None:
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"unknown device {self.device!r}: {err}") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {self.device!r} asked for, but torch sees no CUDA GPU "
                f"(torch {torch.__version__}); use device='cpu'"
            )
        object.__setattr__(self, "device", str(device))
        for name in _POSITIVE_INTS:
            if not is_int(getattr(self, name), 1):
                raise ValueError(
                    f"{name} must be an int >= 1, got {getattr(self, name)!r}"
                )
        if not is_int(self.n_steps, 0):
            raise ValueError(f"n_steps must be an int >= 0, got {self.n_steps!r}")
        for name, low in (("lr", 0.0), ("half_width", 1e-6)):
            value = getattr(self, name)
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value > low
            )
            if not ok:
                raise ValueError(
                    "lr and half_width must be positive and finite (half_width at "
                    f"least 1e-6), got {name}={value!r}"
                )
        if self.start not in START_STRATEGIES:
            raise ValueError(f"unknown start {self.start!r}; use {START_STRATEGIES}")
        if self.scales_grad not in ("exact", "cpa"):
            raise ValueError(
                f"scales_grad must be 'exact' or 'cpa', got {self.scales_grad!r}"
            )
        check_invalid_rule(self.invalid)
        if self.refit not in REFIT_RULES:
            raise ValueError(f"refit must be one of {REFIT_RULES}, got {self.refit!r}")
        if self.scales_prior not in ("unit", "latent", "none"):
            raise ValueError(
                "scales_prior must be 'unit', 'latent' or 'none', got "
                f"{self.scales_prior!r}"
            )
        self._check_penalty_fields()
        if isinstance(self.surrogate, dict):  # read back from a header
            object.__setattr__(self, "surrogate", SurrogateConfig(**self.surrogate))

    def _check_penalty_fields(self) -> None:
        """``ValueError`` naming the first bad penalty component."""
        from ..logdet import FORMULAS, NORMALIZERS
        from .published import ANCHORS

        choices = dict(
            direction=DIRECTIONS,
            scales_formula=FORMULAS,
            scales_normalizer=NORMALIZERS,
            scales_jacobian=("forward", "fd"),
            scales_anchor=ANCHORS,
            scales_dropout=(False, True),
            penalty_float64=(False, True),
        )
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {allowed}, got {getattr(self, name)!r}"
                )
        if self.scales_formula == "paper" and self.scales_normalizer != "c":
            raise ValueError("scales_normalizer='inv_c' needs scales_formula='forward'")
        for name in ("scales_tau", "logit_clip"):
            value = getattr(self, name)
            ok = value is None or (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value > 0
            )
            if not ok:
                raise ValueError(
                    f"{name} must be a positive number or None, got {value!r}"
                )

    @property
    def release_penalty(self) -> bool:
        """Whether any penalty component is set away from the exact ScaLES."""
        return any(getattr(self, k) != v for k, v in PENALTY_DEFAULTS.items())

    def to_dict(self) -> dict:
        """Plain-type view (for run headers).

        Fields added after runs were stored (``LATER_FIELDS``) appear only when set
        away from their default, so the stored runs' headers keep matching.
        """
        out = asdict(self)
        for name, default in LATER_FIELDS.items():
            if out[name] == default:
                del out[name]
        return out
