r"""Latent space Bayesian optimization with ScaLES (paper Sec. 4).

* :mod:`~scales_core.bo.problem`: the decoder, black box and initial data.
* :mod:`~scales_core.bo.surrogate`: GP fitting (warm-started exact GP, deep kernel).
* :mod:`~scales_core.bo.optimize`: normalized gradient ascent (Eq. 15) and L-BFGS.
* :mod:`~scales_core.bo.stopping`: early stopping by a score threshold.
* :mod:`~scales_core.bo.methods`: the paper's methods by name.
* :mod:`~scales_core.bo.records`: append-only run records and resuming.
* :mod:`~scales_core.bo.init_store`: initial latents and their scores, shared by runs.
* :mod:`~scales_core.bo.slim`: committed run records without the proposed latents.
* :mod:`~scales_core.bo.config`: run parameters (:class:`BOConfig`).
* :mod:`~scales_core.bo.seeding`: per-step seeds (deterministic resumes).
* :mod:`~scales_core.bo.step`: the data set and the proposal of one point.
* :mod:`~scales_core.bo.loop`: the BO loop (:func:`run_bo`).
* :mod:`~scales_core.bo.summary`: run tables, per-method summaries, trajectories.
* :mod:`~scales_core.bo.paper_tables`: the paper's Tables 1, 2 and 5 and App. B.3.
"""

from __future__ import annotations

from .config import BOConfig
from .init_store import InitStore, load_init_latents
from .loop import run_bo
from .methods import (
    METHODS,
    PAPER_METHODS,
    PUBLISHED_VARIANT_METHODS,
    MethodConfig,
    get_method,
)
from .optimize import (
    gen_candidates_normalized_ga,
    hypercube_bounds,
    initialize_from_data,
    optimize_acqf_ga,
    optimize_acqf_lbfgs,
)
from .problem import PROBLEM_DEFAULTS, Problem, make_problem, problem_info
from .records import (
    GPStateFile,
    RunData,
    RunFileWarning,
    RunLockedError,
    RunRecord,
    compact_run,
    gp_state_path,
    read_run,
)
from .published import PublishedPenalty
from .slim import pool_distances, slim_folder, slim_run
from .seeding import derive_generator, derive_seed
from .stopping import ScoreThresholdStopping, SeededScore, score_quantile
from .paper_tables import (PAPER_B3_EXPRESSIONS, PAPER_B4_LOGP, PAPER_B5_RANOLAZINE,
                           PAPER_B6_ZALEPLON, PAPER_B7_PERINDOPRIL, PAPER_BO_TABLES,
                           PAPER_TABLE1_AUROC, PAPER_TABLE2_VALIDITY,
                           PAPER_TABLE3_VALIDITY,
                           PAPER_TABLE5_SECONDS, paper_table, paper_table1, paper_table5)
from .plots import plot_paired, plot_trajectories, plot_validity
from .summary import (
    FIGURE_FAMILIES,
    METRICS,
    best_of_families,
    compare_variants,
    compare_with_paper,
    iter_runs,
    means_on_seeds,
    paired_verdict,
    per_run_metrics,
    pipeline_table,
    proposal_norms,
    run_facts,
    proposal_ranking,
    load_step_times,
    load_sweep,
    summarize_sweep,
    top_values,
    trajectories,
    trajectory_bands,
    unmoved_proposals,
    unmoved_summary,
    validity_ordering,
)
from .surrogate import DeepKernel, SurrogateConfig, fit_surrogate, surrogate_state

__all__ = [
    "BOConfig",
    "DeepKernel",
    "InitStore",
    "GPStateFile",
    "METHODS",
    "FIGURE_FAMILIES",
    "METRICS",
    "best_of_families",
    "compare_variants",
    "compare_with_paper",
    "means_on_seeds",
    "paired_verdict",
    "plot_paired",
    "plot_trajectories",
    "plot_validity",
    "per_run_metrics",
    "pipeline_table",
    "proposal_norms",
    "run_facts",
    "proposal_ranking",
    "PAPER_B3_EXPRESSIONS",
    "PAPER_B4_LOGP",
    "PAPER_B5_RANOLAZINE",
    "PAPER_B6_ZALEPLON",
    "PAPER_B7_PERINDOPRIL",
    "PAPER_BO_TABLES",
    "PAPER_TABLE1_AUROC",
    "PAPER_TABLE2_VALIDITY",
    "PAPER_TABLE3_VALIDITY",
    "PAPER_TABLE5_SECONDS",
    "MethodConfig",
    "PAPER_METHODS",
    "PUBLISHED_VARIANT_METHODS",
    "PROBLEM_DEFAULTS",
    "Problem",
    "RunData",
    "RunFileWarning",
    "RunLockedError",
    "RunRecord",
    "ScoreThresholdStopping",
    "SeededScore",
    "SurrogateConfig",
    "derive_generator",
    "derive_seed",
    "fit_surrogate",
    "gen_candidates_normalized_ga",
    "get_method",
    "gp_state_path",
    "hypercube_bounds",
    "initialize_from_data",
    "iter_runs",
    "load_init_latents",
    "load_step_times",
    "load_sweep",
    "paper_table",
    "paper_table1",
    "paper_table5",
    "trajectories",
    "trajectory_bands",
    "unmoved_proposals",
    "unmoved_summary",
    "validity_ordering",
    "make_problem",
    "problem_info",
    "optimize_acqf_ga",
    "optimize_acqf_lbfgs",
    "read_run",
    "compact_run",
    "pool_distances",
    "slim_folder",
    "slim_run",
    "PublishedPenalty",
    "run_bo",
    "score_quantile",
    "summarize_sweep",
    "top_values",
    "surrogate_state",
]
