"""One exception hierarchy for smugkit; every message names the file, node, op or shape involved."""

from __future__ import annotations


class SmugkitError(Exception):
    """Base class of every error smugkit raises on purpose."""


class ModelError(SmugkitError):
    """The model file or graph is unreadable, invalid or inconsistent."""


class UnsupportedOpError(ModelError):
    """The model uses ops the IR does not support; `ops` maps each op type to its node names."""

    def __init__(self, ops: dict[str, list[str]], source: str = "model") -> None:
        self.ops = {k: list(v) for k, v in ops.items()}
        parts = [
            f"{op} (nodes: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
            for op, names in sorted(self.ops.items())
        ]
        super().__init__(f"{source}: unsupported ONNX ops: " + "; ".join(parts))


class InputError(SmugkitError):
    """A user-supplied value (array, option, file) is malformed: wrong shape, non-finite, out of range."""


class ProblemError(SmugkitError):
    """A constraint problem is malformed: mismatched shapes, non-finite coefficients, unknown variables."""


class SolverError(SmugkitError):
    """A solver failed in a way that is not a normal status."""


class SolverUnavailable(SolverError):
    """The requested solver backend is not installed or not known."""


class GradientError(SmugkitError):
    """A gradient or attribution cannot be computed as asked."""


class ResourceError(SmugkitError):
    """An input or model would need more memory than the limit allows (see `smugkit.guard`)."""
