"""Small bundled ONNX models of scikit-learn's digits and sample inputs, for the demo, docs and tests.

The files are produced by ``python -m smugkit.zoo.train_digits`` (needs the ``torch`` extra); this module
only reads them and imports neither torch nor scikit-learn.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from smugkit.errors import InputError

__all__ = [
    "ZOO_DIR",
    "cluttered_test_set",
    "list_models",
    "manifest",
    "model_path",
    "model_samples",
    "sample_inputs",
    "test_set",
]

ZOO_DIR = Path(__file__).resolve().parent
_RESOLUTIONS = (8, 28, 40)  # 40: the cluttered digits
CLUTTERED_TEST = "cluttered_test.npz"


@lru_cache(maxsize=1)
def _manifest() -> dict[str, Any]:
    """The parsed manifest.json, read once."""
    path = ZOO_DIR / "manifest.json"
    if not path.is_file():
        raise InputError(f"model zoo manifest not found at {path}; run python -m smugkit.zoo.train_digits")
    return json.loads(path.read_text())


def manifest() -> dict[str, Any]:
    """A copy of the zoo manifest: dataset, split, samples, and per model file, shape, accuracy and sha256."""
    return json.loads(json.dumps(_manifest()))


def list_models() -> list[str]:
    """Names of the bundled models, sorted."""
    return sorted(_manifest()["models"])


def model_path(name: str) -> Path:
    """Path of the ONNX file of the bundled model ``name`` (e.g. ``"digits_cnn28"``)."""
    models = _manifest()["models"]
    if name not in models:
        raise InputError(f"unknown zoo model {name!r}; known models: {', '.join(sorted(models))}")
    path = ZOO_DIR / models[name]["file"]
    if not path.is_file():
        raise InputError(f"zoo model {name!r}: file {path} is missing")
    return path


def sample_inputs(resolution: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Twenty test-split digits as float32 (20,1,R,R) images in [0, 1] with their int64 labels; R is 8 or 28.

    R = 40 gives the first twenty cluttered digits of `cluttered_test_set`.
    """
    if resolution not in _RESOLUTIONS:
        raise InputError(f"sample_inputs: resolution must be one of {_RESOLUTIONS}, got {resolution!r}")
    if resolution == 40:
        x, y, _, _ = cluttered_test_set()
        return x[:20], y[:20]
    images = np.load(ZOO_DIR / f"digits{resolution}_samples.npy")
    labels = np.load(ZOO_DIR / "digits_samples_labels.npy")
    return images, labels


def upsample_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of ``(..., n, n)`` images to ``size`` (half-pixel centres, edges clamped), in [0, 1].

    The same interpolation as the training script's ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False)``, in numpy, so the package needs no torch to rebuild the 28x28 inputs.
    """
    n = images.shape[-1]
    src = np.maximum((np.arange(size) + 0.5) * (n / size) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(int), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = src - lo
    u = np.zeros((size, n))
    np.add.at(u, (np.arange(size), lo), 1.0 - frac)
    np.add.at(u, (np.arange(size), hi), frac)
    return np.clip(np.einsum("ij,...jk,lk->...il", u, images, u), 0.0, 1.0)


def test_set(resolution: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """The whole test split (450 digits) as float32 ``(450, 1, R, R)`` images in [0, 1] and int64 labels.

    Its first twenty images are `sample_inputs`; the models never saw any of them in training. R = 40 gives
    the cluttered digits' images and labels (`cluttered_test_set` has their boxes and masks too).
    """
    if resolution not in _RESOLUTIONS:
        raise InputError(f"test_set: resolution must be one of {_RESOLUTIONS}, got {resolution!r}")
    if resolution == 40:
        return cluttered_test_set()[:2]
    with np.load(ZOO_DIR / "digits_test.npz") as f:
        images, labels = f["pixels"].astype(np.float64) / 16.0, f["labels"]
    if resolution != 8:
        images = upsample_bilinear(images, resolution)
    return images.astype(np.float32), labels


def cluttered_test_set() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bundled cluttered-digits test set (one item per test digit, see `smugkit.zoo.cluttered`).

    Returns float32 ``(N, 1, 40, 40)`` images in [0, 1], int64 labels ``(N,)``, the digits' boxes ``(N, 4)``
    (top, left, bottom, right; bottom and right exclusive) and their pixel masks, bool ``(N, 40, 40)``.
    """
    path = ZOO_DIR / CLUTTERED_TEST
    if not path.is_file():
        raise InputError(f"cluttered test set not found at {path}; run python -m smugkit.zoo.train_cluttered")
    with np.load(path) as f:
        x = f["x"].astype(np.float32) / np.float32(255.0)
        return x, f["labels"], f["boxes"], f["masks"]


def model_samples(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The bundled samples (images, labels) that fit the zoo model ``name``'s input."""
    model_path(name)  # a typed error for an unknown name
    return sample_inputs(int(_manifest()["models"][name]["input_shape"][-1]))
