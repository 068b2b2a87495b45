"""The bundled text model (`text_cnn`), its vocabulary and manifest, read from ``smugkit/zoo``.

The files are produced by ``python -m smugkit.zoo.train_text``; this module imports no training library.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from smugkit.errors import InputError
from smugkit.zoo import ZOO_DIR

MANIFEST = ZOO_DIR / "text_manifest.json"


@lru_cache(maxsize=1)
def _manifest() -> dict:
    if not MANIFEST.is_file():
        raise InputError(f"text model manifest not found at {MANIFEST}; run python -m smugkit.zoo.train_text")
    return json.loads(MANIFEST.read_text())


def text_manifest() -> dict:
    """A copy of the text zoo manifest: data set, split, and per model its files, accuracy and sha256."""
    return json.loads(json.dumps(_manifest()))


def _entry(name: str) -> dict:
    models = _manifest()["models"]
    if name not in models:
        raise InputError(f"unknown text model {name!r}; known: {', '.join(sorted(models))}")
    return models[name]


def text_model_path(name: str = "text_cnn") -> Path:
    """The ONNX file of a bundled text model."""
    return ZOO_DIR / _entry(name)["file"]


def text_vocab_path(name: str = "text_cnn") -> Path:
    """The vocabulary JSON of a bundled text model."""
    return ZOO_DIR / _entry(name)["vocab"]


def text_labels(name: str = "text_cnn") -> list[str]:
    """The class names of a bundled text model, by output index."""
    return list(_entry(name)["labels"])
