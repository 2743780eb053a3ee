r"""Where a penalty's gradient points: against another penalty's and the prior's.

The normalized ascent (Eq. 15) uses only the direction of the penalty's gradient,
so two penalties whose gradients point the same way steer the same way whatever
their scale. :func:`penalty_directions` compares the gradients of several
penalties on the same latents (chapter 5 reads the first release's ablation arms
with it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import torch
from torch import Tensor

from ..score import prior_score
from .config import BOConfig
from .methods import MethodConfig, get_method
from .problem import Problem
from .step import StepRunner

__all__ = ["penalty_directions", "penalty_gradient", "run_penalty"]


def run_penalty(
    problem: Problem, config: BOConfig, method: str | MethodConfig = "scales_0.8"
) -> Callable[[Tensor], Tensor]:
    r"""The penalty a run of ``method`` under ``config`` ascends on ``problem``.

    The same object :func:`~scales_core.bo.run_bo` builds
    (:data:`~scales_core.bo.strategies.PENALTIES`).

    Args:
        problem: The problem (its decoder, ``rho`` and positions).
        config: The run parameters (a preset's fields, say).
        method: A penalized method.

    Returns:
        The penalty, `batch x d` latents -> `batch` values.

    Raises:
        ValueError: for a method without a penalty.
    """
    method = get_method(method)
    if method.penalty is None:
        raise ValueError(f"method {method.name!r} has no penalty")
    return StepRunner(problem, method, 0, config).penalty


def penalty_gradient(penalty: Callable[[Tensor], Tensor], z: Tensor) -> Tensor:
    r"""The gradient of a penalty at each latent, `batch x d`.

    Args:
        penalty: Maps `batch x d` latents to `batch` values, row ``i`` depending
            only on latent ``i`` (as every penalty of
            :data:`~scales_core.bo.strategies.PENALTIES` does).
        z: `batch x d` latents.

    Returns:
        `batch x d` gradients (float64).
    """
    x = z.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(penalty(x).sum(), x)
    return grad.detach().to(torch.float64)


def penalty_directions(
    penalties: Mapping[str, Callable[[Tensor], Tensor]],
    z: Tensor,
    reference: str,
    prior_scale: float = 1.0,
) -> pd.DataFrame:
    r"""Each penalty's gradient direction against a reference penalty's and the prior's.

    Args:
        penalties: Label -> penalty (`batch x d` -> `batch`).
        z: `batch x d` latents where the gradients are taken.
        reference: The label of ``penalties`` the others are compared with.
        prior_scale: Scale ``s`` of the prior ``log N(z; 0, s^2 I)`` compared with.

    Returns:
        Index label; columns ``median |grad|``, ``cos to reference`` (median over
        the latents of the cosine with the reference's gradient), ``cos to
        reference (10 %)`` (its 10 % quantile) and ``cos to prior`` (median cosine
        with the prior's gradient ``-z / s^2``); ``attrs["reference"]`` names the
        reference.

    Raises:
        KeyError: if ``reference`` is not a label of ``penalties``.
    """
    if reference not in penalties:
        raise KeyError(f"reference {reference!r} is not one of {list(penalties)}")
    grads = {label: penalty_gradient(p, z) for label, p in penalties.items()}
    prior = penalty_gradient(lambda x: prior_score(x, prior_scale), z)

    def cos(a: Tensor, b: Tensor) -> Tensor:
        return torch.nn.functional.cosine_similarity(a, b, dim=-1)

    rows = {}
    for label, g in grads.items():
        to_ref = cos(g, grads[reference])
        rows[label] = {
            "median |grad|": float(g.norm(dim=-1).median()),
            "cos to reference": float(to_ref.median()),
            "cos to reference (10 %)": float(to_ref.quantile(0.1)),
            "cos to prior": float(cos(g, prior).median()),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["reference"] = reference
    return table
