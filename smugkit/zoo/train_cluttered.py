"""Build the cluttered-digits test set and train the bundled ``cluttered_cnn`` on fresh clutter, export ONNX.

Run from the repository root (needs the ``torch`` and ``sklearn`` extras)::

    python -m smugkit.zoo.train_cluttered [--out DIR] [--epochs N]

The digits and their train/test split are those of ``train_digits`` (stratified, seed 0). The test set is one
cluttered item per test digit (`smugkit.zoo.cluttered.make_cluttered`, seed ``TEST_SEED``, clutter from test
digits only); each training epoch draws new clutter around the training digits (seed ``TRAIN_SEED + epoch``).
Writes ``cluttered_cnn.onnx`` and ``cluttered_test.npz`` and adds the model to ``manifest.json`` (other
entries are kept).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from smugkit.zoo import cluttered
from smugkit.zoo.train_digits import SEED, check_export, export, load_data, sha256

NAME = "cluttered_cnn"
TEST_FILE = "cluttered_test.npz"
TEST_SEED = 0
TRAIN_SEED = 1000
COPIES = 4  # cluttered copies of each training digit per epoch
EPOCHS = 20
COMMAND = "python -m smugkit.zoo.train_cluttered"


def build() -> Any:
    """A strided 5x5 first layer (16 x 20 x 20 neurons for SMUG to rank), two conv + max-pool stages and a
    max over the last 5x5 grid, so the read-out sees the digit wherever it is (receptive field 33 pixels)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 5, stride=2, padding=2),  # 20x20
        nn.ReLU(),
        nn.MaxPool2d(2),  # 10x10
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 5x5
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(5),  # 1x1
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def write_test_set(items: cluttered.ClutteredDigits, path: Path) -> None:
    """Images as uint8 levels (exact: the generator quantises to 1/255), labels, boxes and masks."""
    np.savez_compressed(
        path,
        x=np.rint(items.x * cluttered.LEVELS).astype(np.uint8),
        labels=items.labels,
        boxes=items.boxes,
        masks=items.masks,
        sources=items.sources,
    )


def train(digits: np.ndarray, labels: np.ndarray, epochs: int, log=print, check=None) -> Any:
    """Adam, cosine schedule, mini-batches of 64; every epoch sees freshly cluttered training digits."""
    import torch

    torch.manual_seed(SEED)
    model = build()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        items = cluttered.make_cluttered(digits, labels, n=COPIES * len(digits), seed=TRAIN_SEED + epoch)
        xt, yt = torch.from_numpy(items.x), torch.from_numpy(items.labels)
        model.train()
        total = 0.0
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        extra = f", {check(model.eval())}" if check is not None and (epoch + 1) % 5 == 0 else ""
        log(f"epoch {epoch + 1}/{epochs}: train loss {total / len(xt):.4f}{extra}")
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    """Generate the test set, train, export, verify, and record the model in the manifest."""
    import onnx
    import sklearn
    import torch

    from smugkit.zoo.train_digits import accuracy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)

    data = load_data()
    test = cluttered.make_cluttered(data["x_test"], data["y_test"], seed=TEST_SEED)
    write_test_set(test, out / TEST_FILE)

    t0 = time.perf_counter()
    model = train(
        data["x_train"][:, 0],
        data["y_train"],
        args.epochs,
        check=lambda m: f"test accuracy {accuracy(m, test.x, test.labels):.4f}",
    )
    seconds = time.perf_counter() - t0
    acc = accuracy(model, test.x, test.labels)
    path = out / f"{NAME}.onnx"
    export(model, cluttered.CANVAS, path)
    diff = check_export(model, path, test.x[:20])
    print(
        f"{NAME}: test accuracy {acc:.4f} ({len(test)} images), trained in {seconds:.1f}s, "
        f"onnxruntime vs torch max |diff| {diff:.2e}, {path.stat().st_size} bytes"
    )
    c = cluttered
    entry = {
        "file": path.name,
        "input_name": "input",
        "output_name": "logits",
        "input_shape": ["N", 1, c.CANVAS, c.CANVAS],
        "num_classes": 10,
        "opset": 17,
        "exporter": "torch.onnx.export(dynamo=False)",
        "preprocessing": "pixel/255 in [0,1] (cluttered digits, see smugkit.zoo.cluttered)",
        "samples": f"{TEST_FILE} (first 20 items)",
        "test_set": TEST_FILE,
        "test_set_loader": "cluttered_test_set",
        "dataset": (
            f"sklearn load_digits, split as the digits models; each digit bilinear-upsampled to "
            f"{c.DIGIT_SIZE}x{c.DIGIT_SIZE} on a {c.CANVAS}x{c.CANVAS} canvas with {c.FRAGMENTS} "
            f"{c.FRAGMENT_SIZE}x{c.FRAGMENT_SIZE} fragments of other digits outside the digit's square; "
            f"test: one item per test digit, seed {TEST_SEED}; train: {COPIES} fresh items per training "
            f"digit per epoch, seed {TRAIN_SEED}+epoch; truth: the digit's pixel masks and tight boxes"
        ),
        "test_accuracy": round(acc, 4),
        "test_size": len(test),
        "epochs": args.epochs,
        "seed": SEED,
        "training_command": COMMAND,
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
        },
        "sha256": sha256(path),
    }
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"models": {}}
    manifest.setdefault("models", {})[NAME] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
