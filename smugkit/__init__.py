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


def explain_many(model, inputs, out, config=None, **options):
    """SMUG explanations of many inputs, resumable: see `smugkit.run.batch.explain_many`."""
    from smugkit.run.batch import explain_many as run

    return run(model, inputs, out, config, **options)


def attribute_many(model, inputs, out, **options):
    """Attributions of many inputs, resumable: see `smugkit.run.batch.attribute_many`."""
    from smugkit.run.batch import attribute_many as run

    return run(model, inputs, out, **options)


def plot_grid(results, **options):
    """Many explanations or attributions (or a batch result) in one figure, one row of panels each."""
    from smugkit.attribution.panel import plot_grid as grid

    return grid(results.results() if hasattr(results, "results") else results, **options)


__all__ = [
    "InputError",
    "ModelError",
    "SmugkitError",
    "SolverError",
    "SolverUnavailable",
    "UnsupportedOpError",
    "__version__",
    "attribute",
    "attribute_many",
    "explain",
    "explain_many",
    "plot_grid",
]
