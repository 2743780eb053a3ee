r"""A latent space optimization problem: decoder, black box and initial labelled set.

:func:`make_problem` builds the paper's problems by task name; tests and notebooks
can build a :class:`Problem` from any decoder and black box.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..paths import DataNotFoundError

__all__ = ["Problem", "PROBLEM_DEFAULTS", "make_problem"]

logger = logging.getLogger(__name__)

Evaluate = Callable[[list[str]], tuple[np.ndarray, np.ndarray, list]]

#: Per-task defaults (paper Sec. 4.1 and App. B.5-B.7): checkpoint, ScaLES rho,
#: initial set size, lr. The GuacaMol tasks use the project's SELFIES transformer
#: VAE (the paper's LOL-BO weights are not public here) and MOSES training molecules.
PROBLEM_DEFAULTS: dict[str, dict] = {
    "expressions": dict(checkpoint="expressions_gru_1", rho=1.0, n_init=500, lr=0.5),
    **{
        task: dict(checkpoint="selfies_transformer", rho=1.0, n_init=1000, lr=1.0)
        for task in ("ranolazine_mpo", "perindopril_mpo", "zaleplon_mpo")
    },
}


@dataclass
class Problem:
    r"""Everything a BO run needs about its task.

    Attributes:
        task: Task name (written to the run header).
        decoder: Maps `n x d` latents to `n x L x D` logits (for the scores).
        decode: Maps `n x d` latents to `n` strings (argmax decoding).
        evaluate: Maps strings to ``(values, valid, reasons)`` as
            :meth:`scales_core.tasks.Task.evaluate`.
        strings: The `n` initial strings.
        train_X: An `n x d` float64 tensor, their latents.
        train_Y: An `n` float64 tensor, their (finite) objective values.
        rho: ScaLES ``rho`` for this decoder.
        latent_scale: The VAE's prior standard deviation (``eps_std`` of the
            published VAEs; 1 for a standard VAE).
        info: Plain-type description (checkpoint, data seed) for the run header.
    """

    task: str
    decoder: Callable[[Tensor], Tensor]
    decode: Callable[[Tensor], list[str]]
    evaluate: Evaluate
    strings: list[str]
    train_X: Tensor
    train_Y: Tensor
    rho: float = 1.0
    latent_scale: float = 1.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        X, Y = self.train_X, self.train_Y
        if not isinstance(X, Tensor) or X.dim() != 2 or X.shape[0] < 2:
            raise ValueError(
                "missing initial data: train_X must be an n x d tensor with n >= 2, "
                f"got {tuple(X.shape) if isinstance(X, Tensor) else type(X).__name__}"
            )
        if not isinstance(Y, Tensor) or Y.shape != X.shape[:1]:
            raise ValueError(
                f"train_Y must have shape ({X.shape[0]},), got {getattr(Y, 'shape', Y)}"
            )
        if len(self.strings) != X.shape[0]:
            raise ValueError(
                f"{len(self.strings)} initial strings for {X.shape[0]} latents"
            )
        if not (isinstance(self.latent_scale, (int, float)) and self.latent_scale > 0):
            raise ValueError(f"latent_scale must be positive, got {self.latent_scale!r}")
        if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
            raise ValueError("initial latents and objective values must be finite")
        self.train_X = X.detach().to(torch.float64).clone()
        self.train_Y = Y.detach().to(torch.float64).clone()

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.train_X.shape[1]


def make_problem(
    task: str,
    n_init: int | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    device: str | torch.device = "cpu",
) -> Problem:
    r"""The paper's problem for ``task``: a VAE and random training data.

    Expressions: ``n_init`` random expressions of the training set (a subset that
    depends on ``seed``), their objective, and their encoder means as latents
    (Sec. 4.1). GuacaMol MPO tasks: ``n_init`` random MOSES training molecules
    that the SELFIES VAE can tokenize, encoded the same way. Invalid initial
    items are dropped.

    Args:
        task: A key of :data:`PROBLEM_DEFAULTS`.
        n_init: Size of the initial labelled set (default: the paper's).
        seed: Seed of the initial subset.
        checkpoint: A checkpoint name (default: the task's).
        device: Where the VAE runs (encoding here, decoding during BO).

    Returns:
        The problem, with its decoder in eval mode and frozen (BO needs latent
        gradients only).

    Raises:
        ValueError: for an unknown task, a bad ``n_init``, or missing data files.
    """
    if task not in PROBLEM_DEFAULTS:
        raise ValueError(
            f"no BO problem for task {task!r}; known: {sorted(PROBLEM_DEFAULTS)}"
        )
    from ..tasks import get_task

    defaults = PROBLEM_DEFAULTS[task]
    n_init = defaults["n_init"] if n_init is None else n_init
    checkpoint = checkpoint or defaults["checkpoint"]
    if isinstance(n_init, bool) or not isinstance(n_init, int) or n_init < 2:
        raise ValueError(f"n_init must be an int >= 2, got {n_init!r}")
    try:
        vae, strings = _vae_and_strings(task, checkpoint, n_init, seed)
    except DataNotFoundError as error:
        raise ValueError(f"missing data for task {task!r}: {error}") from error
    vae = vae.to(device).eval().requires_grad_(False)
    values, valid, _ = get_task(task).evaluate(strings)
    if not valid.all():
        logger.warning("dropping %d invalid initial strings", int((~valid).sum()))
    strings = [s for s, ok in zip(strings, valid) if ok]
    with torch.no_grad():
        X = vae.encode(strings).to("cpu", torch.float64)

    def decode(z: Tensor) -> list[str]:
        return vae.decode_strings(z.detach().to(torch.float32))

    return Problem(
        task=task,
        decoder=vae.decoder,
        decode=decode,
        evaluate=get_task(task).evaluate,
        strings=strings,
        train_X=X,
        train_Y=torch.as_tensor(values[valid], dtype=torch.float64),
        rho=defaults["rho"],
        latent_scale=float(vae.latent_scale),
        info=dict(checkpoint=checkpoint, n_init=n_init, data_seed=seed),
    )


def _vae_and_strings(task: str, checkpoint: str, n: int, seed: int):
    """The task's VAE and ``n`` random training strings it can tokenize."""
    from ..data import load_expressions, load_moses
    from ..models.own import OWN_MODELS, load_vae
    from ..models.paper import load_paper_vae

    if task == "expressions":
        return load_paper_vae(checkpoint), load_expressions(n=n, seed=seed)
    vae = load_vae(checkpoint) if checkpoint in OWN_MODELS else load_paper_vae(checkpoint)
    strings = []
    for smiles in load_moses("train", n=4 * n, seed=seed):  # a few do not tokenize
        try:
            vae.tokenize([smiles])
        except ValueError:
            continue
        strings.append(smiles)
        if len(strings) == n:
            return vae, strings
    raise ValueError(f"only {len(strings)} of {4 * n} MOSES molecules tokenize")
