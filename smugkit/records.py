"""Result records: JSON-ready values and the versions that make a result reproducible."""

from __future__ import annotations

import platform

import numpy as np


def plain(v):
    """Numpy scalars and arrays nested in dicts, lists and tuples as JSON types (non-finite floats: None)."""
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def finite(v) -> float | None:
    """``v`` as a float, or None when it is missing or not finite."""
    return None if v is None or not np.isfinite(v) else float(v)


def versions(**extra) -> dict:
    """smugkit's, onnx's, onnxruntime's, numpy's and Python's versions, plus ``extra`` (e.g. the backend's)."""
    import onnx
    import onnxruntime

    import smugkit

    return {
        "smugkit": smugkit.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        **extra,
    }
