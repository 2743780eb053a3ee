r"""Reading finished BO runs: tables, summaries, figures and the paper's numbers.

:mod:`scales_core.bo` runs BO and writes run records; this package only reads them.

* :mod:`~scales_core.results.summary`: run tables, per-method summaries, trajectories,
  paired comparisons, pipeline tables and the share of unmoved proposals.
* :mod:`~scales_core.results.plots`: the figures of the BO chapters.
* :mod:`~scales_core.results.paper_tables`: the paper's Tables 1, 2, 3 and 5 and
  Appendix B.3-B.7, as printed.
"""

from __future__ import annotations

from .paper_tables import (
    PAPER_B3_EXPRESSIONS,
    PAPER_B4_LOGP,
    PAPER_B5_RANOLAZINE,
    PAPER_B6_ZALEPLON,
    PAPER_B7_PERINDOPRIL,
    PAPER_BO_TABLES,
    PAPER_TABLE1_AUROC,
    PAPER_TABLE2_VALIDITY,
    PAPER_TABLE3_VALIDITY,
    PAPER_TABLE5_SECONDS,
    paper_table,
    paper_table1,
    paper_table5,
)
from .plots import plot_paired, plot_trajectories, plot_validity
from .summary import (
    FIGURE_FAMILIES,
    METRICS,
    best_of_families,
    compare_variants,
    compare_with_paper,
    iter_runs,
    load_step_times,
    load_sweep,
    means_on_seeds,
    paired_verdict,
    per_run_metrics,
    pipeline_table,
    proposal_norms,
    proposal_ranking,
    run_facts,
    summarize_sweep,
    top_values,
    trajectories,
    trajectory_bands,
    unmoved_proposals,
    unmoved_summary,
    validity_ordering,
)

__all__ = [
    "FIGURE_FAMILIES",
    "METRICS",
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
    "best_of_families",
    "compare_variants",
    "compare_with_paper",
    "iter_runs",
    "load_step_times",
    "load_sweep",
    "means_on_seeds",
    "paired_verdict",
    "paper_table",
    "paper_table1",
    "paper_table5",
    "per_run_metrics",
    "pipeline_table",
    "plot_paired",
    "plot_trajectories",
    "plot_validity",
    "proposal_norms",
    "proposal_ranking",
    "run_facts",
    "summarize_sweep",
    "top_values",
    "trajectories",
    "trajectory_bands",
    "unmoved_proposals",
    "unmoved_summary",
    "validity_ordering",
]
