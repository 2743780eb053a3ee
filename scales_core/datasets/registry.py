r"""The registry of dataset records: one table, looked up by name or by task."""

from __future__ import annotations

from pathlib import Path

from .dataset import Dataset

__all__ = [
    "DATASETS",
    "dataset_for_kind",
    "dataset_for_model",
    "dataset_for_task",
    "get_dataset",
    "import_records",
    "register",
    "training_kinds",
    "unregister",
]

#: Every registered record by name (the built-in ones: expressions, smiles, selfies).
DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset, replace: bool = False) -> Dataset:
    r"""Add a record to :data:`DATASETS`.

    Args:
        dataset: The record.
        replace: Replace a record of the same name instead of refusing it.

    Returns:
        The record.

    Raises:
        ValueError: for a duplicate name (without ``replace``), a task already
            served by another record, or something that is not a :class:`Dataset`.
    """
    if not isinstance(dataset, Dataset):
        raise ValueError(
            f"register takes a Dataset record, got {type(dataset).__name__}"
        )
    if dataset.name in DATASETS and not replace:
        raise ValueError(
            f"a dataset named {dataset.name!r} is already registered; pass "
            "replace=True to replace it, or choose another name"
        )
    for other in DATASETS.values():
        shared = set(other.objectives) & set(dataset.objectives)
        if other.name != dataset.name and shared:
            raise ValueError(
                f"dataset {dataset.name!r}: the tasks {sorted(shared)} are already "
                f"served by dataset {other.name!r}"
            )
    DATASETS[dataset.name] = dataset
    return dataset


def unregister(name: str) -> Dataset:
    """Remove a record by name and return it.

    Raises:
        ValueError: for an unknown name.
    """
    get_dataset(name)
    return DATASETS.pop(name)


def get_dataset(name: str | Dataset) -> Dataset:
    r"""A registered record by name (a record is returned as is).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(name, Dataset):
        return name
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; known: {sorted(DATASETS)}"
        ) from None


def dataset_for_task(task: str) -> Dataset:
    r"""The record whose :attr:`~Dataset.objectives` include ``task``.

    Raises:
        ValueError: when no record serves it ("no BO problem for task ...").
    """
    for dataset in DATASETS.values():
        if task in dataset.objectives:
            return dataset
    known = sorted(t for d in DATASETS.values() for t in d.objectives)
    raise ValueError(f"no BO problem for task {task!r}; known: {known}")


def dataset_for_kind(kind: str) -> Dataset:
    r"""The record whose training writes models of ``kind`` (e.g. ``"char_smiles"``).

    Raises:
        ValueError: when no record trains that kind.
    """
    for dataset in DATASETS.values():
        if dataset.training is not None and dataset.training.kind == kind:
            return dataset
    raise ValueError(f"unknown model kind {kind!r}; use one of {training_kinds()}")


def training_kinds() -> tuple[str, ...]:
    """The model kinds the registered records can train."""
    return tuple(d.training.kind for d in DATASETS.values() if d.training is not None)


def dataset_for_model(name: str) -> Dataset:
    r"""The record whose :attr:`~Dataset.models` include ``name``.

    Raises:
        ValueError: when no record accepts the model.
    """
    for dataset in DATASETS.values():
        if name in dataset.models:
            return dataset
    known = sorted(m for d in DATASETS.values() for m in d.models)
    raise ValueError(f"no dataset has the model {name!r}; known: {known}")


def import_records(specs) -> None:
    r"""Import the modules that register a user's dataset records and tasks.

    Each spec is an importable module name (``mypkg.records``) or a path to a
    ``.py`` file. A module registers at import, or by a ``register_records()``
    function, called on every call (it should replace its records). A module
    already imported is not imported again, so a record registered at import is
    registered once per process (the sweep's main process and every worker, the
    trainer and the notebooks call this).

    Raises:
        ValueError: for a module that cannot be found or fails to import.
    """
    import importlib
    import importlib.util
    import sys

    for spec in specs or ():
        spec = str(spec)
        path = Path(spec)
        try:
            if spec.endswith(".py") or path.is_file():
                name = "scales_records_" + path.resolve().stem.replace("-", "_")
                module = sys.modules.get(name)
                if module is None:
                    found = importlib.util.spec_from_file_location(name, path.resolve())
                    if found is None or not path.is_file():
                        raise FileNotFoundError(f"no file {path}")
                    module = importlib.util.module_from_spec(found)
                    sys.modules[name] = module
                    try:
                        found.loader.exec_module(module)
                    except BaseException:
                        del sys.modules[name]
                        raise
            else:
                module = importlib.import_module(spec)
            register = getattr(module, "register_records", None)
            if callable(register):
                register()
        except Exception as error:  # noqa: BLE001 - one clear message for any failure
            raise ValueError(
                f"--records {spec}: cannot import it ({type(error).__name__}: {error}); "
                "give a dotted module name on sys.path or a .py file"
            ) from None
