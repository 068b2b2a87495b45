"""The backend registry: names to backend classes, availability rows, and the ``solve`` entry point.

To add a backend: one module with a `Backend` subclass that sets ``name``, ``package``, ``extra`` and
``capabilities`` and implements ``version()`` and ``run(ctx)`` (the solver's part of the template
``Backend.solve``; options it accepts go in ``option_choices`` / ``free_options``), plus one line in
``_REGISTRY`` below. The conformance corpus in tests/backends then runs against it.

A MILP backend with a prover is named ``highs+exact`` (the ``certify`` option): HiGHS finds the optimum K*,
the prover refutes ``objective <= K*-1`` in exact arithmetic. Provers are the exact backends and the
provers-only of ``_PROVERS``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from smugkit.backends.base import Backend
from smugkit.dsl.problem import Problem
from smugkit.dsl.solution import Solution
from smugkit.errors import InputError, ProblemError, SmugkitError, SolverUnavailable

# name -> "module:Class"; adding a backend is one module plus one line here
_REGISTRY: dict[str, str] = {
    "highs": "smugkit.backends.highs_backend:HighsBackend",
    "z3": "smugkit.backends.z3_backend:Z3Backend",
    "z3/pb": "smugkit.backends.z3_backend:Z3PbBackend",
    "cvc5": "smugkit.backends.cvc5_backend:Cvc5Backend",
    "pysmt:z3": "smugkit.backends.pysmt_backend:PysmtZ3",
    "pysmt:cvc5": "smugkit.backends.pysmt_backend:PysmtCvc5",
    "pysmt:yices": "smugkit.backends.pysmt_backend:PysmtYices",
    "smtlib": "smugkit.backends.smtlib_backend:SmtlibBackend",
    "exact": "smugkit.backends.exact_backend:ExactBackend",
    "scip": "smugkit.backends.scip_backend:ScipBackend",
    "cpsat": "smugkit.backends.cpsat_backend:CpsatBackend",
    "portfolio": "smugkit.backends.portfolio:PortfolioBackend",  # also portfolio:<a>;<b>;...
}
# provers only: they certify a MILP optimum (``certify=``) and do not solve on their own
_PROVERS: dict[str, str] = {
    "bnb": "smugkit.backends.bnb_prover:BnbProver",
    "auto": "smugkit.backends.auto_prover:AutoProver",
}
_CACHE: dict[str, Backend] = {}
_PROVER_CACHE: dict[str, Any] = {}


def split_hybrid(name: str) -> tuple[str, str | None]:
    """``"highs+exact"`` -> ``("highs", "exact")``; a name without a prover -> ``(name, None)``."""
    if name.startswith("portfolio") or "+" not in name:
        return name, None
    base, _, prover = name.partition("+")
    return base, prover


def backend_names() -> list[str]:
    """Every registered backend name (installed or not)."""
    return list(_REGISTRY)


def get_backend(name: str) -> Backend:
    """The backend object for ``name`` (for ``a+prover``: ``a``'s, once the pair is checked); unknown names
    raise SolverUnavailable listing the known ones."""
    base, prover = split_hybrid(name)
    if prover is not None:
        b = get_backend(base)
        if prover not in b.choices().get("certify", ()):
            raise SolverUnavailable(
                f"backend {name!r}: {base!r} takes no prover {prover!r}; "
                f"a MILP backend (highs, scip) takes one of {prover_names()}"
            )
        return b
    if name.startswith("portfolio:") and name not in _CACHE:
        from smugkit.backends.portfolio import PortfolioBackend, parse_members

        _CACHE[name] = PortfolioBackend(parse_members(name.partition(":")[2]))
    if name not in _REGISTRY and name not in _CACHE:
        raise SolverUnavailable(f"unknown backend {name!r}; known backends: {', '.join(_REGISTRY)}")
    if name not in _CACHE:
        module, cls = _REGISTRY[name].split(":")
        _CACHE[name] = getattr(importlib.import_module(module), cls)()
    return _CACHE[name]


def prover_names() -> list[str]:
    """What can prove a bound infeasible in exact arithmetic: SMT engines, ``prove_bound`` backends, provers."""
    from smugkit.backends.smt_common import SmtBackend

    backends = [
        n
        for n in _REGISTRY
        if isinstance(get_backend(n), SmtBackend) or hasattr(get_backend(n), "prove_bound")
    ]
    return [*backends, *_PROVERS]


def get_prover(name: str) -> Any:
    """The prover object for a name of `prover_names` (a backend, or a prover-only object)."""
    if name in _PROVERS:
        if name not in _PROVER_CACHE:
            module, cls = _PROVERS[name].split(":")
            _PROVER_CACHE[name] = getattr(importlib.import_module(module), cls)()
        return _PROVER_CACHE[name]
    return get_backend(name)


def describe_backends() -> list[dict[str, Any]]:
    """One row per backend: name, available, version, capabilities (names), strategies, reason if unavailable."""
    rows = []
    for name in _REGISTRY:
        b = get_backend(name)
        ok, reason = b.available()
        rows.append(
            {
                "name": name,
                "available": ok,
                "version": b.version() if ok else None,
                "capabilities": b.capabilities.names(),
                "strategies": list(b.capabilities.strategies),
                "default_strategy": b.default_strategy,
                "extra": b.extra,
                "reason": reason,
            }
        )
    return rows


def available_backends() -> list[str]:
    """Names of the backends whose solver loads here."""
    return [r["name"] for r in describe_backends() if r["available"]]


def _default_backend() -> str:
    """HiGHS when highspy is installed (fastest on every benchmark), else z3."""
    return "highs" if importlib.util.find_spec("highspy") is not None else "z3"


DEFAULT_BACKEND = _default_backend()


def solve(
    problem: Problem,
    backend: str | None = None,
    timeout: float | None = 60.0,
    strategy: str | None = None,
    num_solutions: int = 1,
    seed: int = 0,
    incumbent: dict[str, Any] | None = None,
    **options: Any,
) -> Solution:
    """Solve ``problem`` with ``backend`` within ``timeout`` wall-clock seconds; never raises on solver failure.

    Bad problems, options and unknown/missing backends raise ProblemError / InputError / SolverUnavailable;
    a solver crash or an 'unknown' answer comes back as a Solution with that status and a message.
    """
    if not isinstance(problem, Problem):
        raise ProblemError(f"solve expects a Problem, got {type(problem).__name__}")
    if num_solutions < 1:
        raise InputError(f"num_solutions must be >= 1, got {num_solutions}")
    if timeout is not None and not timeout > 0:
        raise InputError(f"timeout must be positive seconds or None, got {timeout}")
    prover = split_hybrid(backend or DEFAULT_BACKEND)[1]
    b = get_backend(backend or DEFAULT_BACKEND)
    if prover is not None:
        if options.get("certify", prover) != prover:
            raise InputError(
                f"backend {backend!r} names its prover; certify={options['certify']!r} contradicts it"
            )
        options = {**options, "certify": prover}
    version = b.version()  # raises SolverUnavailable with the install hint
    problem.compile()  # raises ProblemError for malformed problems before any solver work
    try:
        return b.solve(
            problem,
            timeout=timeout,
            strategy=strategy,
            num_solutions=num_solutions,
            seed=seed,
            incumbent=incumbent,
            options=options,
        )
    except SmugkitError:
        raise
    except Exception as exc:  # noqa: BLE001 - a solver crash is a status, not an exception
        return Solution(
            "unknown",
            backend=b.name,
            backend_version=version,
            strategy=strategy or "",
            options=dict(options),
            seed=seed,
            message=f"{type(exc).__name__}: {exc}",
        )
