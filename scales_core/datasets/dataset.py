r"""The frozen record of one dataset (:class:`Dataset`) and its parts.

A record holds everything the package knows about a dataset: how to load its VAEs,
its validity notion, the tasks it serves, the scores' ``positions`` and ``rho``,
its data splits, its BO defaults and (for the project's own models) how to train.
Experiments, BO, training and reports take a record, so a user's own VAE and data
are one new record (:func:`~scales_core.datasets.register`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .protocol import VAE

__all__ = ["BODefaults", "Dataset", "Training", "Validity", "encodable"]

logger = logging.getLogger(__name__)

#: The two splits of :meth:`Dataset.load_items`.
SPLITS = ("train", "test")


@dataclass(frozen=True)
class BODefaults:
    r"""The paper's BO setting for a dataset (Sec. 4.1, App. B.5-B.7).

    The box is stated in units of the dataset's latent scale ``s``
    (:attr:`Dataset.latent_scale`); :meth:`Dataset.bo_config_fields` converts it to
    the raw units of :class:`~scales_core.bo.config.BOConfig`. The step ``lr`` is
    the paper's, in raw latent units (the published optimizer steps in raw units,
    ``les/opt/optimizer.py``, ``optimize_ga``).

    Attributes:
        n_init: Size of the initial labelled set.
        n_steps: BO steps.
        q: Points per step.
        lr: Step length of the normalized gradient ascent (raw latent units).
        half_width: The latent box ``[-h s, h s]^d`` mapped to the unit cube (GP
            input normalization, L-BFGS facets), ``h`` in latent scales: 3, as the
            published ``z_bounds`` of ``[-3, 3]`` for a unit prior.
        model: The checkpoint the paper's BO used, where it is not the record's
            :attr:`Dataset.model` (``None``: that one).
        surrogate: :class:`~scales_core.bo.surrogate.SurrogateConfig` fields of
            the dataset's GP surrogate (empty: the exact ARD GP).
    """

    n_init: int = 500
    n_steps: int = 100
    q: int = 5
    lr: float = 0.5
    half_width: float = 3.0
    model: str | None = None
    surrogate: dict = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Validity:
    r"""A validity notion: a name and a check ``str -> bool``.

    Attributes:
        name: ``"grammar"``, ``"rdkit"``, ``"filters"`` or a user's own name.
        check: Whether a decoded string is valid.
        column: Column name in reports (default: ``name``).
    """

    name: str
    check: Callable[[str], bool]
    column: str = ""

    def __call__(self, text: str) -> bool:
        """Whether ``text`` is valid."""
        return bool(self.check(text))

    @property
    def label(self) -> str:
        """The report column of this notion."""
        return self.column or self.name


@dataclass(frozen=True)
class Training:
    r"""How :mod:`scales_core.train` trains the project's own model of a dataset.

    Attributes:
        kind: Model kind written to ``config.json`` (e.g. ``"char_smiles"``); see
            :func:`scales_core.models.own.build_vae`.
        architecture: ``"char"`` (:class:`~scales_core.models.CharVAE`) or
            ``"selfies_transformer"``.
        load_strings: ``(n_train, n_heldout, seed) -> (train, heldout, info)``,
            the raw strings and a description of their source.
        canonical: String -> canonical form, ``None`` when invalid (held-out
            metrics: share of valid and of distinct prior decodes).
        char_sizes: :class:`~scales_core.models.CharVAEConfig` sizes (char only).
        vocab: The character vocabulary in index order, padding ``" "`` included
            (char only).
    """

    kind: str
    architecture: str
    load_strings: Callable[[int | None, int, int], tuple[list[str], list[str], dict]]
    canonical: Callable[[str], str | None]
    char_sizes: dict = field(default_factory=dict)
    vocab: Callable[[], list[str]] | None = None


def encodable(vae: VAE, items: Sequence[str], need: int) -> list[str]:
    r"""The first ``need`` items the VAE's tokenizer accepts, in order.

    Items that are too long or have unknown symbols are dropped (``vae.tokenize``
    raises ``ValueError`` for them).
    """
    keep = []
    for s in items:
        try:
            vae.tokenize([s])
        except ValueError:
            continue
        keep.append(s)
        if len(keep) >= need:
            break
    return keep


def place_vae(vae, device: str | torch.device = "cpu", freeze: bool = False):
    """An ``nn.Module`` VAE moved to ``device`` in eval mode.

    Weights are frozen with ``freeze``; any other object satisfying the VAE protocol
    is returned as it is (it places itself).
    """
    if isinstance(vae, torch.nn.Module):
        vae = vae.to(device).eval()
        if freeze:
            vae.requires_grad_(False)
    return vae


@dataclass(frozen=True)
class Dataset:
    r"""Everything the package knows about one dataset.

    Attributes:
        name: Registry name (``"expressions"``, ``"smiles"``, ``"selfies"``).
        model: The default model (a checkpoint or model name).
        models: The model names :meth:`load_vae` accepts.
        vae_loader: ``(name, device) -> VAE`` for a name in ``models`` (or a
            folder of a model saved by :func:`scales_core.models.save_vae`).
        validity: The validity notion of the experiments and of BO.
        objectives: Names of the tasks (:mod:`scales_core.tasks`) it serves in BO.
        positions: Leading positions used by the Jacobian-based scores (paper: 30
            for SMILES, 60 for SELFIES, all for expressions).
        rho: The ScaLES weight of BO.
        items: ``(split, n, seed) -> strings`` for ``split`` in ``"train"``,
            ``"test"`` (the two encoded distributions of the validity experiment;
            ``n`` is the experiment's draw size, the loader returns a pool).
        bo: The BO defaults.
        latent_scale: The prior standard deviation ``s`` of the dataset's default
            VAE (the published ``eps_std``; 1 for a standard VAE). It scales the
            BO box (:meth:`bo_config_fields`) and is checked against the VAE's
            own ``latent_scale`` when BO loads it.
        bo_pool: ``(n, seed) -> strings``, a seeded pool from which the first
            ``n`` tokenizable items are BO's initial set.
        other_validity: Further notions reported for this dataset (reports only).
        training: How to train the project's own model (``None``: not trainable
            by :mod:`scales_core.train`).
        description: One line for reports.
    """

    name: str
    model: str
    models: tuple[str, ...]
    vae_loader: Callable[[str, str | torch.device], VAE]
    validity: Validity
    objectives: tuple[str, ...]
    items: Callable[[str, int, int], list[str]]
    bo_pool: Callable[[int, int], list[str]]
    positions: int | None = None
    rho: float = 1.0
    bo: BODefaults = field(default_factory=BODefaults)
    latent_scale: float = 1.0
    other_validity: tuple[Validity, ...] = ()
    training: Training | None = None
    description: str = ""

    @property
    def bo_model(self) -> str:
        """Name of the checkpoint BO runs on (:attr:`BODefaults.model`, else :attr:`model`)."""
        return self.bo.model or self.model

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a dataset needs a non-empty name, got {self.name!r}")
        for field_name in ("models", "objectives"):
            value = getattr(self, field_name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(
                    f"dataset {self.name!r}: {field_name} must be a tuple of names, got "
                    f"{value!r} (write ({value!r},) for one)"
                    if isinstance(value, str)
                    else f"dataset {self.name!r}: {field_name} must be a tuple of names, got "
                    f"{value!r}"
                )
            if len(set(value)) < len(value):
                raise ValueError(
                    f"dataset {self.name!r}: {field_name} {value!r} has repeats"
                )
            object.__setattr__(self, field_name, tuple(value))
        if self.model not in self.models:
            raise ValueError(
                f"dataset {self.name!r}: default model {self.model!r} is not among "
                f"its models {self.models}"
            )
        if self.bo.model is not None and self.bo.model not in self.models:
            raise ValueError(
                f"dataset {self.name!r}: BO model {self.bo.model!r} is not among "
                f"its models {self.models}"
            )
        if not (isinstance(self.latent_scale, (int, float)) and self.latent_scale > 0):
            raise ValueError(
                f"latent_scale must be positive, got {self.latent_scale!r}"
            )
        if self.positions is not None and (
            isinstance(self.positions, bool)
            or not isinstance(self.positions, int)
            or self.positions < 1
        ):
            raise ValueError(
                f"positions must be None or an int >= 1, got {self.positions!r}"
            )

    def load_vae(self, name: str | None = None, device: str | torch.device = "cpu"):
        r"""Load one of the dataset's VAEs, in eval mode, on ``device``.

        Args:
            name: A name in :attr:`models` or a saved model's folder (default:
                :attr:`model`).
            device: Where the weights go.

        Returns:
            A :class:`~scales_core.datasets.VAE`.

        Raises:
            ValueError: for a name the dataset does not accept.
        """
        name = self.model if name is None else name
        if name not in self.models and not Path(str(name)).is_dir():
            raise ValueError(
                f"dataset {self.name!r} has no model {name!r}; use one of "
                f"{self.models} (or a folder written by save_vae)"
            )
        return place_vae(self.vae_loader(name, device), device)

    def load_items(self, split: str, n: int, seed: int) -> list[str]:
        r"""Items of ``split`` (``"train"`` or ``"test"``) for a draw of size ``n``.

        Raises:
            ValueError: for an unknown split.
        """
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
        return self.items(split, n, seed)

    def encodable(self, vae: VAE, items: Sequence[str], need: int) -> list[str]:
        """The first ``need`` items ``vae`` can tokenize (see :func:`encodable`)."""
        return encodable(vae, items, need)

    def bo_strings(self, vae: VAE, n: int, seed: int) -> list[str]:
        r"""BO's ``n`` initial strings: the first ``n`` tokenizable ones of the pool.

        Raises:
            ValueError: when fewer than ``n`` of the pool tokenize.
        """
        pool = self.bo_pool(n, seed)
        strings = encodable(vae, pool, n)
        if len(strings) < n:
            raise ValueError(
                f"dataset {self.name!r}: only {len(strings)} of {len(pool)} "
                f"candidate items tokenize, {n} needed"
            )
        return strings

    def bo_config_fields(self) -> dict:
        r"""The record's BO defaults as :class:`~scales_core.bo.config.BOConfig` fields.

        In raw latent units: ``n_steps``, ``q``, ``lr``, ``half_width``, and
        ``surrogate`` (a dict of its fields) where the record sets one.
        """
        fields = dict(
            n_steps=self.bo.n_steps,
            q=self.bo.q,
            lr=self.bo.lr,
            half_width=self.bo.half_width * self.latent_scale,
        )
        if self.bo.surrogate:
            fields["surrogate"] = dict(self.bo.surrogate)
        return fields

    @property
    def notions(self) -> tuple[Validity, ...]:
        """The main validity notion, then the others reported."""
        return (self.validity, *self.other_validity)
