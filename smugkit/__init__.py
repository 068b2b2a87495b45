"""smugkit: formally minimal input regions that explain neural-network predictions."""

__version__ = "0.1.0"

from smugkit.errors import (  # noqa: E402
    InputError,
    ModelError,
    SmugkitError,
    SolverError,
    SolverUnavailable,
    UnsupportedOpError,
)

__all__ = [
    "__version__",
    "SmugkitError",
    "ModelError",
    "UnsupportedOpError",
    "InputError",
    "SolverError",
    "SolverUnavailable",
]
