r"""Glue helpers of the book's chapters: numbers and texts quoted in the prose.

A chapter's markdown quotes results as ``{glue:text}`name:.2f```; its last code
cell glues them with myst-nb. The helpers here were defined in the chapters' glue
cells (chapters 4, 5 and 6)::

    from scales_core.notebook_glue import glue_float, glue_paired_verdict
    glue_float("paper_ga_top10", 0.87)
    glue_paired_verdict(verdict, "exact ScaLES", prefix="exact_")

Each glues with ``display=False`` (the value is only quoted, not shown where glued).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .notebook_params import Text

__all__ = [
    "PAIRED_NUMBERS",
    "glue_float",
    "glue_paired_verdict",
    "glue_text",
    "glue_variant_metrics",
    "slash_list",
]

#: The numbers of a paired-verdict row, glued name -> column of
#: :func:`~scales_core.results.paired_verdict`.
PAIRED_NUMBERS = (
    ("ga_validity", "validity GA"),
    ("validity", "validity"),
    ("ga_top10", "top-10 GA"),
    ("top10", "top-10"),
    ("top10_diff", "top-10 mean difference"),
)


def _glue(name: str, value: Any) -> None:
    """myst-nb's ``glue(name, value, display=False)`` (imported on first use)."""
    from myst_nb import glue

    glue(name, value, display=False)


def glue_float(name: str, value: Any) -> None:
    """Glue ``value`` as a float (a NumPy or pandas scalar becomes a plain ``float``)."""
    _glue(name, float(value))


def glue_text(name: str, text: str) -> None:
    """Glue ``text`` so that ``{glue:text}`` shows it without quotes (:class:`Text`)."""
    _glue(name, Text(text))


def slash_list(values: Iterable[Any], n: int | None = None, digits: int = 2) -> Text:
    r"""Values joined by slashes, e.g. ``0.12/0.34/0.56`` (one per task).

    Args:
        values: Numbers; a ``None`` item is written ``n/a``.
        n: The number of values expected: fewer or more give ``n/a`` for the whole
            list (``None``: any number).
        digits: Decimals.

    Returns:
        The joined text (a :class:`Text`, glued without quotes).
    """
    values = list(values)
    if n is not None and len(values) != n:
        return Text("n/a")
    return Text("/".join("n/a" if v is None else f"{v:.{digits}f}" for v in values))


def glue_variant_metrics(
    table,
    labels: Sequence[tuple[str, str]],
    methods: Sequence[tuple[str, str]],
    columns: Sequence[str] = ("validity", "top10"),
) -> None:
    r"""Glue ``<label key>_<method key>_<column>`` for each cell of a variants table.

    Args:
        table: :func:`~scales_core.results.compare_variants` output (index
            (variant, method)) or ``None``; a missing row is glued as NaN.
        labels: ``(variant, key)`` pairs.
        methods: ``(method, key)`` pairs.
        columns: The columns glued.
    """
    for label, key in labels:
        for m, mk in methods:
            ok = table is not None and (label, m) in table.index
            for col in columns:
                glue_float(
                    f"{key}_{mk}_{col}",
                    table.loc[(label, m), col] if ok else float("nan"),
                )


def glue_paired_verdict(
    verdict, family: str, prefix: str = "", seeds_key: str = "seeds"
) -> None:
    r"""Glue one family's row of :func:`~scales_core.results.paired_verdict`.

    Glues ``<prefix>best`` (the best lambda), ``<prefix><seeds_key>`` (paired
    seeds), the numbers ``ga_validity``, ``validity``, ``ga_top10``, ``top10`` and
    ``top10_diff``, the texts ``validity_higher`` and ``top10_higher`` (``"h of
    n"``), and ``validity_verdict`` (``above``/``not above`` GA) and
    ``top10_verdict`` (``at least``/``below`` GA's), each with ``prefix``. Without
    the family's row (no finished pair yet) the numbers are NaN and the texts
    ``n/a``.

    Args:
        verdict: The verdict table (index: family).
        family: The family's row.
        prefix: Put before every name, e.g. ``"exact_"``.
        seeds_key: The name of the paired-seeds count.
    """
    if family not in verdict.index:
        for short in ["best", seeds_key]:
            glue_text(f"{prefix}{short}", "n/a")
        for short, _ in PAIRED_NUMBERS:
            glue_float(f"{prefix}{short}", float("nan"))
        for short in [
            "validity_higher",
            "top10_higher",
            "validity_verdict",
            "top10_verdict",
        ]:
            glue_text(f"{prefix}{short}", "n/a")
        return
    row = verdict.loc[family]
    glue_text(f"{prefix}best", row["best lambda"])
    _glue(f"{prefix}{seeds_key}", int(row["paired seeds"]))
    for short, col in PAIRED_NUMBERS:
        glue_float(f"{prefix}{short}", row[col])
    glue_text(f"{prefix}validity_higher", row["validity higher on"])
    glue_text(f"{prefix}top10_higher", row["top-10 higher on"])
    glue_text(
        f"{prefix}validity_verdict",
        "above" if row["validity"] > row["validity GA"] else "not above",
    )
    glue_text(
        f"{prefix}top10_verdict",
        "at least" if row["top-10"] >= row["top-10 GA"] else "below",
    )
