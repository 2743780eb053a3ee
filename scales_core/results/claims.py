r"""The summary chapter's verdict table.

Each claim of the paper, ours beside it, and where the number comes from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .runs import load_sweep
from .summary import summarize_sweep

__all__ = [
    "ClaimTable",
    "method_summary",
    "metric_pairs",
    "paired_claim_verdict",
    "result_source",
    "within_tolerance",
]


class ClaimTable:
    r"""The verdict table of the summary chapter: one row per claim of the paper.

    Example:
        >>> claims = ClaimTable()
        >>> claims.add("Table 1", "0.91", "0.88", "reproduces", "within 0.05",
        ...            "03_validity_auroc", "protocols", "3.2")
        >>> claims.verdict_counts()
        '1 reproduces'
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []
        self.sources: list[dict[str, Any]] = []
        self._verdicts: list[str] = []

    def add(
        self,
        what: str,
        ours: str,
        paper: str,
        verdict: str,
        why: str,
        page: str,
        anchor: str,
        label: str,
        source: dict[str, Any] | None = None,
    ) -> None:
        r"""Add one claim.

        Args:
            what: The claim, as the paper makes it.
            ours: What this project measured.
            paper: The paper's number.
            verdict: One word or phrase (``reproduces``, ``partly``, ...), shown bold.
            why: The reason for the verdict.
            page: The chapter holding the evidence (a notebook stem).
            anchor: The section's anchor on that page.
            label: The link's text.
            source: Where the numbers were read from (see :func:`result_source`);
                ``None``: not listed among the sources.
        """
        link = f'<a href="{page}.html#{anchor}">{label}</a>'
        self.rows.append(
            {
                "claim": what,
                "ours": ours,
                "paper": paper,
                "verdict": f"<b>{verdict}</b>: {why}",
                "evidence": link,
            }
        )
        self._verdicts.append(verdict)
        if source:
            self.sources.append({"claim": what, **source})

    def frame(self) -> pd.DataFrame:
        """The claims, one row each (columns claim, ours, paper, verdict, evidence)."""
        return pd.DataFrame(self.rows)

    def html(self) -> str:
        """The claims as an HTML table (verdicts bold, evidence linked)."""
        return self.frame().to_html(
            escape=False, index=False, classes="dataframe verdicts"
        )

    def sources_frame(self) -> pd.DataFrame:
        """The claims with a source, indexed by claim (results, hardware, commit)."""
        return pd.DataFrame(self.sources).set_index("claim")

    def verdict_counts(self) -> str:
        """How many claims got each verdict, most frequent first: ``"3 partly, 1 reversed"``."""
        counts = Counter(self._verdicts)
        return ", ".join(f"{n} {v}" for v, n in counts.most_common())


def result_source(meta: Mapping[str, Any], what: str | None = None) -> dict[str, Any]:
    r"""Hardware and commit of a saved result, from its meta record.

    Args:
        meta: The result's ``meta`` record (``device_name`` or ``threads``, ``commit``).
        what: The result files, as the reader finds them.

    Returns:
        ``{"results": what, "hardware": ..., "commit": <12 characters>}``.
    """
    hardware = (
        meta.get("device_name") or f"CPU, {meta.get('threads', '?')} torch thread(s)"
    )
    return {
        "results": what,
        "hardware": hardware,
        "commit": str(meta.get("commit", ""))[:12],
    }


def within_tolerance(ours: float, paper: float, tol: float) -> bool:
    """Whether ``ours`` is within ``tol`` of ``paper`` (inclusive)."""
    return abs(ours - paper) <= tol


#: Paired seeds below which a two-sided signed-rank test cannot reach p < 0.05
#: (with 5 seeds all on one side, p = 0.0625).
MIN_TESTABLE_SEEDS = 6


def paired_claim_verdict(
    difference: float, p: float, seeds: int, alpha: float = 0.05
) -> tuple[str, str]:
    r"""The verdict on "the method beats the baseline" from a paired comparison.

    ``partly`` where the paired difference is positive and the signed-rank test
    rejects "no difference" (the paper's claim holds in sign, its size is judged
    in the reason), ``reversed`` where it is negative and the test rejects,
    ``does not reproduce`` where the test does not reject, and ``not comparable``
    below ``MIN_TESTABLE_SEEDS`` (6) paired seeds.

    Args:
        difference: Mean paired difference, method minus baseline.
        p: Two-sided p of the paired differences
            (:func:`~scales_core.results.paired_p_value`; ``nan``: no nonzero one).
        seeds: Paired seeds.
        alpha: The test's level.

    Returns:
        ``(verdict, reason)``, e.g. ``("partly", "above the baseline, p = 0.002")``.
    """
    if seeds < MIN_TESTABLE_SEEDS:
        return (
            "not comparable",
            f"{seeds} paired seed(s): a paired test needs {MIN_TESTABLE_SEEDS}",
        )
    tested = f"p = {p:.3f}"
    if not p < alpha:  # nan included
        return "does not reproduce", f"not distinguishable from the baseline, {tested}"
    if difference > 0:
        return "partly", f"above the baseline, {tested}"
    return "reversed", f"below the baseline, {tested}"


def method_summary(runs: pd.DataFrame | str | Path, k: int = 10) -> pd.DataFrame:
    r"""The per-method summary of a sweep's finished runs, indexed by method.

    Args:
        runs: A sweep folder or :func:`~scales_core.results.load_sweep` output.
        k: Size of the top-k mean.

    Returns:
        :func:`~scales_core.results.summarize_sweep` (finished runs only) indexed by method.
    """
    frame = runs if isinstance(runs, pd.DataFrame) else load_sweep(runs)
    return summarize_sweep(frame, k=k, complete_only=True).set_index("method")


def metric_pairs(
    ours: pd.DataFrame,
    paper: pd.DataFrame,
    method: str,
    metric: str,
    baseline: str = "ga",
) -> tuple[float, float, float, float]:
    r"""One metric of a method and of the baseline, ours and the paper's.

    Args:
        ours: :func:`method_summary` output.
        paper: The paper's table indexed by method
            (``paper_table(task).set_index("method")``).
        method: The method, e.g. ``"scales_0.8"``.
        metric: A summary column, e.g. ``"validity_mean"``.
        baseline: The method compared against.

    Returns:
        ``(ours method, ours baseline, paper method, paper baseline)``.
    """
    return (
        ours.loc[method, metric],
        ours.loc[baseline, metric],
        paper.loc[method, metric],
        paper.loc[baseline, metric],
    )
