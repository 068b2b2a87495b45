"""Shared test set-up: keep tools' caches out of $HOME and locate the third-party model folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_CACHE = tempfile.mkdtemp(prefix="smugkit-test-cache-")
os.environ.setdefault("MPLCONFIGDIR", _CACHE)

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models"


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """The third-party ONNX models folder (../shared/models), or skip when it is absent."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"third-party models not found at {SHARED_MODELS}")
    return SHARED_MODELS
