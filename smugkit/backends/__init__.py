"""Pluggable solver backends (z3, cvc5, pysmt:<solver>, highs, smtlib), one registry and one ``solve``."""

from smugkit.backends.base import Backend, Budget, Capabilities
from smugkit.backends.registry import (
    DEFAULT_BACKEND,
    available_backends,
    backend_names,
    describe_backends,
    get_backend,
    solve,
)
from smugkit.dsl.solution import Solution

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "Budget",
    "Capabilities",
    "Solution",
    "available_backends",
    "backend_names",
    "describe_backends",
    "get_backend",
    "solve",
]
