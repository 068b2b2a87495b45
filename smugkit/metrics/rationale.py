"""Token-rationale scores (text): ROC AUC, max-F1 and min-MAE of unit scores against rationale units.

As in the SMUG paper's text experiments (Sahoo et al. 2021, Sec. 5, after DeYoung et al.'s ERASER): the
attribution ``scores`` rank the units, the boolean ``truth`` marks the rationale. Plain functions over
numpy arrays; an undefined value (a truth with no positive or no negative unit) is NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from smugkit.errors import InputError


def _pair(scores, truth) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(truth).reshape(-1).astype(bool)
    if s.shape != t.shape:
        raise InputError(f"scores have {s.size} values but the truth {t.size}")
    if not np.all(np.isfinite(s)):
        raise InputError("scores contain NaN or Inf")
    return s, t


def localisation_auc(scores, truth) -> float:
    """ROC AUC of ``scores`` separating truth units from the rest (ties count one half); NaN if one class."""
    s, t = _pair(scores, truth)
    pos, neg = int(t.sum()), int((~t).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    r = rankdata(s)  # average ranks: the Mann-Whitney statistic with ties counted as 1/2
    return float((r[t].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _thresholded(s: np.ndarray) -> np.ndarray:
    """Predictions ``s >= v`` for every distinct score ``v`` plus the empty prediction: (T, n) booleans."""
    levels = np.unique(s)
    return np.vstack([s[None, :] >= levels[:, None], np.zeros((1, s.size), dtype=bool)])


def max_f1(scores, truth) -> float:
    """The best F1 of the prediction ``scores >= threshold`` over all thresholds; NaN if the truth is empty."""
    s, t = _pair(scores, truth)
    if not t.any():
        return float("nan")
    p = _thresholded(s)
    tp = (p & t).sum(axis=1)
    f1 = 2 * tp / np.maximum(p.sum(axis=1) + t.sum(), 1)
    return float(f1.max())


def min_mae(scores, truth) -> float:
    """The smallest mean absolute error between ``scores >= threshold`` and the truth, over all thresholds."""
    s, t = _pair(scores, truth)
    if s.size == 0:
        return float("nan")
    p = _thresholded(s)
    return float(np.abs(p.astype(np.float64) - t).mean(axis=1).min())
