"""smugkit: formally minimal input regions that explain neural-network predictions."""

__version__ = "0.1.0"

from smugkit import explain  # callable: smugkit.explain(model, x, ...) runs SMUG
from smugkit.errors import (
    InputError,
    ModelError,
    SmugkitError,
    SolverError,
    SolverUnavailable,
    UnsupportedOpError,
)

__all__ = [
    "InputError",
    "ModelError",
    "SmugkitError",
    "SolverError",
    "SolverUnavailable",
    "UnsupportedOpError",
    "__version__",
    "explain",
]
