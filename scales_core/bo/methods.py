r"""The acquisition-optimization methods of the paper (Sec. 4, 'Methods') by name.

======================  ===========================================================
name                    what
======================  ===========================================================
``ga``                  LSO (GA): 10 normalized gradient-ascent steps (Eq. 15, no
                        penalty)
``scales_<lam>``        Eq. 15 with the ScaLES penalty, ``lam`` in 0.2/0.5/0.8/2
``prior_<lam>``         Eq. 15 with the prior ``log N(z; 0, I)``, ``lam`` in
                        0.2/0.5/0.8 (at any latent scale ``s`` the normalized
                        gradient of ``log N(z; 0, s^2 I)`` is the same ``-z/|z|``,
                        so the VAE's own prior gives the same method)
``scales_pub_<lam>``    Eq. 15 with the penalty as the published code computes
                        it (:class:`~scales_core.bo.published.PublishedPenalty`:
                        dropout on, finite differences anchored at the start
                        points, no prior); not in the paper's tables
``uc_es_<q>``           GA; an update is rejected once the decoder uncertainty of
                        the new point is above its ``q``-th training quantile
                        (75/95/100)
``scales_es_<q>``       GA; an update is rejected once ScaLES of the new point is
                        below its ``q``-th training quantile (25/50/75)
``lbfgs_<facet>``       BoTorch ``optimize_acqf`` (L-BFGS-B) in the cube of facet
                        length ``facet`` (1/5/25) centred at zero, see
                        :func:`scales_core.bo.optimize.hypercube_bounds`
======================  ===========================================================

:func:`get_method` also parses other values of the same patterns, e.g.
``"scales_0.3"`` or ``"lbfgs_10"``; the patterns are one table,
:data:`METHOD_FAMILIES`, whose rows also carry each family's label in the figures
and its members in the paper. The optimizers, penalties and stopping scores a
method may name are the tables of :mod:`~scales_core.bo.strategies`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from .strategies import OPTIMIZERS, PENALTIES, STOPPING

__all__ = [
    "PUBLISHED_VARIANT_METHODS",
    "METHOD_FAMILIES",
    "MethodConfig",
    "MethodFamily",
    "METHODS",
    "PAPER_METHODS",
    "figure_families",
    "get_method",
]


@dataclass(frozen=True)
class MethodConfig:
    r"""One acquisition optimizer.

    Attributes:
        name: Registry name (used in file names and tables).
        optimizer: ``"ga"`` (normalized gradient ascent) or ``"lbfgs"``.
        penalty: ``None``, ``"scales"``, ``"prior"`` or ``"published"`` (GA only).
        lam: Weight ``lambda`` of the normalized penalty gradient (>= 0).
        stopping: ``None``, ``"uc"`` (reject above a quantile) or ``"scales"``
            (reject below a quantile) (GA only).
        quantile: The training-data quantile of the stopping threshold, in [0, 100].
        facet: Facet length of the L-BFGS hypercube, in units of the normalized
            latent box (> 0).
    """

    name: str
    optimizer: str = "ga"
    penalty: str | None = None
    lam: float = 0.0
    stopping: str | None = None
    quantile: float | None = None
    facet: float | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; use {tuple(OPTIMIZERS)}"
            )
        if self.penalty not in PENALTIES:
            raise ValueError(
                f"unknown penalty {self.penalty!r}; use {tuple(PENALTIES)}"
            )
        if self.stopping is not None and self.stopping not in STOPPING:
            raise ValueError(
                f"unknown stopping score {self.stopping!r}; use None or {tuple(STOPPING)}"
            )
        if not math.isfinite(self.lam) or self.lam < 0:
            raise ValueError(f"lambda must be a finite number >= 0, got {self.lam}")
        if self.penalty is not None and self.lam == 0:
            raise ValueError(f"penalty {self.penalty!r} needs lambda > 0")
        if self.stopping is not None:
            if self.quantile is None or not 0 <= self.quantile <= 100:
                raise ValueError(f"quantile must be in [0, 100], got {self.quantile}")
        if self.optimizer == "lbfgs":
            if self.penalty is not None or self.stopping is not None:
                raise ValueError(
                    "the L-BFGS optimizer takes no penalty and no stopping"
                )
            if self.facet is None or not math.isfinite(self.facet) or self.facet <= 0:
                raise ValueError(
                    f"facet length must be a positive number, got {self.facet}"
                )
        elif self.facet is not None:
            raise ValueError(
                "facet is an L-BFGS parameter; gradient ascent is unbounded"
            )

    def to_dict(self) -> dict:
        """Plain-type view (for run headers)."""
        return asdict(self)


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class MethodFamily:
    r"""One row of :data:`METHOD_FAMILIES`: methods that differ in one number.

    Attributes:
        label: The family's name in figures and tables (the paper's Figure 2 shows
            one line per family, its best member).
        parameter: What the number is (``"lambda"``, ``"quantile"``, ``"facet"``),
            ``None`` for a method without one (``"ga"``).
        fields: ``value -> MethodConfig`` fields (no argument where ``parameter``
            is ``None``).
        paper_values: The family's members in the paper's tables.
        in_paper: Whether the members are among :data:`PAPER_METHODS` (the
            published-code variant is not).
    """

    label: str
    parameter: str | None
    fields: Callable[..., dict]
    paper_values: tuple[float, ...] = ()
    in_paper: bool = True

    def members(self, prefix: str) -> tuple[str, ...]:
        """The names of the family's members in the paper (``prefix`` + value)."""
        if self.parameter is None:
            return (prefix,)
        return tuple(f"{prefix}{_fmt(v)}" for v in self.paper_values)


#: Method families: name prefix -> :class:`MethodFamily`, in the order of the paper's
#: method list. A name is its prefix followed by a number, e.g. ``"scales_0.5"``; the
#: longest matching prefix wins (``"scales_es_50"`` is early stopping, not a
#: penalty); ``"ga"`` takes no number. A new family is a new row.
METHOD_FAMILIES: dict[str, MethodFamily] = {
    "ga": MethodFamily("LSO (GA)", None, lambda: {}),
    "scales_": MethodFamily(
        "ScaLES", "lambda", lambda v: dict(penalty="scales", lam=v), (0.2, 0.5, 0.8, 2)
    ),
    "prior_": MethodFamily(
        "Prior", "lambda", lambda v: dict(penalty="prior", lam=v), (0.2, 0.5, 0.8)
    ),
    "uc_es_": MethodFamily(
        "UC (ES)", "quantile", lambda v: dict(stopping="uc", quantile=v), (75, 95, 100)
    ),
    "scales_es_": MethodFamily(
        "ScaLES (ES)",
        "quantile",
        lambda v: dict(stopping="scales", quantile=v),
        (25, 50, 75),
    ),
    "lbfgs_": MethodFamily(
        "LSO (L-BFGS)", "facet", lambda v: dict(optimizer="lbfgs", facet=v), (1, 5, 25)
    ),
    "scales_pub_": MethodFamily(
        "ScaLES (published)",
        "lambda",
        lambda v: dict(penalty="published", lam=v),
        (0.2, 0.5, 0.8),
        in_paper=False,
    ),
}

#: The paper's methods (Sec. 4, 'Methods'), in its order.
PAPER_METHODS: tuple[str, ...] = tuple(
    name
    for prefix, family in METHOD_FAMILIES.items()
    if family.in_paper
    for name in family.members(prefix)
)

#: The published code's penalty at the paper's ScaLES weights (issue 9: does the
#: B.3 result depend on the exact score or on the published variant?).
PUBLISHED_VARIANT_METHODS: tuple[str, ...] = METHOD_FAMILIES["scales_pub_"].members(
    "scales_pub_"
)

_NUMBER = re.compile(r"-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?")
_BY_LENGTH = sorted(
    (p for p, f in METHOD_FAMILIES.items() if f.parameter is not None),
    key=len,
    reverse=True,
)


def figure_families() -> dict[str, tuple[str, ...]]:
    """Family label -> its members in the paper (each figure shows the best member)."""
    return {
        family.label: family.members(prefix)
        for prefix, family in METHOD_FAMILIES.items()
    }


def get_method(name: str | MethodConfig) -> MethodConfig:
    r"""The method config for a registry name (or a config, returned as is).

    Args:
        name: ``"ga"``, ``"scales_<lam>"``, ``"prior_<lam>"``, ``"uc_es_<q>"``,
            ``"scales_es_<q>"``, ``"scales_pub_<lam>"`` or ``"lbfgs_<facet>"``
            (:data:`METHOD_FAMILIES`).

    Returns:
        A validated :class:`MethodConfig`.

    Raises:
        ValueError: for an unknown name or an invalid parameter (e.g. a negative
            lambda).
    """
    if isinstance(name, MethodConfig):
        return name
    if not isinstance(name, str):
        raise ValueError(f"method must be a name, got {type(name).__name__}")
    family = METHOD_FAMILIES.get(name)
    if family is not None and family.parameter is None:
        return MethodConfig(name, **family.fields())
    for prefix in _BY_LENGTH:
        value = name[len(prefix) :]
        if name.startswith(prefix) and _NUMBER.fullmatch(value):
            return MethodConfig(name, **METHOD_FAMILIES[prefix].fields(float(value)))
    patterns = [
        p if f.parameter is None else f"{p}<{f.parameter}>"
        for p, f in METHOD_FAMILIES.items()
    ]
    raise ValueError(
        f"unknown method {name!r}; known patterns: {', '.join(patterns)} "
        f"(paper: {PAPER_METHODS})"
    )


METHODS: dict[str, MethodConfig] = {name: get_method(name) for name in PAPER_METHODS}
