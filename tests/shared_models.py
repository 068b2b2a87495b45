"""The third-party models in ../shared/models/marabou, and the explicit list of those the frontend refuses.

Tests that run every shared model load it with `load_shared`: a model that is not on `REJECTED` must load (a
frontend regression fails the test instead of skipping it), and a model on `REJECTED` must still be refused
with the documented error (so the list stays true when support is added).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smugkit.errors import ModelError, UnsupportedOpError
from smugkit.frontends import load_model
from smugkit.ir import Network

MARABOU = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "marabou"
#: every shared model file (empty when the folder is absent)
FILES = sorted(MARABOU.rglob("*.onnx")) if MARABOU.is_dir() else []
#: models the frontend must refuse: the error type, a word its message must contain, and why
REJECTED: dict[str, tuple[type[ModelError], str, str]] = {
    "resize/resize_4dims.onnx": (UnsupportedOpError, "Resize", "Resize is not an IR op"),
    "layer-zoo/dropout_training_mode_true.onnx": (
        ModelError,
        "training_mode",
        "Dropout with training_mode=1 is random at inference",
    ),
}


def name_of(path: Path) -> str:
    """The model's path inside the marabou folder, as `REJECTED` spells it."""
    return path.relative_to(MARABOU).as_posix()


def expect_rejected(path: Path) -> None:
    """Assert that a model on `REJECTED` is refused with its documented error and message."""
    err, word, why = REJECTED[name_of(path)]
    with pytest.raises(err, match=word) as e:
        load_model(path)
    if err is UnsupportedOpError:
        assert word in e.value.ops, f"{name_of(path)} ({why}): unsupported ops are {sorted(e.value.ops)}"


def load_shared(path: Path) -> Network:
    """Load a shared model; one on `REJECTED` is checked to be refused as documented, then the test skips."""
    if name_of(path) in REJECTED:
        expect_rejected(path)
        pytest.skip(f"refused as documented: {REJECTED[name_of(path)][2]}")
    return load_model(path)
