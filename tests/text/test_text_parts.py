"""Vocabulary, token units, rendering, the planted set and the localisation scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from smugkit.errors import InputError
from smugkit.metrics.rationale import localisation_auc, max_f1, min_mae
from smugkit.text import Vocabulary, planted
from smugkit.text.render import html_snippet, terminal
from smugkit.units import TokenUnits, make_tokens
from tests.text.tiny import tiny_vocab


def test_vocabulary_file_round_trip_and_errors(tmp_path):
    v = tiny_vocab()
    p = v.save(tmp_path / "v.json")
    assert Vocabulary.load(p) == v
    (tmp_path / "bad.json").write_text(json.dumps({"tokens": ["a"]}))
    with pytest.raises(InputError, match="not a vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")
    with pytest.raises(InputError, match="special token"):
        Vocabulary(tokens=("a", "b"), length=3)
    with pytest.raises(InputError, match="not found"):
        Vocabulary.load(tmp_path / "missing.json")


def test_encode_pads_maps_oov_and_decodes():
    v = tiny_vocab(length=5)
    e = v.encode("The MOVIE was weird!")
    assert e.tokens == ["the", "movie", "was", "weird", "!"] and e.unknown == ["weird", "!"]
    assert e.ids.tolist() == [v.index["the"], v.index["movie"], v.index["was"], v.unk_id, v.unk_id]
    assert v.decode(v.encode("good plot").ids) == ["good", "plot"]
    assert v.encode_ids([v.index["good"], 0, 0]).tokens == ["good"]


def test_token_units_cover_each_token_row():
    u = make_tokens((1, 4, 3))
    assert isinstance(u, TokenUnits) and u.count == 4 and u.input_shape == (1, 4, 3)
    x = np.arange(12.0).reshape(1, 4, 3) + 1
    y = u.apply(x, [1, 0, 1, 0])
    assert np.all(y[0, [1, 3]] == 0) and np.array_equal(y[0, [0, 2]], x[0, [0, 2]])
    assert u.incidence().shape == (12, 4) and np.array_equal(u.plane([0, 1, 1, 0]), [0, 1, 1, 0])
    with pytest.raises(InputError):
        make_tokens((5,))


def test_rendering_escapes_and_marks_the_mask():
    snippet = html_snippet(["<b>", "ok"], [1.0, -0.5], [1, 0])
    assert "&lt;b&gt;" in snippet and "<b>" not in snippet
    assert snippet.count("underline") == 1 and "rgb(255,64,64)" in snippet and "rgb(159,159,255)" in snippet
    assert terminal(["a", "b"], [0.1, 0.2], [0, 1], color=False) == "a [b]"
    coloured = terminal(["a", "b"], [0.1, 0.2], [0, 1])
    assert coloured.count("\x1b[4m") == 1 and coloured.endswith("\x1b[0m")


def test_planted_set_is_reproducible_and_marks_the_planted_words():
    items = planted.load()
    assert items == planted.build() and len(items) == 60
    assert sum(i.label for i in items) == 30
    for it in items:
        toks = Vocabulary(("<pad>", "<unk>"), 30).tokenize(it.text)
        words = {toks[r] for r in it.rationale}
        assert words <= set(planted.POSITIVE if it.label else planted.NEGATIVE)


def test_localisation_scores_against_references():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(3, 12))
        s = rng.integers(0, 4, n).astype(float)  # with ties
        t = rng.random(n) < 0.4
        if t.all() or not t.any():
            assert np.isnan(localisation_auc(s, t))
            continue
        assert localisation_auc(s, t) == pytest.approx(roc_auc_score(t, s))
        thr = np.r_[np.unique(s), np.inf]
        assert max_f1(s, t) == pytest.approx(max(f1_score(t, s >= v, zero_division=0) for v in thr))
        assert min_mae(s, t) == pytest.approx(min(np.mean((s >= v) != t) for v in thr))
    with pytest.raises(InputError):
        localisation_auc([1, 2], [True])


def test_rationale_metrics_in_the_registry():
    from smugkit.attribution.base import Attribution
    from smugkit.metrics import METRICS, evaluate

    assert {"rationale_auc", "rationale_max_f1", "rationale_min_mae"} <= set(METRICS)
    a = Attribution(values=np.array([0.1, 0.9, 0.0, 0.3]), method="m", target=1, tensor="tokens", model="x")
    assert evaluate(a, metric="rationale_auc", truth=[1]).value == 1.0
    assert evaluate(a, metric="rationale_max_f1", truth=np.array([0, 1, 0, 1], bool)).value == 1.0
    s = evaluate(a, metric="rationale_min_mae", truth=[2])
    assert s.value == pytest.approx(0.25) and not s.higher_is_better
    emb = Attribution(
        values=np.ones((1, 4, 3)) * [[[0], [2], [0], [1]]], method="m", target=0, tensor="e", model="x"
    )
    assert evaluate(emb, metric="rationale_auc", truth=[1, 3]).value == 1.0
    assert np.isnan(evaluate(a, metric="rationale_auc", truth=[]).value)
    with pytest.raises(InputError, match="positions"):
        evaluate(a, metric="rationale_auc", truth=[7])
