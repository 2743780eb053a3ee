r"""One home per dataset: frozen records of everything the package knows about each.

.. code-block:: python

    from scales_core.datasets import get_dataset, dataset_for_task

    smiles = get_dataset("smiles")
    vae = smiles.load_vae()                 # the default checkpoint, smiles_gru_1
    items = smiles.load_items("train", 500, seed=0)
    dataset_for_task("logp") is smiles      # True

* :mod:`~scales_core.datasets.protocol`: the VAE contract (:class:`VAE`).
* :mod:`~scales_core.datasets.dataset`: :class:`Dataset`, :class:`BODefaults`,
  :class:`Validity`, :class:`Training`.
* :mod:`~scales_core.datasets.registry`: :data:`DATASETS` and its look-ups.
* :mod:`~scales_core.datasets.builtin`: the paper's three records.
* :mod:`~scales_core.datasets.dyck`: balanced-bracket words, a synthetic language
  with the project's small character VAE (the chapter "ScaLES for your own VAE");
  registered only on demand (``dyck.register_records()``).

The records sit above models, data and tasks (they import them; those never import
the records); BO, experiments, training, reports and notebooks sit above the
records.
"""

from __future__ import annotations

from .builtin import (
    EXPRESSIONS,
    FILTERS,
    GRAMMAR,
    RDKIT,
    SELFIES,
    SMILES,
    load_named_vae,
)
from .dataset import BODefaults, Dataset, Training, Validity, encodable
from .protocol import VAE
from .registry import (
    DATASETS,
    dataset_for_kind,
    dataset_for_model,
    dataset_for_task,
    get_dataset,
    import_records,
    register,
    training_kinds,
    unregister,
)
from .training import load_training_strings

__all__ = [
    "BODefaults",
    "DATASETS",
    "Dataset",
    "EXPRESSIONS",
    "FILTERS",
    "GRAMMAR",
    "RDKIT",
    "SELFIES",
    "SMILES",
    "Training",
    "VAE",
    "Validity",
    "dataset_for_kind",
    "dataset_for_model",
    "dataset_for_task",
    "encodable",
    "get_dataset",
    "import_records",
    "load_named_vae",
    "load_training_strings",
    "register",
    "training_kinds",
    "unregister",
]
