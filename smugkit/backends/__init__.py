"""Pluggable solver backends (z3, z3/pb, cvc5, pysmt:<solver>, highs, scip, exact, portfolio, smtlib), one
registry and one ``solve``.

Defaults, chosen from ``python benchmarks/backends.py`` on this machine kind (2 cores):

- ``DEFAULT_BACKEND`` is ``highs`` when highspy is installed: it proved optima on SMUG-shaped 0/1 problems
  up to 3136 bits in milliseconds to seconds where every SMT configuration ran out of a 10 s budget.
- SMT backends use 0/1 Int mask bits and binary search on ``sum(m) <= K`` (Bool+ite and linear searches
  were never better), started from a greedy 0/1 mask; z3 uses a fresh solver per check (its incremental
  core was 10-100x slower and its ``push`` cannot be interrupted); cvc5 uses push/pop, each check in a
  forked child killed at the deadline.
- z3 takes ``encoding="auto"``: pure 0/1 problems go in as pseudo-Boolean rows minimised by z3's MaxSAT
  engine (it proves the 196-bit demo, which bisection over linear arithmetic never did); others as before.
"""

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
