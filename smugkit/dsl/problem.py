"""A constraint problem: declared variables, constraint blocks, ReLU definitions and one objective."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from smugkit.dsl.constraints import SENSES, Constraint
from smugkit.dsl.domains import Domain
from smugkit.dsl.expr import Affine
from smugkit.dsl.relu import ReluDef
from smugkit.dsl.variables import Var
from smugkit.errors import ProblemError

if TYPE_CHECKING:
    from smugkit.dsl.evaluate import Evaluation


@dataclass
class Objective:
    """``minimize`` or ``maximize`` a scalar affine expression."""

    sense: str  # "min" or "max"
    expr: Affine


@dataclass
class CompiledRelu:
    """One ReLU block over global columns: ``x[out] = max(R @ x + r, 0)`` with bounds on the argument."""

    name: str
    out: np.ndarray
    R: sp.csr_matrix
    r: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass
class Compiled:
    """The problem flattened over one column vector: ``A @ x (sense) b`` row-wise, plus ReLUs and objective."""

    variables: list[Var]
    offsets: dict[str, int]
    n: int
    domain: np.ndarray  # Domain per column (object array of Domain)
    lb: np.ndarray
    ub: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    sense: np.ndarray  # 0: <=, 1: <, 2: ==
    row_block: np.ndarray  # index of the constraint each row came from
    relus: list[CompiledRelu]
    obj: np.ndarray | None
    obj_const: float
    obj_sense: str | None
    block_names: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        """Number of rows."""
        return self.A.shape[0]

    @property
    def integral(self) -> np.ndarray:
        """Mask of columns with an integer domain."""
        return np.array([d.integral for d in self.domain], dtype=bool)

    def split(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """A flat column vector back to a per-variable assignment."""
        return {
            v.name: np.asarray(x[self.offsets[v.name] : self.offsets[v.name] + v.size]).reshape(v.shape)
            for v in self.variables
        }

    def join(self, assignment: dict[str, Any], dtype: Any = np.float64) -> np.ndarray:
        """A per-variable assignment to a flat column vector (every variable must be present)."""
        x = np.zeros(self.n, dtype=dtype)
        for v in self.variables:
            if v.name not in assignment:
                raise ProblemError(f"assignment misses variable {v.name!r} of shape {v.shape}")
            val = np.asarray(assignment[v.name], dtype=dtype)
            if val.size != v.size:
                raise ProblemError(
                    f"assignment of {v.name!r} has shape {val.shape}, the variable has shape {v.shape}"
                )
            o = self.offsets[v.name]
            x[o : o + v.size] = val.ravel()
        return x


class Problem:
    """Variables, constraints, ReLU definitions and an objective; solver-independent.

    Typical SMUG use::

        p = Problem("smug")
        m = p.binary("m", n_windows)
        p.add(C @ m >= t)               # C: (k, n_windows) scipy.sparse, t: (k,)
        p.minimize(m.sum())
    """

    def __init__(self, name: str = "problem") -> None:
        self.name = name
        self.vars: dict[str, Var] = {}
        self.constraints: list[Constraint] = []
        self.relus: list[ReluDef] = []
        self.objective: Objective | None = None
        self._compiled: Compiled | None = None

    # ----- variables ----------------------------------------------------------------------
    def var(
        self,
        name: str,
        shape: int | tuple[int, ...] = (),
        domain: Domain | str = Domain.REAL,
        lb: Any = None,
        ub: Any = None,
    ) -> Var:
        """Declare a new variable."""
        return self.declare(Var(name, shape, domain, lb, ub))

    def binary(self, name: str, shape: int | tuple[int, ...] = ()) -> Var:
        """Declare 0/1 integer variables (the usual mask bits)."""
        return self.var(name, shape, Domain.BINARY)

    def boolean(self, name: str, shape: int | tuple[int, ...] = ()) -> Var:
        """Declare propositional variables, read as 0/1 in arithmetic."""
        return self.var(name, shape, Domain.BOOL)

    def integer(self, name: str, shape: int | tuple[int, ...] = (), lb: Any = None, ub: Any = None) -> Var:
        """Declare integer variables with optional bounds."""
        return self.var(name, shape, Domain.INT, lb, ub)

    def real(self, name: str, shape: int | tuple[int, ...] = (), lb: Any = None, ub: Any = None) -> Var:
        """Declare real variables with optional bounds."""
        return self.var(name, shape, Domain.REAL, lb, ub)

    def declare(self, *variables: Var) -> Var:
        """Add existing Var objects (names must be unique); returns the last one."""
        for v in variables:
            if not isinstance(v, Var):
                raise ProblemError(f"declare expects Var objects, got {type(v).__name__}")
            known = self.vars.get(v.name)
            if known is v:
                continue
            if known is not None:
                raise ProblemError(
                    f"variable name {v.name!r} is already used by another variable in {self.name!r}"
                )
            if np.any(v.lb > v.ub):
                raise ProblemError(f"variable {v.name!r}: a lower bound exceeds its upper bound")
            self.vars[v.name] = v
            self._compiled = None
        return variables[-1]

    def _register(self, expr: Affine, what: str) -> None:
        """Check every variable of ``expr`` is declared; auto-declare ReLU outputs and their inputs' ReLUs."""
        for v in expr.terms:
            if self.vars.get(v.name) is v:
                continue
            if v.definition is None:
                raise ProblemError(
                    f"{what} uses unknown variable {v.name!r} of shape {v.shape}; declare it in {self.name!r} first"
                )
            self._register(v.definition.arg, f"relu {v.name!r}")
            self.declare(v)
            self.relus.append(v.definition)

    # ----- constraints and objective ------------------------------------------------------
    def add(self, *constraints: Constraint | Iterable[Constraint], name: str | None = None) -> Problem:
        """Add constraints (or iterables of them); returns the problem for chaining."""
        for c in constraints:
            if isinstance(c, Constraint):
                self._add_one(c, name)
            elif isinstance(c, (bool, np.bool_)):
                raise ProblemError("Problem.add got a bool: compare an expression, not plain numbers")
            elif isinstance(c, Iterable):
                self.add(*c, name=name)
            else:
                raise ProblemError(f"Problem.add expects constraints, got {type(c).__name__}")
        return self

    def _add_one(self, c: Constraint, name: str | None) -> None:
        label = name or c.name or f"c{len(self.constraints)}"
        self._register(c.expr, f"constraint {label!r}")
        self.constraints.append(Constraint(c.expr, c.sense, label))
        self._compiled = None

    def _set_objective(self, sense: str, expr: Any) -> None:
        e = Affine.lift(expr, "objective")
        if e.size != 1:
            raise ProblemError(f"objective must be a scalar expression, got shape {e.shape} (use .sum())")
        self._register(e, "objective")
        self.objective = Objective(sense, e.reshape(()))
        self._compiled = None

    def minimize(self, expr: Any) -> Problem:
        """Set the objective to minimise a scalar expression."""
        self._set_objective("min", expr)
        return self

    def maximize(self, expr: Any) -> Problem:
        """Set the objective to maximise a scalar expression."""
        self._set_objective("max", expr)
        return self

    # ----- views --------------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        """Total scalar constraints (ReLU definitions excluded)."""
        return sum(c.rows for c in self.constraints)

    @property
    def num_scalars(self) -> int:
        """Total scalar variables."""
        return sum(v.size for v in self.vars.values())

    def __repr__(self) -> str:
        obj = self.objective.sense if self.objective else "none"
        return (
            f"Problem({self.name!r}: {self.num_scalars} scalars in {len(self.vars)} vars, "
            f"{self.num_rows} rows, {len(self.relus)} relu blocks, objective={obj})"
        )

    def compile(self) -> Compiled:
        """The flattened column/row form that backends lower (cached until the problem changes)."""
        if self._compiled is None:
            self._compiled = _compile(self)
        return self._compiled

    def evaluate(self, assignment: dict[str, Any], exact: bool = False, tol: float = 1e-9) -> Evaluation:
        """Check a candidate assignment: bounds, integrality, every row, every ReLU; exact on request."""
        from smugkit.dsl.evaluate import evaluate

        return evaluate(self.compile(), assignment, exact=exact, tol=tol)

    def to_smtlib(self, **kwargs: Any) -> str:
        """SMT-LIB 2.6 text of the problem (see smugkit.dsl.smtlib.to_smtlib for options)."""
        from smugkit.dsl.smtlib import to_smtlib

        return to_smtlib(self, **kwargs)


def _globalise(expr: Affine, offsets: dict[str, int], n: int) -> sp.csr_matrix:
    """Stack an expression's per-variable matrices into one (rows x n) matrix over global columns."""
    rows = expr.size
    if not expr.terms:
        return sp.csr_matrix((rows, n))
    coo = [m.tocoo() for m in expr.terms.values()]
    r = np.concatenate([c.row for c in coo])
    col = np.concatenate([c.col + offsets[v.name] for c, v in zip(coo, expr.terms)])
    d = np.concatenate([c.data for c in coo])
    out = sp.csr_matrix((d, (r, col)), shape=(rows, n))
    out.sum_duplicates()
    out.eliminate_zeros()
    return out


def _compile(p: Problem) -> Compiled:
    """Flatten a Problem; raises ProblemError for an empty problem."""
    if not p.vars:
        raise ProblemError(f"problem {p.name!r} is empty: it has no variables")
    if not p.constraints and p.objective is None:
        raise ProblemError(f"problem {p.name!r} is empty: no constraints and no objective")
    variables = list(p.vars.values())
    offsets, n = {}, 0
    for v in variables:
        offsets[v.name] = n
        n += v.size
    domain = np.empty(n, dtype=object)
    for v in variables:
        domain[offsets[v.name] : offsets[v.name] + v.size] = v.domain
    lb = np.concatenate([v.lb.ravel() for v in variables])
    ub = np.concatenate([v.ub.ravel() for v in variables])
    blocks, rhs, senses, owner = [], [], [], []
    for i, c in enumerate(p.constraints):
        blocks.append(_globalise(c.expr, offsets, n))
        rhs.append(-c.expr.const)
        senses.append(np.full(c.rows, SENSES.index(c.sense), dtype=np.int8))
        owner.append(np.full(c.rows, i, dtype=np.int64))
    A = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n))
    b = np.concatenate(rhs) if rhs else np.zeros(0)
    sense = np.concatenate(senses) if senses else np.zeros(0, dtype=np.int8)
    row_block = np.concatenate(owner) if owner else np.zeros(0, dtype=np.int64)
    relus = [
        CompiledRelu(
            d.out.name,
            np.arange(offsets[d.out.name], offsets[d.out.name] + d.out.size),
            _globalise(d.arg, offsets, n),
            d.arg.const.copy(),
            d.lo,
            d.hi,
        )
        for d in p.relus
    ]
    if p.objective is not None:
        row = _globalise(p.objective.expr.reshape((1,)), offsets, n)
        obj, obj_const, obj_sense = row.toarray().ravel(), float(p.objective.expr.const[0]), p.objective.sense
    else:
        obj, obj_const, obj_sense = None, 0.0, None
    return Compiled(
        variables,
        offsets,
        n,
        domain,
        lb,
        ub,
        sp.csr_matrix(A),
        b,
        sense,
        row_block,
        relus,
        obj,
        obj_const,
        obj_sense,
        [c.name or "" for c in p.constraints],
    )
