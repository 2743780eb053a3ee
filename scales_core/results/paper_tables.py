r"""The paper's tables, for side-by-side comparison with our results.

The one home of every number copied from the paper: Table 1 (validity AUROC),
Table 2, Table 3, App. B.3 (BO on expressions), B.4 (penalized logP) and B.5-B.7
(GuacaMol ranolazine, zaleplon and perindopril MPO; mean and, in brackets, the
standard error over 10 seeds, keyed by our method names, :data:`PAPER_METHODS`) and
Table 5 (wall clock on an A100).

The bracketed numbers of the BO tables are standard errors, not standard
deviations: the published analysis aggregates runs with ``agg([mean, sem])``
(``les/analysis/opt_results.py``, ``analyze_results``), and a validity of
0.70 (0.01) over 10 runs is an s.d. of about 0.03.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
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
    "paper_table",
    "paper_table1",
    "paper_table5",
]

#: Table 1: AUROC of each score for the validity of the argmax decode, and the
#: ScaLES weight rho, per dataset.
PAPER_TABLE1_AUROC: dict[str, dict[str, float]] = {
    "expressions": {
        "ScaLES": 0.94,
        "rho": 1.0,
        "UC": 0.96,
        "Prior": 0.64,
        "Polarity": 0.92,
    },
    "smiles": {
        "ScaLES": 0.88,
        "rho": 0.01,
        "UC": 0.96,
        "Prior": 0.52,
        "Polarity": 0.85,
    },
    "selfies": {
        "ScaLES": 0.78,
        "rho": 0.003,
        "UC": 0.39,
        "Prior": 0.76,
        "Polarity": 0.76,
    },
}

#: Table 5: seconds per call on an A100, keyed by (model family, batch size B),
#: then by method.
PAPER_TABLE5_SECONDS: dict[tuple[str, int], dict[str, float]] = {
    ("expressions", 10): {
        "ScaLES": 0.133,
        "ScaLES derivative": 0.18,
        "UC (10, 10)": 0.162,
        "UC (2, 2)": 0.021,
    },
    ("expressions", 5): {
        "ScaLES": 0.04,
        "ScaLES derivative": 0.085,
        "UC (10, 10)": 0.106,
        "UC (2, 2)": 0.021,
    },
    ("smiles", 10): {
        "ScaLES": 0.277,
        "ScaLES derivative": 0.417,
        "UC (10, 10)": 1.041,
        "UC (2, 2)": 0.169,
    },
    ("smiles", 5): {
        "ScaLES": 0.219,
        "ScaLES derivative": 0.369,
        "UC (10, 10)": 0.841,
        "UC (2, 2)": 0.159,
    },
    ("selfies", 10): {
        "ScaLES": 8.687,
        "ScaLES derivative": 8.026,
        "UC (10, 10)": 13.177,
        "UC (2, 2)": 2.549,
    },
    ("selfies", 5): {
        "ScaLES": 4.491,
        "ScaLES derivative": 5.4,
        "UC (10, 10)": 12.649,
        "UC (2, 2)": 2.469,
    },
}

#: App. B.3 (expressions): method -> (validity, mean ScaLES, top-1, top-10), each
#: as (mean, standard error) over seeds. The paper's L-BFGS rows use facets 1, 5 and 25.
PAPER_B3_EXPRESSIONS: dict[str, tuple[tuple[float, float], ...]] = {
    "ga": ((0.70, 0.01), (384.48, 0.74), (-0.36, 0.04), (-0.53, 0.02)),
    "lbfgs_1": ((0.88, 0.02), (385.54, 1.32), (-0.38, 0.05), (-0.64, 0.09)),
    "lbfgs_5": ((0.86, 0.02), (381.70, 1.54), (-0.32, 0.03), (-0.56, 0.06)),
    "lbfgs_25": ((0.90, 0.00), (381.97, 2.01), (-0.39, 0.00), (-0.54, 0.03)),
    "prior_0.2": ((0.66, 0.01), (382.16, 0.97), (-0.38, 0.02), (-0.63, 0.03)),
    "prior_0.5": ((0.56, 0.02), (376.05, 1.18), (-0.45, 0.04), (-0.95, 0.08)),
    "prior_0.8": ((0.47, 0.02), (372.04, 0.64), (-0.67, 0.11), (-1.32, 0.17)),
    "uc_es_75": ((1.00, 0.00), (391.59, 3.89), (-0.34, 0.03), (-0.56, 0.02)),
    "uc_es_95": ((0.98, 0.00), (383.36, 3.89), (-0.36, 0.02), (-0.53, 0.01)),
    "uc_es_100": ((0.76, 0.01), (364.63, 3.95), (-0.36, 0.03), (-0.54, 0.02)),
    "scales_0.2": ((0.87, 0.01), (384.11, 4.65), (-0.27, 0.06), (-0.49, 0.02)),
    "scales_0.5": ((0.92, 0.01), (401.00, 5.17), (-0.32, 0.05), (-0.52, 0.02)),
    "scales_0.8": ((0.93, 0.00), (406.68, 5.33), (-0.32, 0.05), (-0.56, 0.02)),
    "scales_2": ((0.95, 0.00), (444.72, 0.27), (-0.44, 0.01), (-0.83, 0.02)),
    "scales_es_25": ((0.92, 0.00), (409.79, 0.27), (-0.34, 0.02), (-0.51, 0.01)),
    "scales_es_50": ((0.94, 0.00), (412.93, 0.44), (-0.31, 0.03), (-0.53, 0.01)),
    "scales_es_75": ((0.95, 0.00), (416.98, 0.32), (-0.38, 0.01), (-0.57, 0.01)),
}

#: App. B.4 (penalized logP), as :data:`PAPER_B3_EXPRESSIONS`. The paper prints
#: the three UC rows identically.
PAPER_B4_LOGP: dict[str, tuple[tuple[float, float], ...]] = {
    "ga": ((0.19, 0.01), (1.69, 0.003), (3.01, 0.14), (2.15, 0.09)),
    "lbfgs_1": ((0.10, 0.01), (0.8, 0.16), (2.63, 0.19), (1.06, 0.19)),
    "lbfgs_5": ((0.11, 0.01), (-4.476, 1.717), (2.54, 0.18), (1.26, 0.12)),
    "lbfgs_25": ((0.13, 0.007), (-7.583, 2.01), (2.94, 0.24), (1.64, 0.16)),
    "prior_0.2": ((0.19, 0.01), (1.70, 0.003), (2.95, 0.19), (2.09, 0.10)),
    "prior_0.5": ((0.18, 0.01), (1.69, 0.003), (2.82, 0.18), (2.04, 0.11)),
    "prior_0.8": ((0.15, 0.01), (1.69, 0.003), (2.79, 0.11), (1.99, 0.10)),
    "uc_es_75": ((0.70, 0.01), (1.76, 0.004), (3.20, 0.15), (2.53, 0.05)),
    "uc_es_95": ((0.70, 0.01), (1.76, 0.004), (3.20, 0.15), (2.53, 0.05)),
    "uc_es_100": ((0.70, 0.01), (1.76, 0.004), (3.20, 0.15), (2.53, 0.05)),
    "scales_0.2": ((0.23, 0.01), (1.72, 0.004), (3.03, 0.23), (2.12, 0.10)),
    "scales_0.5": ((0.28, 0.01), (1.76, 0.004), (3.16, 0.13), (2.38, 0.09)),
    "scales_0.8": ((0.35, 0.01), (1.79, 0.004), (3.38, 0.15), (2.60, 0.09)),
    "scales_2": ((0.47, 0.01), (1.84, 0.004), (3.08, 0.1), (2.53, 0.05)),
    "scales_es_25": ((0.37, 0.01), (1.71, 0.003), (3.24, 0.11), (2.56, 0.07)),
    "scales_es_50": ((0.53, 0.01), (1.74, 0.002), (3.17, 0.11), (2.53, 0.04)),
    "scales_es_75": ((0.62, 0.01), (1.75, 0.002), (3.21, 0.11), (2.62, 0.04)),
}

#: App. B.5 (ranolazine MPO), as :data:`PAPER_B3_EXPRESSIONS`. The GuacaMol tables
#: have L-BFGS facets 1, 5 and 10 and no ScaLES (ES) rows.
PAPER_B5_RANOLAZINE: dict[str, tuple[tuple[float, float], ...]] = {
    "ga": ((0.26, 0.01), (-15.52, 0.36), (0.39, 0.00), (0.36, 0.00)),
    "lbfgs_1": ((0.16, 0.01), (-927.47, 25.3), (0.34, 0.01), (0.29, 0.01)),
    "lbfgs_5": ((0.26, 0.01), (-11847.16, 940.92), (0.34, 0.01), (0.29, 0.01)),
    "lbfgs_10": ((0.31, 0.01), (-27674.82, 2916.84), (0.35, 0.01), (0.30, 0.01)),
    "prior_0.2": ((0.27, 0.01), (0.43, 0.28), (0.39, 0.01), (0.36, 0.00)),
    "prior_0.5": ((0.39, 0.02), (10.38, 2.19), (0.39, 0.01), (0.37, 0.00)),
    "prior_0.8": ((0.55, 0.01), (21.18, 0.21), (0.38, 0.01), (0.37, 0.00)),
    "uc_es_75": ((0.22, 0.01), (-14.51, 1.19), (0.38, 0.01), (0.36, 0.01)),
    "uc_es_95": ((0.22, 0.01), (-14.66, 0.28), (0.38, 0.01), (0.36, 0.00)),
    "uc_es_100": ((0.21, 0.01), (-13.67, 2.27), (0.39, 0.01), (0.35, 0.01)),
    "scales_0.2": ((0.28, 0.01), (0.25, 0.68), (0.38, 0.01), (0.34, 0.00)),
    "scales_0.5": ((0.47, 0.01), (16.38, 0.25), (0.39, 0.00), (0.37, 0.00)),
    "scales_0.8": ((0.58, 0.01), (23.85, 0.08), (0.37, 0.01), (0.35, 0.00)),
}

#: App. B.6 (zaleplon MPO), as :data:`PAPER_B5_RANOLAZINE`.
PAPER_B6_ZALEPLON: dict[str, tuple[tuple[float, float], ...]] = {
    "ga": ((0.54, 0.01), (-14.20, 0.58), (0.46, 0.02), (0.38, 0.01)),
    "lbfgs_1": ((0.40, 0.01), (-467.28, 25.62), (0.46, 0.02), (0.35, 0.01)),
    "lbfgs_5": ((0.40, 0.01), (-5160.41, 962.80), (0.45, 0.02), (0.32, 0.01)),
    "lbfgs_10": ((0.40, 0.01), (-9808.73, 1536.68), (0.43, 0.02), (0.32, 0.01)),
    "prior_0.2": ((0.58, 0.01), (1.23, 0.66), (0.48, 0.02), (0.42, 0.01)),
    "prior_0.5": ((0.64, 0.01), (15.67, 0.27), (0.46, 0.01), (0.41, 0.00)),
    "prior_0.8": ((0.73, 0.01), (22.56, 0.11), (0.46, 0.01), (0.40, 0.01)),
    "uc_es_75": ((0.55, 0.01), (-12.85, 0.72), (0.44, 0.01), (0.38, 0.01)),
    "uc_es_95": ((0.56, 0.01), (-11.95, 0.73), (0.48, 0.03), (0.39, 0.02)),
    "uc_es_100": ((0.54, 0.01), (-10.03, 0.56), (0.48, 0.04), (0.39, 0.01)),
    "scales_0.2": ((0.62, 0.01), (2.40, 0.62), (0.48, 0.01), (0.41, 0.00)),
    "scales_0.5": ((0.69, 0.01), (13.78, 1.66), (0.45, 0.02), (0.40, 0.01)),
    "scales_0.8": ((0.76, 0.02), (24.73, 0.16), (0.41, 0.01), (0.35, 0.01)),
}

#: App. B.7 (perindopril MPO), as :data:`PAPER_B5_RANOLAZINE`.
PAPER_B7_PERINDOPRIL: dict[str, tuple[tuple[float, float], ...]] = {
    "ga": ((0.47, 0.01), (-13.6, 0.12), (0.51, 0.01), (0.48, 0.01)),
    "lbfgs_1": ((0.23, 0.01), (-1491.0, 96.0), (0.48, 0.01), (0.42, 0.01)),
    "lbfgs_5": ((0.33, 0.02), (-12304.0, 1553.0), (0.51, 0.01), (0.42, 0.00)),
    "lbfgs_10": ((0.34, 0.01), (-26359.0, 3484.0), (0.50, 0.01), (0.42, 0.00)),
    "prior_0.2": ((0.54, 0.01), (2.1, 0.15), (0.56, 0.02), (0.52, 0.01)),
    "prior_0.5": ((0.67, 0.01), (16.56, 0.13), (0.56, 0.01), (0.54, 0.00)),
    "prior_0.8": ((0.76, 0.01), (22.86, 0.06), (0.57, 0.01), (0.54, 0.00)),
    "uc_es_75": ((0.46, 0.01), (-11.96, 0.26), (0.55, 0.02), (0.49, 0.01)),
    "uc_es_95": ((0.46, 0.01), (-12.01, 0.32), (0.53, 0.02), (0.48, 0.01)),
    "uc_es_100": ((0.47, 0.01), (-11.8, 0.45), (0.52, 0.02), (0.48, 0.01)),
    "scales_0.2": ((0.56, 0.01), (1.4, 0.56), (0.59, 0.02), (0.52, 0.01)),
    "scales_0.5": ((0.70, 0.00), (16.88, 0.19), (0.59, 0.01), (0.55, 0.00)),
    "scales_0.8": ((0.78, 0.01), (24.03, 0.12), (0.60, 0.01), (0.56, 0.01)),
}

#: Task -> its App. B table.
PAPER_BO_TABLES = {
    "expressions": PAPER_B3_EXPRESSIONS,
    "logp": PAPER_B4_LOGP,
    "ranolazine_mpo": PAPER_B5_RANOLAZINE,
    "zaleplon_mpo": PAPER_B6_ZALEPLON,
    "perindopril_mpo": PAPER_B7_PERINDOPRIL,
}

#: Table 3: percentage of valid solutions (mean, standard error) by GuacaMol task and method,
#: as printed. It repeats the B.5-B.7 validity column except for ranolazine's UC
#: rows (Table 3: 28/26/28 %, B.5: 0.22/0.22/0.21).
PAPER_TABLE3_VALIDITY: dict[str, dict[str, tuple[float, float]]] = {
    "ranolazine_mpo": {
        "ga": (26, 1.1),
        "scales_0.2": (28, 1.3),
        "scales_0.5": (46, 0.7),
        "scales_0.8": (58, 0.7),
        "uc_es_75": (28, 1.1),
        "uc_es_95": (26, 1),
        "uc_es_100": (28, 1),
    },
    "perindopril_mpo": {
        "ga": (47, 1),
        "scales_0.2": (56, 0.5),
        "scales_0.5": (70, 0.3),
        "scales_0.8": (78, 0.6),
        "uc_es_75": (46, 1),
        "uc_es_95": (46, 1),
        "uc_es_100": (47, 2),
    },
    "zaleplon_mpo": {
        "ga": (54, 0.7),
        "scales_0.2": (62, 0.7),
        "scales_0.5": (70, 1),
        "scales_0.8": (77, 0.8),
        "uc_es_75": (54, 0.5),
        "uc_es_95": (55, 0.8),
        "uc_es_100": (54, 0.8),
    },
}

#: Table 2: percentage of valid solutions (mean, standard error) by task and method.
PAPER_TABLE2_VALIDITY: dict[str, dict[str, tuple[float, float]]] = {
    "expressions": {
        "ga": (70, 1),
        "scales_0.2": (87, 1),
        "scales_0.5": (92, 0.5),
        "scales_0.8": (93, 0.5),
        "scales_2": (95, 0.2),
        "uc_es_75": (99.5, 0.1),
        "uc_es_95": (98, 0.2),
        "uc_es_100": (76, 0.1),
        "scales_es_25": (92, 0.3),
        "scales_es_50": (94, 0.2),
        "scales_es_75": (95, 0.2),
    },
    "logp": {
        "ga": (18, 0.5),
        "scales_0.2": (23, 1),
        "scales_0.5": (28, 1),
        "scales_0.8": (35, 1),
        "scales_2": (47, 1),
        "uc_es_75": (70, 1),
        "uc_es_95": (70, 1),
        "uc_es_100": (70, 1),
        "scales_es_25": (37, 1),
        "scales_es_50": (53, 1),
        "scales_es_75": (62, 1),
    },
}

_METRICS = ("validity", "mean_scales", "top1", "top10")


def format_mean_se(mean: float, se: float) -> str:
    """``mean (se)`` as in the paper's tables.

    ``"-"`` without a mean, ``(1 seed)`` without an se.
    """
    if math.isnan(mean):
        return "-"
    return f"{mean:.2f} (1 seed)" if math.isnan(se) else f"{mean:.2f} ({se:.2f})"


def paper_table(task: str = "expressions") -> pd.DataFrame:
    r"""A BO table of the paper's appendix as a frame.

    App. B.3 (``"expressions"``), B.4 (``"logp"``) or B.5-B.7 (the GuacaMol task
    names): one row per method, columns ``<metric>_mean/_se`` (the paper's standard
    error) and ``<metric>`` formatted as ``mean (se)``.

    Raises:
        ValueError: for a task without a BO table in the paper's appendix here.
    """
    if task not in PAPER_BO_TABLES:
        raise ValueError(
            f"no paper BO table for {task!r}; have {sorted(PAPER_BO_TABLES)}"
        )
    rows = []
    for method, values in PAPER_BO_TABLES[task].items():
        row = {"method": method}
        for name, (mean, se) in zip(_METRICS, values):
            row[f"{name}_mean"], row[f"{name}_se"] = mean, se
            row[name] = format_mean_se(mean, se)
        rows.append(row)
    return pd.DataFrame(rows)


def paper_table1() -> pd.DataFrame:
    """Table 1 as a frame: one row per dataset, columns ScaLES, rho, UC, Prior, Polarity."""
    return pd.DataFrame(PAPER_TABLE1_AUROC).T


def paper_table5() -> pd.DataFrame:
    """Table 5 as a frame: one row per method, columns (model, B) in the paper's order."""
    frame = pd.DataFrame(PAPER_TABLE5_SECONDS)
    frame.columns.names = ["model", "B"]
    return frame
