"""The bundled text CNN: certified explanations, planted-set localisation, the bench text suite, the CLI."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from smugkit.cli import main
from smugkit.metrics.rationale import localisation_auc
from smugkit.text import Vocabulary, explain_text, planted
from smugkit.text.explain import text_model
from smugkit.text.zoo import text_labels, text_manifest, text_model_path, text_vocab_path


@pytest.fixture(scope="module")
def bundled():
    vocab = Vocabulary.load(text_vocab_path())
    return text_model(text_model_path(), vocab), vocab


def test_manifest_matches_the_files(bundled):
    import hashlib

    entry = text_manifest()["models"]["text_cnn"]
    assert hashlib.sha256(text_model_path().read_bytes()).hexdigest() == entry["sha256"]
    tm, vocab = bundled
    assert len(vocab) == entry["vocab_size"] and tm.length == vocab.length
    assert text_labels() == ["negative", "positive"]


def test_bundled_cut_matches_onnxruntime_on_planted_sentences(bundled):
    tm, vocab = bundled
    ids = np.stack([vocab.encode(it.text).ids for it in planted.load()[:8]])
    s = ort.InferenceSession(str(text_model_path()), providers=["CPUExecutionProvider"])
    ref = s.run(None, {"ids": ids})[0]
    got = tm.network(np.stack([tm.embed(i) for i in ids]).reshape(8, tm.length, tm.dim))
    np.testing.assert_allclose(got.reshape(ref.shape), ref, rtol=1e-4, atol=1e-4)


def test_planted_words_are_found_better_than_chance(bundled):
    """SMUG's token scores rank the planted sentiment words above the rest (mean AUC over 8 sentences)."""
    tm, vocab = bundled
    aucs = []
    for it in planted.load()[::8]:
        e = explain_text(tm, it.text, vocab=vocab, ig_steps=50)
        assert e.certified and e.exact_check["holds"]
        aucs.append(localisation_auc(e.saliency, it.truth(len(e.tokens))))
    assert np.nanmean(aucs) > 0.5


def test_bench_text_suite_instance_solves_and_certifies(tmp_path):
    from smugkit.attribution.smug.certify import model_runner
    from smugkit.bench import SUITES
    from smugkit.bench.runner import backend_solver, check_mask, prepare

    spec = next(s for s in SUITES["text"] if s.encoding == "first_layer")
    p = prepare(spec, tmp_path)
    assert p.windows.kind == "token" and p.windows.count == 24
    got = backend_solver("highs")(p, 30.0, 0)
    ref = backend_solver("reference")(p, 30.0, 0)
    assert got["status"] == ref["status"] == "optimal" and got["objective"] == ref["objective"]
    fl = p.net.first_layer()
    check = check_mask(p, got["mask"], model_runner(p.net, [fl.pre, p.net.output.name]))
    assert check["exact_ok"] and check["certified"]


def test_cli_demo_text_and_explain_with_ids(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["--quiet", "demo", "--task", "text", "--ig-steps", "40", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "d" / "explanation.json").read_text())
    assert record["label_name"] == "negative" and record["certificate"]["holds"]
    assert "[" in out.splitlines()[1] and (tmp_path / "d" / "explanation.html").is_file()
    vocab = Vocabulary.load(text_vocab_path())
    (tmp_path / "ids.json").write_text(json.dumps(vocab.encode("great flight").ids.tolist()))
    rc = main(
        [
            "--quiet",
            "explain",
            str(text_model_path()),
            str(tmp_path / "ids.json"),
            "--vocab",
            str(text_vocab_path()),
            "--ig-steps",
            "40",
            "--out",
            str(tmp_path / "e"),
        ]
    )
    assert rc == 0
    assert json.loads((tmp_path / "e" / "explanation.json").read_text())["tokens"] == ["great", "flight"]


def test_cli_text_errors_are_one_line(capsys):
    assert main(["explain", str(text_model_path()), "--text", "good"]) == 2
    assert "--vocab" in capsys.readouterr().err
    assert main(["explain", str(text_model_path()), "--text", " ", "--vocab", str(text_vocab_path())]) == 2
    assert "no tokens" in capsys.readouterr().err
