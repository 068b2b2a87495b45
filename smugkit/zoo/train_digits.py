"""Train the bundled digits models on scikit-learn's load_digits and export them to ONNX.

Run from the repository root (needs the ``torch`` and ``sklearn`` extras)::

    python -m smugkit.zoo.train_digits [--out DIR]

Writes ``digits_{mlp8,cnn8,cnn28,mlp28}.onnx``, ``digits8_samples.npy``, ``digits28_samples.npy``,
``digits_samples_labels.npy`` and ``manifest.json`` next to this file (or into ``--out``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

SEED = 0
N_SAMPLES = 20
TEST_SIZE = 0.25
COMMAND = "python -m smugkit.zoo.train_digits"
PREPROCESSING = {8: "pixel/16 in [0,1]", 28: "pixel/16 in [0,1]; 28x28 bilinear upsampling"}


def load_data() -> dict[str, np.ndarray]:
    """Digits scaled to [0, 1] as (N,1,8,8) float32, split stratified into train and test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_SIZE, stratify=y, random_state=SEED)
    return {"x_train": x_tr, "x_test": x_te, "y_train": y_tr, "y_test": y_te}


TEST_SET = "digits_test.npz"


def write_test_set(data: dict[str, np.ndarray], path: Path) -> None:
    """The whole test split as raw 8x8 pixel values (uint8, 0..16) and labels: `smugkit.zoo.test_set` reads it."""
    raw = np.rint(data["x_test"] * 16.0).astype(np.uint8)
    np.savez_compressed(path, pixels=raw, labels=data["y_test"].astype(np.int64))


def upsample28(x: np.ndarray) -> np.ndarray:
    """Bilinear upsampling of (N,1,8,8) images to (N,1,28,28), clipped to [0, 1]."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        up = F.interpolate(torch.from_numpy(x), size=(28, 28), mode="bilinear", align_corners=False)
    return np.clip(up.numpy(), 0.0, 1.0).astype(np.float32)


def build(name: str) -> Any:
    """The torch module for one zoo model name."""
    from torch import nn

    if name == "digits_mlp8":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    if name == "digits_cnn8":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(16 * 4 * 4, 10),
        )
    if name == "digits_cnn28":
        return nn.Sequential(
            nn.Conv2d(1, 16, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 3 * 3, 10),
        )
    if name == "digits_mlp28":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    raise ValueError(f"unknown model {name!r}")


MODELS: dict[str, dict[str, int]] = {
    "digits_mlp8": {"resolution": 8, "epochs": 150},
    "digits_cnn8": {"resolution": 8, "epochs": 60},
    "digits_cnn28": {"resolution": 28, "epochs": 40},
    "digits_mlp28": {"resolution": 28, "epochs": 60},
}


def train(name: str, x_tr: np.ndarray, y_tr: np.ndarray, epochs: int) -> Any:
    """Adam with mini-batches of 64 and a fixed seed; returns the model in eval mode."""
    import torch

    torch.manual_seed(SEED)
    model = build(name)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    return model.eval()


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a torch model on numpy arrays."""
    import torch

    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return float((pred == y).mean())


def export(model: Any, resolution: int, path: Path) -> None:
    """TorchScript-based ONNX export (opset 17) with a dynamic batch axis, input "input", output "logits"."""
    import torch

    dummy = torch.zeros(1, 1, resolution, resolution)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is deprecated
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )


def check_export(model: Any, path: Path, x: np.ndarray) -> float:
    """Max abs difference between onnxruntime and torch on ``x``; raises if it is 1e-4 or more."""
    import onnx
    import onnxruntime as ort
    import torch

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"input": x})[0]
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - ref).max())
    if not diff < 1e-4:
        raise RuntimeError(f"{path.name}: onnxruntime differs from torch by {diff:.3g} on the samples")
    return diff


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Train, export, verify and describe all zoo models."""
    import onnx
    import sklearn
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)

    data = load_data()
    sets = {
        8: (data["x_train"], data["x_test"]),
        28: (upsample28(data["x_train"]), upsample28(data["x_test"])),
    }
    samples = {r: np.ascontiguousarray(sets[r][1][:N_SAMPLES], dtype=np.float32) for r in (8, 28)}
    labels = data["y_test"][:N_SAMPLES].astype(np.int64)
    np.save(out / "digits8_samples.npy", samples[8])
    np.save(out / "digits28_samples.npy", samples[28])
    np.save(out / "digits_samples_labels.npy", labels)
    write_test_set(data, out / TEST_SET)

    entries: dict[str, Any] = {}
    for name, cfg in MODELS.items():
        res = cfg["resolution"]
        x_tr, x_te = sets[res]
        t0 = time.perf_counter()
        model = train(name, x_tr, data["y_train"], cfg["epochs"])
        seconds = time.perf_counter() - t0
        acc = accuracy(model, x_te, data["y_test"])
        path = out / f"{name}.onnx"
        export(model, res, path)
        diff = check_export(model, path, samples[res])
        print(
            f"{name}: test accuracy {acc:.4f} ({len(x_te)} images), trained in {seconds:.1f}s, "
            f"onnxruntime vs torch max |diff| {diff:.2e}, {path.stat().st_size} bytes"
        )
        entries[name] = {
            "file": path.name,
            "input_name": "input",
            "output_name": "logits",
            "input_shape": ["N", 1, res, res],
            "num_classes": 10,
            "opset": 17,
            "exporter": "torch.onnx.export(dynamo=False)",
            "preprocessing": PREPROCESSING[res],
            "samples": f"digits{res}_samples.npy",
            "test_accuracy": round(acc, 4),
            "test_size": len(x_te),
            "epochs": cfg["epochs"],
            "seed": SEED,
            "training_command": COMMAND,
            "sha256": sha256(path),
        }

    manifest = {
        "dataset": "sklearn.datasets.load_digits (1797 8x8 images, pixel values 0..16)",
        "split": f"stratified train_test_split(test_size={TEST_SIZE}, random_state={SEED})",
        "samples": {
            "digits8": "digits8_samples.npy",
            "digits28": "digits28_samples.npy",
            "labels": "digits_samples_labels.npy",
            "count": N_SAMPLES,
            "source": f"first {N_SAMPLES} images of the test split",
        },
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
        },
        "models": entries,
    }
    if (out / "manifest.json").is_file():  # keep the models other scripts added (train_cluttered)
        old = json.loads((out / "manifest.json").read_text()).get("models", {})
        entries.update({k: v for k, v in old.items() if k not in MODELS})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
