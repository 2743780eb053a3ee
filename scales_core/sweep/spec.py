r"""What every run of a sweep shares.

:class:`RunSpec`, and the run config and header it gives one (task, method, seed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .._checks import is_int
from ..bo.config import BOConfig
from ..bo.loop import run_header
from ..bo.methods import MethodConfig, get_method
from ..bo.problem import problem_info
from ..bo.surrogate import SurrogateConfig
from ..datasets import dataset_for_task

__all__ = ["RunSpec", "run_config"]


@dataclass(frozen=True)
class RunSpec:
    r"""The settings of a sweep's runs besides their task, method and seed.

    Plain types only (papermill parameters and Dask pickle them); ``None`` takes the
    task's dataset record's value.

    Attributes:
        steps: BO steps per run.
        n_init: Initial set size.
        q: Points per BO step.
        lr: Gradient-ascent step.
        scales_grad: ``"cpa"`` or ``"exact"`` ScaLES gradient (see
            :class:`~scales_core.bo.config.BOConfig`).
        surrogate: ``"exact"`` GP or ``"deep_kernel"`` GP (default: the dataset
            record's surrogate).
        threads: ``torch.set_num_threads`` of a run's process.
        progress: Show each run's tqdm bar.
        command: Command line for the run headers.
        device: Where each run computes (``"cpu"``, ``"cuda"``; a GPU sweep wants
            one worker per GPU).
        overrides: Other :class:`~scales_core.bo.config.BOConfig` fields of every
            run, e.g. ``{"half_width": 0.3}`` (``--set half_width=0.3``).
        compact: Gzip each finished run with float32 latents
            (:func:`~scales_core.bo.compaction.compact_run`).
        checkpoint: The VAE of every run (default: each task record's BO model).
        positions: Leading positions of the BO scores (default: each record's).
        records: Modules (importable names or ``.py`` paths) that register dataset
            records and tasks (:func:`~scales_core.datasets.import_records`),
            imported in the sweep's process and in every worker.
    """

    steps: int | None = None
    n_init: int | None = None
    q: int | None = None
    lr: float | None = None
    scales_grad: str = "cpa"
    surrogate: str | None = None
    threads: int = 1
    progress: bool = False
    command: str | None = None
    device: str = "cpu"
    overrides: dict = field(default_factory=dict)
    compact: bool = True
    checkpoint: str | None = None
    positions: int | None = None
    records: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", dict(self.overrides or {}))
        object.__setattr__(self, "records", tuple(self.records))
        if self.steps is not None and not is_int(self.steps, 0):
            raise ValueError(f"steps must be an int >= 0, got {self.steps!r}")
        if self.n_init is not None and not is_int(self.n_init, 1):
            raise ValueError(f"n_init must be an int >= 1 or None, got {self.n_init!r}")
        if not is_int(self.threads, 1):
            raise ValueError(f"threads must be an int >= 1, got {self.threads!r}")

    @classmethod
    def of(cls, steps: int | None = None, **fields) -> RunSpec:
        """A spec from keyword arguments, refusing unknown names with the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown run setting(s) {unknown}; use {sorted(known)}")
        return cls(steps=steps, **fields)

    def bo_config(self, task: str) -> BOConfig:
        """The validated :class:`~scales_core.bo.config.BOConfig` of a run of ``task``."""
        return run_config(
            task,
            self.steps,
            self.q,
            self.lr,
            self.scales_grad,
            self.surrogate,
            self.device,
            self.overrides,
        )

    def problem_info(self, task: str, seed: int) -> dict:
        """The run header's ``problem`` of a run of ``task`` (no VAE is loaded)."""
        return problem_info(task, self.n_init, seed, self.checkpoint, self.positions)

    def header(
        self,
        task: str,
        method: str | MethodConfig,
        seed: int,
        config: BOConfig | None = None,
    ) -> dict:
        """The header a run of ``(task, method, seed)`` writes.

        It is compared field by field with a stored run's
        (:func:`~scales_core.bo.run_record.header_differences`).
        """
        config = self.bo_config(task) if config is None else config
        return run_header(
            task,
            get_method(method),
            self.problem_info(task, seed),
            config,
            seed,
            self.command,
        )


def run_config(
    task: str,
    steps: int | None = None,
    q: int | None = None,
    lr: float | None = None,
    scales_grad: str = "cpa",
    surrogate: str | None = None,
    device: str = "cpu",
    overrides: dict | None = None,
) -> BOConfig:
    """The :class:`~scales_core.bo.config.BOConfig` of a sweep run (validates it).

    ``steps``, ``q``, ``lr`` and the box ``half_width`` default to the task's dataset
    record (:meth:`scales_core.datasets.Dataset.bo_config_fields`, the box in
    latent scales); ``overrides`` sets other fields (``half_width`` included; a
    field that has its own argument is an error there).
    """
    fields = dataset_for_task(task).bo_config_fields()
    given = dict(n_steps=steps, q=q, lr=lr)
    fields.update({k: v for k, v in given.items() if v is not None})
    own = dict(scales_grad=scales_grad, device=device)
    if surrogate is not None:  # the record's surrogate fields, of this kind
        own["surrogate"] = SurrogateConfig(
            **{**fields.pop("surrogate", {}), "kind": surrogate}
        )
    overrides = dict(overrides or {})
    twice = sorted((set(given) | set(own)) & set(overrides))
    if twice:
        raise ValueError(f"set {twice} with their own options, not as overrides")
    try:
        return BOConfig(**{**fields, **own, **overrides})
    except TypeError as error:  # an unknown field name
        raise ValueError(f"bad BOConfig override {overrides}: {error}") from None
