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

__all__ = ["ZOO_DIR", "list_models", "manifest", "model_path", "sample_inputs"]

ZOO_DIR = Path(__file__).resolve().parent
_RESOLUTIONS = (8, 28)


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
    """Twenty test-split digits as float32 (20,1,R,R) images in [0, 1] with their int64 labels; R is 8 or 28."""
    if resolution not in _RESOLUTIONS:
        raise InputError(f"sample_inputs: resolution must be one of {_RESOLUTIONS}, got {resolution!r}")
    images = np.load(ZOO_DIR / f"digits{resolution}_samples.npy")
    labels = np.load(ZOO_DIR / "digits_samples_labels.npy")
    return images, labels
