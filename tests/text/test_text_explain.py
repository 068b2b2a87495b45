"""Text SMUG: the embedding cut equals the original model, masks are minimal (brute force), certified, and
bad input (OOV, empty, too long, sigmoid heads) has defined behaviour."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime as ort
import pytest

from smugkit.errors import InputError, ModelError, ProblemError
from smugkit.text import TruncationWarning, cut_at_embedding, explain_text
from tests.text.tiny import tiny_text_cnn, tiny_vocab

SENTENCES = ["the movie was very good", "not fun plot", "bad actors the bad plot", "good"]


def _ort(model, ids):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"ids": np.asarray(ids, np.int64).reshape(1, -1)})[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_cut_model_equals_the_original(seed):
    m = tiny_text_cnn(seed)
    tm = cut_at_embedding(m)
    assert tm.token_shape == (1, 6) and tm.dim == 3
    assert tm.network.input.shape == (1, 6, 3)
    v = tiny_vocab()
    for s in SENTENCES:
        ids = v.encode(s).ids
        np.testing.assert_allclose(tm.network(tm.embed(ids)), _ort(m, ids), rtol=1e-5, atol=1e-5)


def _masks(n: int, length: int) -> np.ndarray:
    """Every mask over the first n tokens (padding bits 0), as (2^n, length)."""
    bits = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)
    return np.hstack([bits, np.zeros((len(bits), length - n))])


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("sentence", SENTENCES[:3])
def test_first_layer_mask_is_minimal_by_brute_force(seed, sentence):
    m, v = tiny_text_cnn(seed), tiny_vocab()
    e = explain_text(m, sentence, vocab=v, top_k=12, ig_steps=32)
    assert e.certified and e.exact_check["holds"] and e.status == "optimal"
    tm = cut_at_embedding(m)
    x = tm.embed(v.encode(sentence).ids)
    masks = _masks(len(e.tokens), 6)
    xm = x[None] * masks[:, None, :, None]
    pre = e.neurons["tensor"]
    z = tm.network.run(xm, [pre])[pre].reshape(len(masks), -1)[:, e.neurons["constrained"]]
    ok = np.all(z >= np.asarray(e.neurons["thresholds"]) - 1e-9, axis=1)
    assert e.mask_size == int(masks[ok].sum(axis=1).min())
    assert ok[int(np.flatnonzero((masks[:, : len(e.tokens)] == e.mask_bits).all(axis=1))[0])]


@pytest.mark.parametrize("seed", [0, 2])
def test_full_encoding_mask_is_minimal_by_brute_force(seed):
    m, v = tiny_text_cnn(seed), tiny_vocab()
    sentence = "bad actors the bad plot"
    e = explain_text(m, sentence, vocab=v, encoding="full", ig_steps=16, backend="highs")
    assert e.certified
    tm = cut_at_embedding(m)
    x = tm.embed(v.encode(sentence).ids)
    masks = _masks(len(e.tokens), 6)
    logits = tm.network(x[None] * masks[:, None, :, None]).reshape(len(masks), -1)
    margin = logits[:, e.label] - np.delete(logits, e.label, axis=1).max(axis=1)
    assert e.mask_size == int(masks[margin >= 0].sum(axis=1).min())


def test_unknown_words_are_reported_and_long_text_truncated():
    m, v = tiny_text_cnn(0), tiny_vocab()
    with pytest.warns(TruncationWarning, match="dropped"):
        e = explain_text(m, "the zebra movie was very good fun indeed", vocab=v, top_k=8, ig_steps=16)
    assert e.unknown == ["zebra"] and e.truncated == 2
    assert e.ids[1] == v.unk_id and len(e.tokens) == 6 and e.padding_kept == 0


def test_empty_text_and_bad_ids_are_input_errors():
    m, v = tiny_text_cnn(0), tiny_vocab()
    with pytest.raises(InputError, match="no tokens"):
        explain_text(m, "  ,;  ", vocab=v)
    with pytest.raises(InputError, match="padding ids inside"):
        explain_text(m, vocab=v, ids=[2, 0, 3])
    with pytest.raises(InputError, match="must lie in"):
        explain_text(m, vocab=v, ids=[2, 99])
    with pytest.raises(InputError, match="one of them"):
        explain_text(m, "good", vocab=v, ids=[2])


def test_ids_give_the_same_explanation_as_text():
    m, v = tiny_text_cnn(1), tiny_vocab()
    a = explain_text(m, "the movie was good", vocab=v, top_k=8, ig_steps=16)
    b = explain_text(m, vocab=v, ids=v.encode("the movie was good").ids, top_k=8, ig_steps=16)
    assert a.tokens == b.tokens and np.array_equal(a.mask_bits, b.mask_bits)


@pytest.mark.parametrize("sigmoid", [True, False])
def test_single_score_head_is_read_as_two_logits(sigmoid):
    """A sigmoid (or single-logit) head becomes logits [0, z]: p(positive) is the model's sigmoid, and the
    full encoding's mask is minimal by brute force."""
    m, v = tiny_text_cnn(5, classes=1, sigmoid=sigmoid), tiny_vocab()
    sentence = "good movie the plot was fun"
    tm = cut_at_embedding(m)
    assert tm.head.startswith("sigmoid" if sigmoid else "single logit")
    out = float(_ort(m, v.encode(sentence).ids).reshape(-1)[0])
    p_pos = out if sigmoid else 1 / (1 + np.exp(-out))
    e = explain_text(m, sentence, vocab=v, encoding="full", ig_steps=16)
    assert e.certified and e.options["head"] == tm.head
    assert e.probability == pytest.approx(p_pos if e.label == 1 else 1 - p_pos, abs=1e-5)
    x = tm.embed(v.encode(sentence).ids)
    masks = _masks(len(e.tokens), 6)
    z = tm.network(x[None] * masks[:, None, :, None]).reshape(len(masks), 2)
    ok = (z[:, e.label] - z[:, 1 - e.label]) >= 0
    assert e.mask_size == int(masks[ok].sum(axis=1).min())


def test_model_without_integer_input_is_refused(tmp_path):
    from tests.attribution.helpers import tiny_cnn

    with pytest.raises(ModelError, match="integer token-id input"):
        cut_at_embedding(tiny_cnn(seed=1, h=4, w=4, filters=2))


def test_json_round_trip_and_files(tmp_path):
    from smugkit.text.explanation import TextExplanation

    e = explain_text(tiny_text_cnn(0), "the <b>good</b> movie", vocab=tiny_vocab(), top_k=8, ig_steps=16)
    files = e.save(tmp_path)
    back = TextExplanation.load(tmp_path)
    assert back.tokens == e.tokens and np.array_equal(back.saliency, e.saliency)
    page = files["html"].read_text()
    assert page.count("<span") == len(e.tokens)
    assert page.count("text-decoration:underline") == e.mask_size


def test_uncut_text_model_points_to_the_text_path():
    from smugkit.frontends import load_model

    with pytest.raises(ModelError, match="--text TEXT --vocab"):
        load_model(tiny_text_cnn(0)).first_layer()


def test_explanation_scores_through_the_metrics_registry():
    from smugkit.metrics import evaluate

    e = explain_text(tiny_text_cnn(0), "the movie was very good", vocab=tiny_vocab(), top_k=8, ig_steps=16)
    a = e.to_attribution()
    assert a.values.shape == (5,) and a.target == e.label
    s = evaluate(a, metric="rationale_auc", truth=[4])
    assert 0.0 <= s.value <= 1.0 and s.method == "smug"
    with pytest.raises(InputError):
        e.to_attribution("tokens")


def _installed_backends() -> list[str]:
    from smugkit.backends.registry import available_backends

    return sorted(available_backends())


@pytest.mark.parametrize("backend", _installed_backends())
def test_every_installed_backend_finds_the_brute_force_minimum_on_a_sentence(backend):
    """Both encodings on a 5-token sentence, per backend: the optimum equals the brute-force minimum."""
    m, v = tiny_text_cnn(0), tiny_vocab()
    sentence = "bad actors the bad plot"
    tm = cut_at_embedding(m)
    x = tm.embed(v.encode(sentence).ids)
    masks = _masks(5, 6)
    for encoding in ("first_layer", "full"):
        if encoding == "full" and backend in ("exact", "z3/pb", "cpsat"):
            with pytest.raises(ProblemError, match="no pseudo-Boolean form"):  # 0/1 rows only, no ReLU
                explain_text(
                    m, sentence, vocab=v, encoding=encoding, backend=backend, ig_steps=16, enumerate_bits=0
                )
            continue
        e = explain_text(  # enumerate_bits=0: the backend solves, not the small-mask enumeration
            m,
            sentence,
            vocab=v,
            top_k=12,
            ig_steps=16,
            encoding=encoding,
            backend=backend,
            timeout=30,
            enumerate_bits=0,
        )
        assert e.certified and e.status == "optimal", (encoding, e.status)
        if encoding == "full":
            logits = tm.network(x[None] * masks[:, None, :, None]).reshape(len(masks), -1)
            ok = logits[:, e.label] - np.delete(logits, e.label, axis=1).max(axis=1) >= 0
        else:
            pre = e.neurons["tensor"]
            z = tm.network.run(x[None] * masks[:, None, :, None], [pre])[pre].reshape(len(masks), -1)
            ok = np.all(z[:, e.neurons["constrained"]] >= np.asarray(e.neurons["thresholds"]) - 1e-9, axis=1)
        assert e.mask_size == int(masks[ok].sum(axis=1).min()), encoding


def test_text_explanations_carry_the_same_notes_as_images():
    """The shared solve-and-check stage says what the certificate covers, in tokens, and keeps it in JSON."""
    from smugkit.text import TextExplanation

    m, v = tiny_text_cnn(0), tiny_vocab()
    e = explain_text(m, "the movie was very good", vocab=v, top_k=12, ig_steps=16)
    assert any("first-layer neurons only" in n for n in e.notes)
    assert all("window" not in n for n in e.notes)
    assert "note: the certificate covers" in e.summary()
    assert TextExplanation.from_dict(e.to_dict()).notes == e.notes
    full = explain_text(m, "the movie was very good", vocab=v, encoding="full", ig_steps=16)
    assert any("logit margin" in n for n in full.notes)


def test_enumeration_skips_padding_and_matches_brute_force_on_a_longer_model():
    """A 30-token model with a 4-word sentence: only the 4 live tokens are enumerated (padding embeds to the
    mask value), so the full encoding is proved by enumeration, and the optimum is the brute-force one."""
    from smugkit.attribution.smug.enumerate import live_units
    from smugkit.units import make_tokens

    m, v = tiny_text_cnn(2, length=30), tiny_vocab(30)
    sentence = "bad actors not fun"
    e = explain_text(m, sentence, vocab=v, encoding="full", ig_steps=8)
    assert e.solution["backend"] == "enumeration" and e.status == "optimal" and e.certified
    assert e.padding_kept == 0
    tm = cut_at_embedding(m)
    x = tm.embed(v.encode(sentence).ids)
    assert live_units(x, make_tokens(x.shape), 0.0).tolist() == [0, 1, 2, 3]
    masks = _masks(4, 30)
    logits = tm.network(x[None] * masks[:, None, :, None]).reshape(len(masks), -1)
    margin = logits[:, e.label] - np.delete(logits, e.label, axis=1).max(axis=1)
    assert e.mask_size == int(masks[margin >= 0].sum(axis=1).min())
