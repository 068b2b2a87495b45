"""The metric registry and its contract, with the sparseness (Gini) metric checked against its definition."""

from __future__ import annotations

import numpy as np
import pytest

from smugkit.attribution import Attribution
from smugkit.errors import InputError
from smugkit.metrics import METRICS, Metric, Score, evaluate, get_metric


def attribution(values) -> Attribution:
    return Attribution(values=np.asarray(values, float), method="test", target=0, tensor="x", model="m")


def gini_by_pairs(a: np.ndarray) -> float:
    """The Gini index from its definition: mean absolute difference over twice the mean."""
    a = np.abs(a.reshape(-1))
    return float(np.abs(a[:, None] - a[None, :]).sum() / (2 * a.size**2 * a.mean()))


def test_sparseness_is_the_gini_index():
    rng = np.random.default_rng(0)
    for _ in range(5):
        v = rng.standard_normal((3, 7))
        assert evaluate(attribution(v), metric="sparseness").value == pytest.approx(gini_by_pairs(v))
    assert evaluate(attribution(np.ones(10)), metric="sparseness").value == pytest.approx(0.0)
    one_hot = np.eye(1, 10).reshape(-1)
    assert evaluate(attribution(one_hot), metric="sparseness").value == pytest.approx(0.9)
    empty = evaluate(attribution(np.zeros(4)), metric="sparseness")
    assert np.isnan(empty.value) and empty.details["reason"] == "the map is all zeros"
    positive = evaluate(attribution([-5.0, 1.0]), metric="sparseness", abs_values=False)
    assert positive.value == pytest.approx(0.5)


def test_score_record_round_trips_and_names_the_method():
    s = evaluate(attribution([0.0, 1.0, 2.0]), metric="sparseness")
    assert isinstance(s, Score) and s.metric == "sparseness" and s.method == "test" and s.higher_is_better
    assert Score.from_dict(s.to_dict()) == Score(**s.to_dict())


def test_registry_contract_and_typed_errors():
    assert "sparseness" in METRICS and all(issubclass(c, Metric) for c in METRICS.values())
    with pytest.raises(InputError, match="unknown metric 'nope'"):
        get_metric("nope")
    with pytest.raises(InputError, match=r"has no option\(s\)"):
        get_metric("sparseness", absolute=True)
    with pytest.raises(InputError, match="scores an Attribution"):
        get_metric("sparseness").score(np.zeros(3))
    with pytest.raises(InputError, match="NaN or Inf"):
        evaluate(attribution([np.nan, 1.0]), metric="sparseness")
