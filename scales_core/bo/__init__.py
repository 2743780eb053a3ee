r"""Latent space Bayesian optimization with ScaLES (paper Sec. 4).

* :mod:`~scales_core.bo.problem`: the decoder, black box and initial data.
* :mod:`~scales_core.bo.surrogate`: GP fitting (warm-started exact GP, deep kernel).
* :mod:`~scales_core.bo.optimize`: normalized gradient ascent (Eq. 15) and L-BFGS.
* :mod:`~scales_core.bo.stopping`: early stopping by a score threshold.
* :mod:`~scales_core.bo.methods`: the paper's methods by name, in families.
* :mod:`~scales_core.bo.strategies`: the optimizers, penalties and stopping rules a
  method names (one table each).
* :mod:`~scales_core.bo.published`: the penalties as the published code computes them.
* :mod:`~scales_core.bo.presets`: the published releases' pipelines as run options.
* :mod:`~scales_core.bo.penalty_directions`: where penalties' gradients point.
* :mod:`~scales_core.bo.run_record`: the run record format and its reader.
* :mod:`~scales_core.bo.run_writer`: the append-only writer (one at a time).
* :mod:`~scales_core.bo.compaction`: a finished run, gzipped with float32 latents.
* :mod:`~scales_core.bo.gp_state`: the GP side file (exact warm starts on resume).
* :mod:`~scales_core.bo.init_store`: initial latents and their scores, shared by runs.
* :mod:`~scales_core.bo.slim`: committed run records without the proposed latents.
* :mod:`~scales_core.bo.config`: run parameters (:class:`BOConfig`).
* :mod:`~scales_core.bo.seeding`: per-step seeds (deterministic resumes).
* :mod:`~scales_core.bo.step`: the data set and the proposal of one point.
* :mod:`~scales_core.bo.loop`: the BO loop (:func:`run_bo`).

Reading finished runs (tables, plots, the paper's numbers) is :mod:`scales_core.results`.
"""

from __future__ import annotations

from .compaction import compact_run
from .config import BOConfig
from .gp_state import GPStateFile, gp_state_path
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
from .penalty_directions import penalty_directions, penalty_gradient, run_penalty
from .problem import PROBLEM_DEFAULTS, Problem, make_problem, problem_info
from .published import PublishedPenalty
from .run_record import RunData, RunFileWarning, RunLockedError, read_run
from .run_writer import RunRecord
from .seeding import derive_generator, derive_seed
from .slim import pool_distances, slim_folder, slim_run
from .stopping import ScoreThresholdStopping, SeededScore, score_quantile
from .surrogate import DeepKernel, SurrogateConfig, fit_surrogate, surrogate_state

__all__ = [
    "BOConfig",
    "DeepKernel",
    "GPStateFile",
    "InitStore",
    "METHODS",
    "MethodConfig",
    "PAPER_METHODS",
    "PROBLEM_DEFAULTS",
    "PUBLISHED_VARIANT_METHODS",
    "Problem",
    "PublishedPenalty",
    "RunData",
    "RunFileWarning",
    "RunLockedError",
    "RunRecord",
    "ScoreThresholdStopping",
    "SeededScore",
    "SurrogateConfig",
    "compact_run",
    "derive_generator",
    "derive_seed",
    "fit_surrogate",
    "gen_candidates_normalized_ga",
    "get_method",
    "gp_state_path",
    "hypercube_bounds",
    "initialize_from_data",
    "load_init_latents",
    "make_problem",
    "optimize_acqf_ga",
    "optimize_acqf_lbfgs",
    "penalty_directions",
    "penalty_gradient",
    "pool_distances",
    "problem_info",
    "read_run",
    "run_bo",
    "run_penalty",
    "score_quantile",
    "slim_folder",
    "slim_run",
    "surrogate_state",
]
