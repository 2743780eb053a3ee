r"""Optimization tasks of the paper: validity checks, objectives and a registry."""

from __future__ import annotations

from .objectives import (
    Outcome,
    expression_objective,
    guacamol_objective,
    guacamol_scoring_function,
    penalized_logp,
    penalized_logp_terms,
    perindopril_mpo,
    ranolazine_mpo,
    zaleplon_mpo,
)
from .registry import TASKS, Task, evaluate, get_task, register_task, unregister_task
from .validity import (
    check_batch,
    expression_invalid_reason,
    is_valid_expression,
    is_valid_smiles,
    passes_quality_filters,
    quality_filter_reason,
    quality_rules,
    smiles_invalid_reason,
)

__all__ = [
    "TASKS",
    "Outcome",
    "Task",
    "check_batch",
    "evaluate",
    "expression_invalid_reason",
    "expression_objective",
    "get_task",
    "guacamol_objective",
    "guacamol_scoring_function",
    "is_valid_expression",
    "is_valid_smiles",
    "passes_quality_filters",
    "penalized_logp",
    "penalized_logp_terms",
    "perindopril_mpo",
    "quality_filter_reason",
    "quality_rules",
    "ranolazine_mpo",
    "register_task",
    "smiles_invalid_reason",
    "unregister_task",
    "zaleplon_mpo",
]
