r"""Acquisition optimizers: normalized gradient ascent (Eq. 15) and bounded L-BFGS.

Split as in BoTorch: :func:`initialize_from_data` (start points), the ascent loop
:func:`gen_candidates_normalized_ga`, a stopping object
(:class:`~scales_core.bo.stopping.ScoreThresholdStopping`) and the entry points
:func:`optimize_acqf_ga` and :func:`optimize_acqf_lbfgs`, which return
``(candidates, values)``.

The update of Eq. 15, with step size ``lr`` and penalty score ``P`` (ScaLES or
the prior; higher is better):

.. math::
    z \leftarrow z + \mathrm{lr} \Big( \frac{\nabla A(z)}{\|\nabla A(z)\|_2}
        + \lambda \frac{\nabla P(z)}{\|\nabla P(z)\|_2} \Big)

in the raw latent space (the space of ``N(0, I)``), norms taken over the `q x d`
entries of each candidate set. With ``renormalize`` the bracket is scaled to unit
length, so every step is ``lr`` long and ``lambda`` only turns it, as the first
published release does (``scales/opt/black_box.py``, ``_get_new_batch``, in raw
latents: its runner passes ``normalize=False``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from botorch.acquisition import AcquisitionFunction
from botorch.optim import optimize_acqf
from torch import Tensor

from .stopping import ScoreThresholdStopping

__all__ = [
    "START_STRATEGIES",
    "gen_candidates_normalized_ga",
    "hypercube_bounds",
    "initialize_from_data",
    "optimize_acqf_ga",
    "optimize_acqf_lbfgs",
]

START_STRATEGIES = ("random", "best")
_TINY = 1e-30


def initialize_from_data(
    train_X: Tensor,
    n: int,
    generator: torch.Generator | None = None,
    train_Y: Tensor | None = None,
    strategy: str = "random",
) -> Tensor:
    r"""Start points taken from the observed latents.

    ``"random"`` draws ``n`` distinct observed latents uniformly (as the reference
    code does, a fresh draw every BO step); ``"best"`` takes the ``n`` latents with
    the highest ``train_Y``, best first.

    Args:
        train_X: An `N x d` tensor of observed latents.
        n: Number of start points (``<= N``).
        generator: RNG of the ``"random"`` draw.
        train_Y: An `N` (or `N x 1`) tensor, needed for ``"best"``.
        strategy: ``"random"`` or ``"best"``.

    Returns:
        An `n x d` tensor (a copy).
    """
    if strategy not in START_STRATEGIES:
        raise ValueError(f"unknown start strategy {strategy!r}; use {START_STRATEGIES}")
    if not 1 <= n <= train_X.shape[0]:
        raise ValueError(f"need 1 <= n <= {train_X.shape[0]} start points, got {n}")
    if strategy == "random":
        index = torch.randperm(train_X.shape[0], generator=generator)[:n]
    else:
        if train_Y is None:
            raise ValueError("strategy 'best' needs train_Y")
        index = torch.argsort(train_Y.reshape(-1), descending=True, stable=True)[:n]
    return train_X[index.to(train_X.device)].detach().clone()


def hypercube_bounds(
    d: int, facet: float, half_width: float = 3.0, **tkwargs
) -> Tensor:
    r"""The cube of facet length ``facet`` (normalized units) centred at ``z = 0``.

    Latents are normalized by ``u = (z + h) / (2h)`` (the box ``[-h, h]^d``, ``h =
    half_width``, becomes the unit cube, as the GP's input transform does). The
    cube of facet ``f`` centred at the middle of the unit cube is ``u in [1/2 - f/2,
    1/2 + f/2]^d``, i.e. ``z in [-f h, f h]^d``: facet 1 is the data box, 5 and 25
    reach far outside it. (The reference code used ``u in [0, f]``, a cube that is
    not centred at zero for ``f > 1``; the paper's text says centred.)

    Returns:
        A `2 x d` tensor ``[lower, upper]``.
    """
    if not facet > 0 or not half_width > 0:
        raise ValueError(
            f"facet and half_width must be positive, got {facet}, {half_width}"
        )
    r = facet * half_width
    return torch.tensor([[-r] * d, [r] * d], **tkwargs)


def _unit(g: Tensor) -> Tensor:
    r"""Scale each `q x d` block of a `b x q x d` tensor to unit Frobenius norm."""
    norm = g.flatten(-2).norm(dim=-1).clamp_min(_TINY)  # `b`
    return g / norm[:, None, None]


def _grad(f: Callable[[Tensor], Tensor], X: Tensor) -> Tensor:
    X = X.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(X).sum(), X)
    return torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)


def gen_candidates_normalized_ga(
    initial_conditions: Tensor,
    acquisition_function: AcquisitionFunction | Callable[[Tensor], Tensor],
    penalty: Callable[[Tensor], Tensor] | None = None,
    lam: float = 0.0,
    lr: float = 0.5,
    n_steps: int = 10,
    stopping: ScoreThresholdStopping | None = None,
    renormalize: bool = False,
    return_accepted: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
    r"""Run ``n_steps`` normalized gradient-ascent updates (Eq. 15).

    Args:
        initial_conditions: A `b x q x d` tensor of start points.
        acquisition_function: Maps `b x q x d` to `b` (maximized).
        penalty: A score `batch x d` -> `batch` to increase (ScaLES, prior), or ``None``.
            A penalty with an ``anchored(z0)`` method (e.g.
            :class:`~scales_core.bo.published.PublishedPenalty`) is anchored once
            at the `(b q) x d` start points and the returned score is used for
            every update.
        lam: Weight of the normalized penalty gradient (>= 0).
        lr: Step length.
        n_steps: Number of updates.
        stopping: Rejects the update of a candidate set when any of its `q`
            new points crosses the threshold; that set then stops moving.
        renormalize: Scale ``u_acq + lam u_pen`` to unit length before the step.
        return_accepted: Also return how many updates each candidate set took.

    Returns:
        ``(candidates, values)``: a `b x q x d` tensor and the `b` acquisition values
        at the candidates; with ``return_accepted``, also the `b` numbers of
        accepted updates (``n_steps`` without early stopping; 0: the set never
        left its start points).
    """
    if initial_conditions.dim() != 3:
        shape = tuple(initial_conditions.shape)
        raise ValueError(f"initial_conditions must be b x q x d, got {shape}")
    if lam < 0 or lr <= 0 or n_steps < 0:
        raise ValueError(
            f"need lam >= 0, lr > 0, n_steps >= 0; got {lam}, {lr}, {n_steps}"
        )
    b, q, d = initial_conditions.shape
    X = initial_conditions.detach().clone()
    active = torch.ones(b, dtype=torch.bool, device=X.device)
    accepted = torch.zeros(b, dtype=torch.long, device=X.device)
    anchored = None
    anchors_at_start = getattr(penalty, "anchor", "start") == "start"
    if (
        penalty is not None
        and lam > 0
        and hasattr(penalty, "anchored")
        and anchors_at_start
        and n_steps
    ):
        anchored = penalty.anchored(X.reshape(-1, d))
    for _ in range(n_steps):
        idx = active.nonzero().squeeze(-1)
        if idx.numel() == 0:
            break
        Xa = X[idx]
        step = _unit(_grad(acquisition_function, Xa))
        if anchored is not None:  # rows stay paired with their anchors
            gp = _grad(lambda Z: anchored(Z.reshape(-1, d)), X)[idx]
            step = step + lam * _unit(gp)
        elif penalty is not None and lam > 0:
            gp = _grad(lambda Z: penalty(Z.reshape(-1, d)), Xa)  # (len(idx), q, d)
            step = step + lam * _unit(gp)
        if renormalize and penalty is not None and lam > 0:
            step = _unit(step)
        X_new = Xa + lr * step
        if stopping is not None:
            rejected = stopping.reject(X_new.reshape(-1, d)).reshape(-1, q).any(-1)
            X_new[rejected] = Xa[rejected]
            active[idx[rejected]] = False
            accepted[idx[~rejected]] += 1
        else:
            accepted[idx] += 1
        X[idx] = X_new
    with torch.no_grad():
        values = acquisition_function(X)
    return (X, values, accepted) if return_accepted else (X, values)


def optimize_acqf_ga(
    acq_function: AcquisitionFunction | Callable[[Tensor], Tensor],
    initial_conditions: Tensor,
    penalty: Callable[[Tensor], Tensor] | None = None,
    lam: float = 0.0,
    lr: float = 0.5,
    n_steps: int = 10,
    stopping: ScoreThresholdStopping | None = None,
    renormalize: bool = False,
    return_accepted: bool = False,
) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, int]:
    r"""Optimize an acquisition function by normalized gradient ascent.

    Args:
        acq_function: Maps `b x q x d` to `b`.
        initial_conditions: A `b x q x d` (or `q x d`) tensor; each of the `b`
            restarts ascends independently and the best is returned.
        penalty: A score `batch x d` -> `batch` to increase, or ``None``.
        lam: Weight of the normalized penalty gradient (>= 0).
        lr: Step length.
        n_steps: Number of updates.
        stopping: Optional early stopping (see
            :func:`gen_candidates_normalized_ga`).
        renormalize: Scale the combined direction to unit length.
        return_accepted: Also return the number of updates the best set took.

    Returns:
        ``(candidates, value)``: the best `q x d` candidate set and its scalar
        acquisition value (and, with ``return_accepted``, its accepted updates).
    """
    X0 = initial_conditions
    if X0.dim() == 2:
        X0 = X0[None]
    X, values, accepted = gen_candidates_normalized_ga(
        X0,
        acq_function,
        penalty=penalty,
        lam=lam,
        lr=lr,
        n_steps=n_steps,
        stopping=stopping,
        renormalize=renormalize,
        return_accepted=True,
    )
    best = int(torch.argmax(values))
    if return_accepted:
        return X[best].detach(), values[best].detach(), int(accepted[best])
    return X[best].detach(), values[best].detach()


def optimize_acqf_lbfgs(
    acq_function: AcquisitionFunction,
    bounds: Tensor,
    initial_conditions: Tensor,
    maxiter: int = 200,
) -> tuple[Tensor, Tensor]:
    r"""Optimize with BoTorch's ``optimize_acqf`` (L-BFGS-B) inside ``bounds``.

    Args:
        acq_function: A BoTorch acquisition function.
        bounds: A `2 x d` tensor (see :func:`hypercube_bounds`).
        initial_conditions: A `b x q x d` tensor of restarts; they are clamped
            into ``bounds``.
        maxiter: L-BFGS-B iteration cap per restart.

    Returns:
        ``(candidates, value)``: the best `q x d` candidate set and its value.
    """
    if initial_conditions.dim() != 3:
        raise ValueError("initial_conditions must be b x q x d")
    ics = initial_conditions.clamp(bounds[0], bounds[1])
    candidates, values = optimize_acqf(
        acq_function,
        bounds=bounds,
        q=ics.shape[1],
        num_restarts=ics.shape[0],
        batch_initial_conditions=ics,
        options={"maxiter": maxiter},
        retry_on_optimization_warning=False,
    )
    return candidates.detach(), values.detach()
