r"""GP surrogates for latent space BO: a fast, warm-started exact GP and a deep kernel.

Both are BoTorch :class:`~botorch.models.SingleTaskGP` models with a
:class:`~botorch.models.transforms.input.Normalize` input transform (fixed bounds,
the latent box, so lengthscales keep their meaning from step to step) and a
:class:`~botorch.models.transforms.outcome.Standardize` outcome transform.

* ``kind="exact"``: BoTorch's default ARD RBF kernel, fitted with
  :func:`botorch.fit.fit_gpytorch_mll` (L-BFGS-B), capped at ``maxiter_cold``
  iterations from the defaults and ``maxiter`` when warm-started.
* ``kind="deep_kernel"``: ``ScaleKernel(RBF|Matern)`` (one lengthscale per feature)
  on the output of an MLP
  (Wilson et al. 2016; the latent is high-dimensional for the SELFIES VAE), trained
  with Adam through :func:`botorch.optim.fit.fit_gpytorch_mll_torch`.

Warm start: :func:`surrogate_state` returns the fitted parameters; passing them to
the next :func:`fit_surrogate` starts the optimizer there, so a few iterations
suffice once the data grows by one batch. The fit is a deterministic function of
``(train_X, train_Y, state)`` on CPU (random restarts, if BoTorch needs any, draw
from a seeded fork of the global RNG).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import partial

import torch
from botorch.exceptions.warnings import InputDataWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim.fit import fit_gpytorch_mll_torch
from gpytorch.kernels import Kernel, MaternKernel, RBFKernel, ScaleKernel
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor, nn

__all__ = ["SurrogateConfig", "DeepKernel", "fit_surrogate", "surrogate_state"]

logger = logging.getLogger(__name__)

SURROGATE_KINDS = ("exact", "deep_kernel")
BASE_KERNELS = ("rbf", "matern")


@dataclass(frozen=True)
class SurrogateConfig:
    r"""How the surrogate is built and fitted.

    Attributes:
        kind: ``"exact"`` (ARD RBF GP) or ``"deep_kernel"`` (MLP features + kernel).
        maxiter: L-BFGS-B iteration cap of a warm-started exact GP fit (a step
            adds only `q` points, so few iterations suffice).
        maxiter_cold: The cap of a fit from the default parameters.
        adam_steps: Adam steps of a warm-started deep-kernel fit.
        adam_steps_cold: Adam steps of a deep-kernel fit from scratch.
        adam_lr: Adam learning rate of the deep-kernel fit.
        hidden: Widths of the MLP hidden layers (deep kernel).
        features: Output width of the MLP (deep kernel).
        base_kernel: ``"rbf"`` or ``"matern"`` (Matern-5/2) on the features.
        seed: Seed of the MLP initialisation and of any random fit restart.
    """

    kind: str = "exact"
    maxiter: int = 10
    maxiter_cold: int = 100
    adam_steps: int = 30
    adam_steps_cold: int = 200
    adam_lr: float = 0.01
    hidden: tuple[int, ...] = (64, 64)
    features: int = 8
    base_kernel: str = "matern"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))  # JSON gives a list
        if self.kind not in SURROGATE_KINDS:
            raise ValueError(
                f"unknown surrogate kind {self.kind!r}; use {SURROGATE_KINDS}"
            )
        if self.base_kernel not in BASE_KERNELS:
            raise ValueError(
                f"unknown base_kernel {self.base_kernel!r}; use {BASE_KERNELS}"
            )
        for name in (
            "maxiter",
            "maxiter_cold",
            "adam_steps",
            "adam_steps_cold",
            "features",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.adam_lr > 0:
            raise ValueError(f"adam_lr must be positive, got {self.adam_lr}")


class DeepKernel(Kernel):
    r"""A base kernel on learned features, ``k(x, x') = k_0(g(x), g(x'))``.

    Args:
        feature_extractor: Maps `batch_shape x n x d` to `batch_shape x n x k`.
        base_kernel: A kernel on `k`-dim features (e.g. ``ScaleKernel(RBFKernel())``).
    """

    def __init__(self, feature_extractor: nn.Module, base_kernel: Kernel) -> None:
        super().__init__()
        self.feature_extractor = feature_extractor
        self.base_kernel = base_kernel

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params):
        r"""Covariance of `batch_shape x n x d` and `batch_shape x m x d` inputs."""
        f1 = self.feature_extractor(x1)
        f2 = f1 if x2 is x1 else self.feature_extractor(x2)
        return self.base_kernel(f1, f2, diag=diag, **params)


def _mlp(d: int, hidden: tuple[int, ...], out: int, seed: int) -> nn.Sequential:
    r"""A ReLU MLP `... x d` -> `... x out`, initialised from ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        width = d
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, out))
        return nn.Sequential(*layers)


def _check_data(train_X: Tensor, train_Y: Tensor, bounds: Tensor) -> None:
    if train_X.dim() != 2 or train_X.shape[0] < 2:
        raise ValueError(
            f"train_X must be n x d with n >= 2, got {tuple(train_X.shape)}"
        )
    if train_Y.shape != (train_X.shape[0], 1):
        raise ValueError(
            f"train_Y must be n x 1 with n = {train_X.shape[0]}, "
            f"got {tuple(train_Y.shape)}"
        )
    if bounds.shape != (2, train_X.shape[1]) or not bool((bounds[1] > bounds[0]).all()):
        raise ValueError(
            f"bounds must be 2 x d with lower < upper, got {tuple(bounds.shape)}"
        )
    if not (torch.isfinite(train_X).all() and torch.isfinite(train_Y).all()):
        raise ValueError(
            "train_X and train_Y must be finite (impute invalid points first)"
        )


def fit_surrogate(
    train_X: Tensor,
    train_Y: Tensor,
    bounds: Tensor,
    config: SurrogateConfig = SurrogateConfig(),
    state: dict[str, Tensor] | None = None,
    fit: bool = True,
) -> SingleTaskGP:
    r"""Build and fit a GP surrogate, optionally warm-started.

    Args:
        train_X: An `n x d` tensor of latents (float64 recommended).
        train_Y: An `n x 1` tensor of finite objective values.
        bounds: A `2 x d` tensor, the box mapped to the unit cube by ``Normalize``.
        config: Surrogate kind and fit budget.
        state: Parameters from :func:`surrogate_state` of an earlier fit (same
            ``config``) to start from; ``None`` starts from the defaults.
        fit: ``False`` only loads ``state`` (to rebuild a model fitted earlier).

    Returns:
        The fitted model in eval mode.
    """
    _check_data(train_X, train_Y, bounds)
    d = train_X.shape[-1]
    covar_module = None
    if config.kind == "deep_kernel":
        k = config.features  # one lengthscale per feature
        base = (
            RBFKernel(ard_num_dims=k)
            if config.base_kernel == "rbf"
            else MaternKernel(nu=2.5, ard_num_dims=k)
        )
        mlp = _mlp(d, tuple(config.hidden), config.features, config.seed)
        covar_module = DeepKernel(mlp, ScaleKernel(base))
    with warnings.catch_warnings():
        # ``bounds`` sets the input scale, not a constraint: latents outside it
        # (far gradient-ascent points) are expected.
        warnings.filterwarnings("ignore", category=InputDataWarning)
        model = SingleTaskGP(
            train_X,
            train_Y,
            covar_module=covar_module,
            input_transform=Normalize(d=d, bounds=bounds.to(train_X)),
            outcome_transform=Standardize(m=1),
        ).to(train_X)
    if state is not None:
        _load_parameters(model, state)
    if not fit:
        return model.eval()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        if config.kind == "exact":
            maxiter = config.maxiter if state is not None else config.maxiter_cold
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
        else:
            steps = config.adam_steps if state is not None else config.adam_steps_cold
            optimizer = partial(
                fit_gpytorch_mll_torch,
                step_limit=steps,
                optimizer=partial(torch.optim.Adam, lr=config.adam_lr),
            )
            fit_gpytorch_mll(mll, optimizer=optimizer)
    return model.eval()


def surrogate_state(model: SingleTaskGP) -> dict[str, Tensor]:
    r"""The fitted parameters of ``model`` (a detached copy), for a warm start."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _load_parameters(model: nn.Module, state: dict[str, Tensor]) -> None:
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(state))
    if missing or any(state[n].shape != params[n].shape for n in params):
        raise ValueError(
            f"warm-start state does not match the model (missing {missing[:3]} or a "
            "shape differs); was it produced with another surrogate config?"
        )
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(state[name].to(p))
