"""Token-rationale metrics in the registry: `rationale_auc`, `rationale_max_f1`, `rationale_min_mae`.

They score a text attribution (one value per token, e.g. `TextExplanation.to_attribution()`, or embedding
attributions ``(..., tokens, dim)`` summed per token) against the rationale tokens, given as ``truth``: a
boolean vector over the tokens or a list of token positions. Values come from `smugkit.metrics.rationale`;
an undefined value (no rationale token, or every token one) is NaN with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.errors import InputError
from smugkit.metrics.base import Metric, register_metric
from smugkit.metrics.rationale import localisation_auc, max_f1, min_mae


@dataclass(frozen=True)
class NoOptions:
    """No options."""


def token_scores(values) -> np.ndarray:
    """One score per token: a vector as is; embedding attributions ``(..., tokens, dim)`` summed over dim."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim >= 2:
        a = a.sum(axis=-1)
    return a.reshape(-1)


def token_truth(truth, n: int, metric: str) -> np.ndarray:
    """The rationale as a boolean vector over ``n`` tokens (from booleans or token positions)."""
    t = np.asarray(truth)
    if t.size == 0:  # no rationale position
        return np.zeros(n, dtype=bool)
    if t.dtype == bool:
        if t.size != n:
            raise InputError(f"{metric}: truth marks {t.size} tokens but the attribution has {n}")
        return t.reshape(-1)
    if t.dtype.kind not in "iu" or t.ndim != 1:
        raise InputError(f"{metric}: truth must be booleans per token or a list of token positions")
    if t.size and (t.min() < 0 or t.max() >= n):
        raise InputError(f"{metric}: rationale positions must lie in [0, {n}), got {t.tolist()}")
    out = np.zeros(n, dtype=bool)
    out[t] = True
    return out


class _Rationale(Metric):
    Options = NoOptions
    needs_truth = True
    higher_is_better = True
    fn = staticmethod(localisation_auc)

    def compute(self, attribution, model, x, truth=None):
        s = token_scores(attribution.values)
        t = token_truth(truth, s.size, self.name)
        if t.all() or not t.any():
            return float("nan"), {
                "reason": "the rationale covers " + ("every token" if t.all() else "no token")
            }
        return self.fn(s, t), {"tokens": int(s.size), "rationale_tokens": int(t.sum())}


@register_metric
class RationaleAUC(_Rationale):
    """ROC AUC of the token scores for the rationale tokens (ties count half)."""

    name = "rationale_auc"


@register_metric
class RationaleMaxF1(_Rationale):
    """Best F1 of the tokens scoring at or above a threshold, over all thresholds."""

    name = "rationale_max_f1"
    fn = staticmethod(max_f1)


@register_metric
class RationaleMinMAE(_Rationale):
    """Smallest share of tokens on the wrong side of a threshold, over all thresholds."""

    name = "rationale_min_mae"
    higher_is_better = False
    fn = staticmethod(min_mae)
