r"""Sweeps of BO runs over tasks x methods x seeds on Dask, and their summary tables.

.. code-block:: bash

    python -m scales_core.sweep --task expressions --methods ga scales_0.5 \
        --seeds 0 1 2 --steps 100 --out results/bo/expressions [--workers 2] \
        [--scheduler tcp://host:8786]

Each run writes ``<out>/<task>/<method>/seed<seed>.jsonl`` (see
:mod:`scales_core.bo.run_record`). Finished runs are skipped and partial ones resumed,
so the same command continues an interrupted sweep. Before any worker starts, the
arguments are checked and every existing run file's header is compared with the
requested configuration: a mismatch is refused, naming the fields that differ
(an old result is never reported as a new one). A run file being written by
another process is locked, so that run fails instead of being run twice. Repeated
seeds or methods are run once. From a notebook (all parameters are plain types, as
papermill needs)::

    out = "results/bo/expressions"
    status = run_sweep("expressions", ["ga", "scales_0.5"], [0, 1, 2], 100, out)
    table = summarize_sweep(load_sweep(out))  # scales_core.results

* :mod:`~scales_core.sweep.spec`: :class:`RunSpec`, the settings runs share.
* :mod:`~scales_core.sweep.run`: one run and a Dask sweep of them.
* :mod:`~scales_core.sweep.cli`: the command line.
"""

from __future__ import annotations

from .cli import main
from .run import (
    SCHEDULER_TIMEOUT_S,
    check_existing,
    run_one,
    run_path,
    run_sweep,
    sweep_init_store,
)
from .spec import RunSpec, run_config

__all__ = [
    "RunSpec",
    "SCHEDULER_TIMEOUT_S",
    "check_existing",
    "main",
    "run_config",
    "run_one",
    "run_path",
    "run_sweep",
    "sweep_init_store",
]
