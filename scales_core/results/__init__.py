r"""Reading finished BO runs: tables, summaries, figures and the paper's numbers.

:mod:`scales_core.bo` runs BO and writes run records; this package only reads them
(and the chapters of the book call it instead of defining helpers of their own).

* :mod:`~scales_core.results.runs`:
  reading a sweep folder: oracle calls, step timings, what ran.
* :mod:`~scales_core.results.summary`:
  per-run and per-method metrics (the paper's App. B tables), trajectories.
* :mod:`~scales_core.results.paired`:
  methods against a baseline on shared seeds: verdicts, pipelines, variants.
* :mod:`~scales_core.results.proposals`:
  what the optimizers proposed: norms, ScaLES ranking, unmoved proposals.
* :mod:`~scales_core.results.pipelines`:
  the BO chapters' run tables and the releases' pipelines.
* :mod:`~scales_core.results.ablation`:
  one component of a pipeline switched back at a time, paired with the preset.
* :mod:`~scales_core.results.validity`:
  validity of start points, its ceiling, paired by seed, invalid reasons.
* :mod:`~scales_core.results.timings`:
  BO step timings, a score's value and gradient, GPU benchmark rows.
* :mod:`~scales_core.results.claims`: the summary chapter's verdict table.
* :mod:`~scales_core.results.plots`: the figures of the BO chapters.
* :mod:`~scales_core.results.paper_tables`:
  the paper's Tables 1, 2, 3 and 5 and Appendix B.3-B.7, as printed.
"""

from __future__ import annotations

from .ablation import (
    ablation_seeds,
    ablation_table,
    carrying_components,
    load_arms,
    plot_ablation,
)
from .claims import (
    ClaimTable,
    method_summary,
    metric_pairs,
    paired_claim_verdict,
    result_source,
    within_tolerance,
)
from .paired import (
    best_of_families,
    compare_variants,
    paired_p_value,
    paired_verdict,
    pair_summary,
    pipeline_seeds,
    pipeline_table,
    validity_ordering,
)
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
from .pipelines import (
    SHARED_BASELINE_PIPELINES,
    compare_variant_dirs,
    finished_table,
    ordering_sentence,
    paper_pipeline_rows,
    pipeline_frames,
    run_table,
    same_baseline_proposals,
    strongest_pipeline,
    validity_table,
    with_default_baseline,
)
from .plots import (
    plot_paired,
    plot_pipelines,
    plot_trajectories,
    plot_validity,
)
from .proposals import (
    proposal_norms,
    proposal_ranking,
    unmoved_proposals,
    unmoved_summary,
)
from .runs import (
    COLUMNS,
    STEP_COLUMNS,
    iter_runs,
    load_step_times,
    load_sweep,
    run_facts,
)
from .summary import (
    METRICS,
    compare_with_paper,
    means_on_seeds,
    per_run_metrics,
    summarize_sweep,
    top_values,
    trajectories,
    trajectory_bands,
)
from .timings import (
    finished_steps,
    gpu_timing_table,
    step_split,
    value_and_grad,
)
from .validity import (
    most_common_share,
    paired_validity,
    reason_group,
    reason_groups,
    row_mean,
    start_validity,
    task_values,
    validity_ceiling,
)

__all__ = [
    "COLUMNS",
    "ClaimTable",
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
    "SHARED_BASELINE_PIPELINES",
    "STEP_COLUMNS",
    "ablation_seeds",
    "ablation_table",
    "best_of_families",
    "carrying_components",
    "compare_variant_dirs",
    "compare_variants",
    "compare_with_paper",
    "finished_steps",
    "finished_table",
    "gpu_timing_table",
    "iter_runs",
    "load_arms",
    "load_step_times",
    "load_sweep",
    "means_on_seeds",
    "method_summary",
    "metric_pairs",
    "most_common_share",
    "ordering_sentence",
    "paired_validity",
    "paired_claim_verdict",
    "paired_p_value",
    "paired_verdict",
    "paper_pipeline_rows",
    "paper_table",
    "paper_table1",
    "paper_table5",
    "per_run_metrics",
    "plot_ablation",
    "pipeline_frames",
    "pair_summary",
    "pipeline_seeds",
    "pipeline_table",
    "plot_paired",
    "plot_pipelines",
    "plot_trajectories",
    "plot_validity",
    "proposal_norms",
    "proposal_ranking",
    "reason_group",
    "reason_groups",
    "result_source",
    "row_mean",
    "run_facts",
    "run_table",
    "same_baseline_proposals",
    "strongest_pipeline",
    "start_validity",
    "step_split",
    "summarize_sweep",
    "task_values",
    "top_values",
    "trajectories",
    "trajectory_bands",
    "unmoved_proposals",
    "unmoved_summary",
    "validity_ceiling",
    "validity_ordering",
    "validity_table",
    "value_and_grad",
    "with_default_baseline",
    "within_tolerance",
]
