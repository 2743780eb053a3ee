"""The area under the ROC curve of a score for a validity label.

Shared by chapter 3's experiment and the BO results.
"""

from __future__ import annotations

import numpy as np

__all__ = ["auroc"]


def auroc(valid: np.ndarray, score: np.ndarray) -> float:
    """AUROC of ``score`` for the ``valid`` label (NaN when one class is missing).

    Args:
        valid: ``n`` booleans.
        score: ``n`` scores; non-finite ones are left out.

    Returns:
        The AUROC, or NaN where ``valid`` holds one class only.
    """
    from sklearn.metrics import roc_auc_score  # loaded on first use

    valid = np.asarray(valid, dtype=bool)
    score = np.asarray(score, dtype=float)
    if valid.all() or not valid.any():
        return float("nan")
    finite = np.isfinite(score)
    return float(roc_auc_score(valid[finite], score[finite]))
