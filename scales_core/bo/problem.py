r"""A latent space optimization problem: decoder, black box and initial labelled set.

:func:`make_problem` builds a problem by task name from the dataset record that
serves the task (:mod:`scales_core.datasets`); tests and notebooks can build a
:class:`Problem` from any decoder and black box.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .._checks import decoder_dtype
from ..datasets import DATASETS, Dataset, dataset_for_task
from ..datasets.dataset import encodable, place_vae
from ..jacobian import check_positions
from ..paths import DataNotFoundError
from ..tasks import get_task

__all__ = ["Problem", "PROBLEM_DEFAULTS", "make_problem"]

logger = logging.getLogger(__name__)

Evaluate = Callable[[list[str]], tuple[np.ndarray, np.ndarray, list]]


class _ProblemDefaults(Mapping):
    """Deprecated read-only view ``task -> dict(checkpoint, rho, n_init, lr)``.

    Derived live from the dataset records (:func:`scales_core.datasets.
    dataset_for_task`); use the records instead.
    """

    def _tasks(self) -> list[str]:
        return [t for d in DATASETS.values() for t in d.objectives]

    def __getitem__(self, task: str) -> dict:
        warnings.warn(
            "PROBLEM_DEFAULTS is deprecated; use "
            "scales_core.datasets.dataset_for_task(task)",
            DeprecationWarning,
            stacklevel=2,
        )
        if task not in self._tasks():
            raise KeyError(task)
        record = dataset_for_task(task)
        return dict(
            checkpoint=record.bo_model,
            rho=record.rho,
            n_init=record.bo.n_init,
            lr=record.bo.lr,
        )

    def __iter__(self):
        return iter(self._tasks())

    def __len__(self) -> int:
        return len(self._tasks())


#: Deprecated: per-task defaults, a view of the dataset records.
PROBLEM_DEFAULTS: Mapping[str, dict] = _ProblemDefaults()


@dataclass
class Problem:
    r"""Everything a BO run needs about its task.

    Attributes:
        task: Task name (written to the run header).
        decoder: Maps `batch x d` latents to `batch x L x D` logits (for the scores).
        decode: Maps `batch x d` latents to `batch` strings (argmax decoding).
        evaluate: Maps strings to ``(values, valid, reasons)`` as
            :meth:`scales_core.tasks.Task.evaluate`.
        strings: The `n` initial strings.
        train_X: An `n x d` float64 tensor, their latents.
        train_Y: An `n` float64 tensor, their (finite) objective values.
        rho: ScaLES ``rho`` for this decoder.
        latent_scale: The VAE's prior standard deviation (``eps_std`` of the
            published VAEs; 1 for a standard VAE).
        positions: Leading sequence positions the Jacobian-based scores use (the
            record's, as in Table 1; ``None``: all). A causal decoder stops
            decoding there, for the forward pass and its tangents alike.
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
    positions: int | None = None
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
            raise ValueError(
                f"latent_scale must be positive, got {self.latent_scale!r}"
            )
        check_positions(self.positions)
        if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
            raise ValueError("initial latents and objective values must be finite")
        self.train_X = X.detach().to(torch.float64).clone()
        self.train_Y = Y.detach().to(torch.float64).clone()

    @property
    def latent_dim(self) -> int:
        """The latent size `d`."""
        return self.train_X.shape[1]

    def decoded_validity(self, batch_size: int = 500) -> Tensor:
        r"""Which initial latents decode back to a valid string.

        The initial values are those of the strings themselves, but the ascent
        starts from their latents, whose decodes may differ from the strings and
        fail. The share of ``True`` bounds the validity of a method whose
        proposals stay near their starts (chapter 5, "The starting latents set
        the ceiling").

        Args:
            batch_size: Latents decoded per call.

        Returns:
            An `n` bool tensor: ``True`` where ``decode(train_X[i])`` is valid.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        valid = []
        with torch.no_grad():
            for chunk in self.train_X.split(batch_size):
                _, ok, _ = self.evaluate(self.decode(chunk))
                valid.append(torch.as_tensor(np.asarray(ok, dtype=bool)))
        return torch.cat(valid)


def problem_info(
    task: str,
    n_init: int | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    positions: int | None = None,
) -> dict:
    """The run-header description of a problem.

    The problem is ``make_problem(task, n_init, seed, checkpoint,
    positions=positions)``.

    Computed from the task's record alone (no VAE is loaded), so a sweep can match
    stored runs before it builds a problem.

    Returns:
        ``checkpoint``, ``n_init`` and ``data_seed``, and ``positions`` where the
        record sets them.
    """
    record = dataset_for_task(task)
    info = dict(
        checkpoint=checkpoint or record.bo_model,
        n_init=record.bo.n_init if n_init is None else n_init,
        data_seed=seed,
    )
    positions = record.positions if positions is None else positions
    check_positions(positions)
    # positions only where set, so the expressions headers stay as they were
    if positions is not None:
        info["positions"] = positions
    return info


def _valid_initial_set(record, vae, task, strings, n_init, seed):
    """``n_init`` valid initial strings and their values.

    When some of the record's first ``n_init`` strings are invalid (SELFIES: about
    7 % of MOSES molecules fail the quality filters), a larger seeded draw is
    taken and its first ``n_init`` valid strings kept, so the GP starts from
    ``n_init`` labelled points as in the paper (1,000 for GuacaMol).

    Raises:
        ValueError: when the record's pool has fewer than ``n_init`` valid items.
    """
    evaluate = get_task(task).evaluate
    size = n_init
    while True:
        values, valid, reasons = evaluate(strings)
        keep = np.flatnonzero(valid)[:n_init]
        if len(keep) == n_init:
            return [strings[i] for i in keep], values[keep]
        if len(keep) < n_init / 10:  # a broken check, not a few bad items
            raise ValueError(
                f"task {task!r}: only {len(keep)} of {len(strings)} initial items are "
                f"valid (reasons include {sorted({r for r in reasons if r})[:3]})"
            )
        size = int(math.ceil(size * 1.2 * n_init / max(len(keep), 1)))
        logger.info(
            "%d of %d initial strings are invalid; drawing %d",
            len(strings) - int(valid.sum()),
            len(strings),
            size,
        )
        pool = encodable(vae, record.bo_pool(size, seed), size)
        if len(pool) <= len(strings):
            raise ValueError(
                f"task {task!r}: only {len(keep)} of {len(strings)} candidate "
                f"initial items are valid, {n_init} needed"
            )
        strings = pool


def make_problem(
    task: str,
    n_init: int | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    device: str | torch.device = "cpu",
    positions: int | None = None,
) -> Problem:
    r"""The paper's problem for ``task``: a VAE and random training data.

    The task's dataset record (:func:`~scales_core.datasets.dataset_for_task`)
    gives the VAE, ``rho``, the default ``n_init`` and the initial strings
    (:meth:`~scales_core.datasets.Dataset.bo_strings`). Expressions: ``n_init``
    random expressions of the training set (a subset that depends on ``seed``),
    their objective, and their encoder means as latents (Sec. 4.1). Penalized
    logP: random ZINC-250k molecules (the JT-VAE valid split, the closest to its
    training set here) that the SMILES VAE can tokenize. GuacaMol MPO tasks:
    random MOSES training molecules that the SELFIES VAE can tokenize. Invalid
    initial items are replaced from a larger seeded draw, so the set holds
    ``n_init`` valid items.

    Args:
        task: A task served by a registered dataset record (``"expressions"``,
            ``"logp"``, ``"ranolazine_mpo"``, ``"perindopril_mpo"``,
            ``"zaleplon_mpo"``, or a user's own).
        n_init: Size of the initial labelled set (default: the record's).
        seed: Seed of the initial subset.
        checkpoint: A model name of the record (default: the record's).
        device: Where the VAE runs (encoding here, decoding during BO).
        positions: Leading positions of the BO scores (default: the record's;
            the sequence length for all).

    Returns:
        The problem, with its decoder in eval mode and frozen (BO needs latent
        gradients only).

    Raises:
        ValueError: for an unknown task, a bad ``n_init``, or missing data files.
    """
    record: Dataset = dataset_for_task(task)
    info = problem_info(task, n_init, seed, checkpoint, positions)
    n_init, checkpoint = info["n_init"], info["checkpoint"]
    if isinstance(n_init, bool) or not isinstance(n_init, int) or n_init < 2:
        raise ValueError(f"n_init must be an int >= 2, got {n_init!r}")
    try:
        vae = record.load_vae(checkpoint)
        strings = record.bo_strings(vae, n_init, seed)
    except DataNotFoundError as error:
        raise ValueError(f"missing data for task {task!r}: {error}") from error
    vae = place_vae(vae, device, freeze=True)
    if not math.isclose(float(vae.latent_scale), record.latent_scale):
        logger.warning(
            "%s has latent scale %g, the %s record's BO box assumes %g; pass "
            "BOConfig(half_width=...) in this VAE's units",
            checkpoint,
            vae.latent_scale,
            record.name,
            record.latent_scale,
        )
    strings, values = _valid_initial_set(record, vae, task, strings, n_init, seed)
    with torch.no_grad():
        X = vae.encode(strings).to("cpu", torch.float64)

    def decode(z: Tensor) -> list[str]:
        dtype = decoder_dtype(vae.decoder) or torch.float32
        return vae.decode_strings(z.detach().to(dtype))

    return Problem(
        task=task,
        decoder=vae.decoder,
        decode=decode,
        evaluate=get_task(task).evaluate,
        strings=strings,
        train_X=X,
        train_Y=torch.as_tensor(values, dtype=torch.float64),
        rho=record.rho,
        latent_scale=float(vae.latent_scale),
        positions=info.get("positions"),
        info=info,
    )
