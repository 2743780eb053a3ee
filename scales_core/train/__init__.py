r"""Train the project's VAEs: ``python -m scales_core.train --model ... --out DIR``.

Writes ``DIR/checkpoint.pt`` (model, optimizer, step, epoch, position in the epoch,
RNG states) every ``--checkpoint-minutes`` and at the end, ``DIR/record.json``
(command line, parameters, git commit, data, wall time, held-out metrics) and, at
the end, ``DIR/final/`` (the model in the :func:`scales_core.models.own.save_vae`
format, loadable with ``load_vae(DIR/final)``). ``--resume`` continues a run from
``DIR`` with its saved parameters; the step counter and the schedules go on (only
the run-length and logging options may change; another value of a saved option,
such as ``--model``, is refused). A non-empty ``DIR`` is refused unless
``--resume`` or ``--overwrite`` (which deletes the earlier run's outputs) is given.
Every numeric option is checked before any data are read, and a held-out set that
shares items with the training set is refused.

Example::

    python -m scales_core.train --model selfies_transformer --n-train 300000 \
        --epochs 4 --batch-size 128 --lr 2e-3 --beta 5e-3 --out runs/selfies

A dataset record of your own is trainable once registered: ``--records MODULE``
imports ``MODULE`` (a dotted name on ``sys.path`` or a ``.py`` file) and calls its
``register_records()`` when it has one, before ``--model`` is read, e.g.
``--records scales_core.datasets.dyck --model char_dyck``.
"""

from .loop import lr_factor, main

__all__ = ["lr_factor", "main"]
