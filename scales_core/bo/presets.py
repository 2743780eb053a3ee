r"""Named BO configurations: today's default and the two published pipelines.

A preset is a set of :class:`~scales_core.bo.config.BOConfig` fields (and the
scores' ``positions``) per dataset record, applied on top of the record's BO
defaults (steps, ``q``, step size, box). Every component is an ordinary field, so
an ablation switches one of them back with ``--set``.

``default``
    The exact ScaLES (Eq. 13, forward-mode Jacobian, held fixed for the gradient),
    prior ``log N(z; 0, I)`` with ``rho = 1``, steps ``lr (u_acq + lam u_pen)``,
    GP refitted every step, invalid proposals at the lowest value seen.

``paper_2024``
    The first release (811cd8f), whose ``scales/opt/black_box.py`` wrote the
    ``sol_<step>.pickle`` files of the paper's B tables: the pinv formula with ``A``
    by forward differences at the current point, logits clamped to +-12, the first
    30 (SMILES) or 60 (SELFIES) positions, ``tau`` 1 / 0.001 / 0.003 on the log-det
    against the unit prior (``scales/analysis/bo.py``, ``get_params``), the step
    direction renormalized to unit length (``_get_new_batch``), GP refitted every
    step (``optimize``), invalid proposals at the lowest value seen for SMILES and
    expressions and dropped for SELFIES (``optimize``: ``y_new[nan_idx] =
    self.y.min()`` unless ``selfies``).

``paper_2025``
    The later release (152b0f1): the forward formula with the ``1/c`` output, ``A``
    by forward differences at the ascent's start points with dropout on, every
    position, no prior, steps not renormalized (``les/opt/optimizer.py``,
    ``optimize_ga``), the GP fitted once (``les/opt/bo.py``,
    ``BayesianOptimizer.fit_gp``), invalid proposals dropped.

The step sizes stay the records' (the paper's text: 0.5 / 0.01 / 1; the first
release's ``get_params`` uses the same; the later release's ``test_bo`` used 0.8 /
0.003 / 0.03).
"""

from __future__ import annotations

import json

__all__ = ["ABLATION_ARMS", "PRESETS", "ablation_arguments", "preset_fields"]

_FIRST_TAU = {"expressions": 1.0, "smiles": 0.001, "selfies": 0.003}
#: Every position of each record's VAE (the later release scores them all).
_ALL_POSITIONS = {"expressions": 19, "smiles": 120, "selfies": 70}

PRESETS: dict[str, dict[str, dict]] = {
    "default": {name: {} for name in _FIRST_TAU},
    "paper_2024": {
        name: dict(
            scales_jacobian="fd",
            logit_clip=12.0,
            scales_tau=tau,
            direction="renormalized",
            invalid="drop" if name == "selfies" else "lowest",
            positions={"expressions": None, "smiles": 30, "selfies": 60}[name],
        )
        for name, tau in _FIRST_TAU.items()
    },
    "paper_2025": {
        name: dict(
            scales_formula="forward",
            scales_normalizer="inv_c",
            scales_jacobian="fd",
            scales_anchor="start",
            scales_dropout=True,
            scales_prior="none",
            scales_tau=1.0,
            refit="never",
            invalid="drop",
            positions=_ALL_POSITIONS[name],
        )
        for name in _FIRST_TAU
    },
}


#: Preset -> arm -> the component switched back to the default (BOConfig fields, and
#: ``positions`` for the scores' positions): the arms of an ablation
#: (``scripts/run_ablation_sweep.sh``), one component per arm.
ABLATION_ARMS: dict[str, dict[str, dict]] = {
    "paper_2024": {
        "tau": {"scales_tau": None},
        "clip": {"logit_clip": None},
        "direction": {"direction": "sum"},
        "jacobian": {"scales_jacobian": "forward"},
    },
    "paper_2025": {
        "formula": {"scales_formula": "paper", "scales_normalizer": "c"},
        "anchor": {"scales_anchor": "current"},
        "dropout": {"scales_dropout": False},
        "prior": {"scales_prior": "unit"},
        "refit": {"refit": "every_step"},
        "invalid": {"invalid": "lowest"},
        "positions": {"positions": 30},
    },
}


def _cli_value(value) -> str:
    """``value`` as ``--set`` reads it back: JSON, a plain string left bare."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


def ablation_arguments(preset: str) -> dict[str, list[str]]:
    r"""Each ablation arm of a preset as ``python -m scales_core.sweep`` arguments.

    Args:
        preset: A name of :data:`ABLATION_ARMS`.

    Returns:
        Arm -> arguments added to the preset's command (``--set FIELD=VALUE`` with
        JSON values, ``--positions N``).

    Raises:
        ValueError: for a preset without arms.
    """
    if preset not in ABLATION_ARMS:
        raise ValueError(
            f"no ablation arms for preset {preset!r}; use one of {sorted(ABLATION_ARMS)}"
        )
    out = {}
    for arm, fields in ABLATION_ARMS[preset].items():
        fields = dict(fields)
        args = (
            ["--positions", str(fields.pop("positions"))]
            if "positions" in fields
            else []
        )
        if fields:
            args += ["--set", *(f"{k}={_cli_value(v)}" for k, v in fields.items())]
        out[arm] = args
    return out


def preset_fields(preset: str, dataset: str) -> tuple[dict, int | None]:
    r"""The BOConfig fields and the scores' positions of a preset for a dataset.

    Args:
        preset: A name of :data:`PRESETS`.
        dataset: A dataset record's name (``"expressions"``, ``"smiles"``,
            ``"selfies"``).

    Returns:
        ``(fields, positions)``: BOConfig overrides and the positions (``None``:
        the record's).

    Raises:
        ValueError: for an unknown preset or a dataset the preset does not cover.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)}")
    table = PRESETS[preset]
    if dataset not in table:
        raise ValueError(
            f"preset {preset!r} has no settings for dataset {dataset!r} "
            f"(it covers {sorted(table)})"
        )
    fields = dict(table[dataset])
    positions = fields.pop("positions", None)
    return fields, positions
