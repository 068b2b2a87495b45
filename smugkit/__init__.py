"""smugkit: formally minimal input regions that explain neural-network predictions."""

from __future__ import annotations

__version__ = "0.1.0"

from smugkit.errors import (
    InputError,
    ModelError,
    SmugkitError,
    SolverError,
    SolverUnavailable,
    UnsupportedOpError,
)


def explain(model, x, config=None, **options):
    """Explain ``model``'s prediction on ``x`` with SMUG: see `smugkit.attribution.smug.explain`."""
    from smugkit.attribution.smug import explain as smug_explain

    return smug_explain(model, x, config, **options)


def attribute(model, x, *, method: str = "integrated_gradients", target=None, **options):
    """Attribute ``model``'s output on ``x`` with a registered method: see `smugkit.attribution.attribute`."""
    from smugkit.attribution import attribute as run_method

    return run_method(model, x, method=method, target=target, **options)


__all__ = [
    "InputError",
    "ModelError",
    "SmugkitError",
    "SolverError",
    "SolverUnavailable",
    "UnsupportedOpError",
    "__version__",
    "attribute",
    "explain",
]
