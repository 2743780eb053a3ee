r"""Training data of a dataset record (:func:`load_training_strings`)."""

from __future__ import annotations

from ..models.training import check_disjoint, read_lines
from .dataset import Dataset
from .registry import DATASETS, dataset_for_kind, get_dataset

__all__ = ["load_training_strings"]


def _record(dataset: str | Dataset) -> Dataset:
    """A record from a record, a dataset name or a model kind."""
    if isinstance(dataset, str) and dataset not in DATASETS:
        return dataset_for_kind(dataset)
    return get_dataset(dataset)


def load_training_strings(
    dataset: str | Dataset,
    n_train: int | None,
    n_heldout: int,
    seed: int,
    train_file: str | None = None,
    heldout_file: str | None = None,
) -> tuple[list[str], list[str], dict]:
    """Raw training and held-out strings of a dataset, and a description.

    Sources: the record's :attr:`Training.load_strings
    <scales_core.datasets.Training.load_strings>` (SELFIES -> MOSES train / test;
    SMILES -> ZINC-250k (JT-VAE) valid / test; expressions -> the expressions set,
    split at random). ``train_file``/``heldout_file`` (one string a line) replace
    them; without ``heldout_file`` the first ``n_heldout`` lines of ``train_file``
    are held out (and not trained on).

    Args:
        dataset: A record, a dataset name or a model kind (``"char_smiles"``).
        n_train: Training subset size (``None``: all).
        n_heldout: Held-out size.
        seed: Seed of the subsets.
        train_file: One string a line, replacing the record's data.
        heldout_file: One string a line.

    Raises:
        ValueError: for an unknown dataset or kind, a record without training
            data, or a held-out set that shares items with the training set (an
            over-optimistic held-out score), naming the count and a few of them.
    """
    if train_file is not None:
        train = read_lines(train_file)
        if heldout_file:
            held = read_lines(heldout_file)
        else:
            held, train = train[:n_heldout], train[n_heldout:]
        train = train[:n_train] if n_train else train
        info = {
            "source": "files",
            "train_file": str(train_file),
            "heldout_file": str(heldout_file),
        }
    else:
        record = _record(dataset)
        if record.training is None:
            raise ValueError(f"dataset {record.name!r} has no training data")
        train, held, info = record.training.load_strings(n_train, n_heldout, seed)
        info = dict(info)
    check_disjoint(train, held)
    info.update(seed=seed, n_train_requested=n_train, n_heldout_requested=n_heldout)
    return train, held, info
