"""`smugkit evaluate` on text models: token scores checked against onnxruntime, rationale metrics, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from smugkit.cli import main
from smugkit.errors import InputError
from smugkit.evaluation.text import evaluate_text, load_text_data
from smugkit.text.explain import text_model
from tests.text.tiny import tiny_text_cnn, tiny_vocab

SENTENCES = [
    {"text": "the movie was very good", "label": 1, "rationale": [4]},
    {"text": "bad plot and bad actors", "label": 0, "rationale": [0, 3]},
    {"text": "not fun", "label": 0, "rationale": [0, 1]},
    {"ids": [3, 2, 6], "label": 1, "rationale": [2]},
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_text")
    proto = tiny_text_cnn(seed=3)
    path = folder / "tiny.onnx"
    onnx.save(proto, path)
    vocab = tiny_vocab()
    vocab.save(folder / "vocab.json")
    data = folder / "data.jsonl"
    data.write_text("\n".join(json.dumps(s) for s in SENTENCES))
    return path, vocab, data


def _probs(path, ids: np.ndarray) -> np.ndarray:
    """Softmax of the un-cut model's scores, one id row at a time (the model's batch is 1)."""
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rows = np.asarray(ids, dtype=np.int64).reshape(-1, ids.shape[-1])
    z = np.concatenate([s.run(None, {"ids": r[None]})[0] for r in rows])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _pairwise_auc(scores, truth) -> float:
    pos, neg = scores[truth], scores[~truth]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def test_token_scores_match_onnxruntime_and_metrics_match_a_pairwise_auc(tiny, tmp_path):
    path, vocab, data_file = tiny
    tm = text_model(path, vocab)
    data = load_text_data(data_file)
    res = evaluate_text(tm, vocab, data, ["occlusion", "ig"], ["rationale_auc"], tmp_path, pictures=False)
    rows = {(r["item"], r["method"]): r for r in res["rows"]}
    for i, item in enumerate(data.items):
        enc, _ = item.encode(vocab)
        n = enc.n
        # occlusion: zeroing a token's embedding is the padding id (its row is zero) on the un-cut model
        variants = np.repeat(enc.ids[None], n + 1, axis=0)
        variants[np.arange(1, n + 1), np.arange(n)] = vocab.pad_id
        p = _probs(path, variants)
        target = int(p[0].argmax())
        occ = rows[(i, "occlusion")]
        assert occ["target"] == target
        np.testing.assert_allclose(occ["scores"], p[0, target] - p[1:, target], atol=1e-5)
        # IG from the zero embedding (all padding) is complete: its token scores sum to the probability gap
        blank = _probs(path, np.full((1, vocab.length), vocab.pad_id))[0, target]
        assert sum(rows[(i, "ig")]["scores"]) == pytest.approx(
            p[0, target] - blank, abs=1e-2
        )  # quadrature error
        truth = item.truth(n)
        if truth.any() and not truth.all():
            expected = _pairwise_auc(np.asarray(occ["scores"]), truth)
            assert occ["metrics"]["rationale_auc"] == pytest.approx(expected)


def test_smug_rows_are_certified_masks_over_real_tokens(tiny, tmp_path):
    path, vocab, data_file = tiny
    tm = text_model(path, vocab)
    data = load_text_data(data_file, n=3)
    res = evaluate_text(
        tm,
        vocab,
        data,
        ["smug", "smug_base"],
        ["rationale_auc", "rationale_max_f1"],
        tmp_path,
        pictures=False,
    )
    for r in res["rows"]:
        assert len(r["scores"]) == len(r["tokens"])
        if r["method"] == "smug":
            d = r["diagnostics"]
            assert d["certified"] and d["status"] == "optimal"
            assert sum(r["mask_bits"]) == d["mask_size"] and len(r["mask_bits"]) == len(r["tokens"])
    assert "smug" in (tmp_path / "examples.html").read_text()


def test_a_rerun_resumes_without_running_finished_rows(tiny, tmp_path, monkeypatch):
    path, vocab, data_file = tiny
    tm = text_model(path, vocab)
    first = evaluate_text(
        tm, vocab, load_text_data(data_file, n=2), ["occlusion"], ["rationale_auc"], tmp_path
    )
    import smugkit.evaluation.text as et

    def boom(*a, **k):
        raise AssertionError("a finished row ran again")

    monkeypatch.setattr(et, "token_scores", boom)
    again = evaluate_text(
        tm, vocab, load_text_data(data_file, n=2), ["occlusion"], ["rationale_auc"], tmp_path
    )
    assert again["table"] == first["table"]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) >= 2


def test_sentences_without_a_rationale_say_so_and_long_texts_warn(tiny, tmp_path):
    path, vocab, _ = tiny
    f = tmp_path / "d.json"
    long_text = " ".join(["good"] * (vocab.length + 3))
    f.write_text(json.dumps({"items": [{"text": "the plot"}, {"text": long_text, "rationale": [0]}]}))
    res = evaluate_text(
        text_model(path, vocab), vocab, load_text_data(f), ["occlusion"], ["rationale_auc"], tmp_path / "o"
    )
    r0, r1 = res["rows"]
    assert r0["errors"]["rationale_auc"] == "the data has no ground truth"
    assert r1["truncated"] == 3 and "dropped" in r1["warnings"][0]


@pytest.mark.parametrize(
    "content, message",
    [
        ('[{"label": 1}]', "exactly one of 'text'"),
        ('[{"text": "good", "ids": [2]}]', "exactly one of 'text'"),
        ('[{"text": 5}]', "'text' must be a string"),
        ('[{"text": "good", "rationale": [-1]}]', "token positions"),
        ('[{"text": "good", "label": "pos"}]', "'label' must be an integer"),
        ('{"items": 3}', "expected a list"),
        ("not json", "cannot read"),
        ("[]", "no sentences"),
    ],
)
def test_bad_text_data_is_a_typed_error_naming_the_item(tmp_path, content, message):
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(InputError, match=message):
        load_text_data(f)


def test_cli_evaluate_on_a_text_model_file_and_on_the_bundled_one(tiny, tmp_path, capsys):
    path, _, data_file = tiny
    args = ["--quiet", "evaluate", "--model", str(path), "--vocab", str(path.parent / "vocab.json")]
    assert (
        main(
            [
                *args,
                "--data",
                str(data_file),
                "--methods",
                "occlusion,ig",
                "--no-pictures",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "4 sentences" in out and "rationale_max_f1" in out and "occlusion" in out
    assert (
        main(
            [
                "--quiet",
                "evaluate",
                "--model",
                "text_cnn",
                "-n",
                "2",
                "--methods",
                "smug,occlusion",
                "--no-pictures",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    table = json.loads((tmp_path / "b" / "table.json").read_text())["table"]
    smug_auc = next(t for t in table if t["method"] == "smug" and t["metric"] == "rationale_auc")
    assert smug_auc["n"] == 2 and 0.0 <= smug_auc["mean"] <= 1.0
    assert main(["--quiet", "evaluate", "--model", str(path), "--vocab", str(tmp_path / "nope.json")]) == 2
    assert "vocabulary file not found" in capsys.readouterr().err
