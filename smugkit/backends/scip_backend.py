"""SCIP through pyscipopt (the ``[scip]`` extra): a second MILP solver on HiGHS's solve path.

Same model (problem rows, ReLUs by big-M from interval bounds), same exact re-check with margin repair, same
optional exact certificate (``certify=...``) and enumeration by nogoods: only the model differs. The pip
wheel of SCIP 10 is built without its exact rational mode (``enableExactSolving`` fails), so SCIP works in
floats like HiGHS and every answer is re-checked exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from smugkit.backends.base import Budget, watchdog
from smugkit.backends.highs_backend import HighsBackend, relu_rows
from smugkit.backends.objective import ObjectiveSpec
from smugkit.dsl.problem import Compiled


def _scip():
    """Import pyscipopt lazily."""
    import pyscipopt

    return pyscipopt


class _ScipModel:
    """One SCIP model of a compiled problem, re-solvable with row margins and nogoods."""

    def __init__(
        self,
        c: Compiled,
        spec: ObjectiveSpec | None,
        seed: int,
        strict_margin: float,
        budget: Budget | None = None,
    ) -> None:
        scip = _scip()
        self.budget = budget
        self.c = c
        self.m = m = scip.Model()
        m.hideOutput()
        m.setParam("randomization/randomseedshift", int(seed) % 2**31)
        m.setParam("limits/gap", 0.0)
        m.setParam("numerics/feastol", 1e-9)  # HiGHS-like strictness: fewer masks fail the exact re-check
        R, rlo, rhi, n_d, dlo, dhi = relu_rows(c)
        self.n_total = c.n + n_d
        lb = np.concatenate([c.lb, dlo])
        ub = np.concatenate([c.ub, dhi])
        integ = np.concatenate([c.integral, np.ones(n_d, dtype=bool)])
        self.vars = [
            m.addVar(
                name=f"c{j}",
                vtype="I" if integ[j] else "C",
                lb=None if np.isneginf(lb[j]) else float(lb[j]),
                ub=None if np.isposinf(ub[j]) else float(ub[j]),
            )
            for j in range(self.n_total)
        ]
        if spec is not None:
            coefs = np.asarray(spec.coefs, dtype=np.float64) / spec.scale if spec.integral else spec.coefs
            m.setObjective(
                scip.quicksum(float(a) * self.vars[j] for a, j in zip(coefs, spec.cols.tolist())), "minimize"
            )
        A = c.A.tocsr()
        self.scale = np.maximum(
            1.0, np.maximum(np.abs(c.b), abs(A).max(axis=1).toarray().ravel() if c.m else np.zeros(0))
        )
        self.strict_margin = strict_margin
        self.rows = [self._row(A, i, -np.inf, float(c.b[i])) for i in range(c.m)]
        if R.shape[0]:
            R = sp.csr_matrix(R)
            for i in range(R.shape[0]):
                self._row(R, i, float(rlo[i]), float(rhi[i]))
        self._margin: float | None = None
        self.set_margin(0.0)

    def _row(self, A: sp.csr_matrix, i: int, lo: float, hi: float) -> Any:
        if self.budget is not None and i % 256 == 0:  # term by term in Python: a whole CNN takes seconds
            self.budget.check("building the SCIP model")
        s, e = A.indptr[i], A.indptr[i + 1]
        expr = self._scip_sum(A.indices[s:e].tolist(), A.data[s:e].tolist())
        return self.m.addCons(_ranged(expr, lo, hi))

    def _scip_sum(self, cols: list[int], coefs: list[float]) -> Any:
        return _scip().quicksum(float(a) * self.vars[j] for j, a in zip(cols, coefs))

    def set_margin(self, margin: float) -> None:
        """Shift the inequality rows inward by ``margin`` (relative to each row's scale)."""
        if margin == self._margin:
            return
        self.m.freeTransform()
        c = self.c
        shift = (margin + np.where(c.sense == 1, self.strict_margin, 0.0)) * self.scale
        for i, cons in enumerate(self.rows):
            if c.sense[i] == 2:
                self.m.chgLhs(cons, float(c.b[i]))
                self.m.chgRhs(cons, float(c.b[i]))
            else:
                self.m.chgRhs(cons, float(c.b[i] - shift[i]))
        self._margin = margin

    def set_start(self, x: np.ndarray) -> None:
        """Warm-start from columns ``x`` (ReLU indicator columns left to SCIP)."""
        sol = self.m.createPartialSol()
        for j in range(self.c.n):
            self.m.setSolVal(sol, self.vars[j], float(x[j]))
        self.m.addSol(sol)

    def add_nogood(self, x: np.ndarray, cols: np.ndarray) -> None:
        """Exclude the 0/1 values of ``x`` on ``cols``."""
        self.m.freeTransform()
        v = np.rint(x[cols])
        coef = np.where(v > 0.5, -1.0, 1.0)
        self.m.addCons(self._scip_sum(cols.tolist(), coef.tolist()) >= 1.0 - float(v.sum()))

    def run(self, seconds: float) -> tuple[str, np.ndarray | None, float | None]:
        """Solve; returns (status, columns, dual bound)."""
        m = self.m
        m.freeTransform()
        m.setParam("limits/time", max(0.01, float(seconds)))
        with watchdog(seconds + 0.05, m.interruptSolve):
            m.optimize()
        st = m.getStatus()
        x = None
        if m.getNSols() > 0:
            best = m.getBestSol()
            x = np.array([m.getSolVal(best, v) for v in self.vars[: self.c.n]])
        bound = m.getDualbound() if st != "infeasible" else None
        bound = bound if bound is not None and np.isfinite(bound) else None
        if st == "optimal" and x is not None:
            return "optimal", x, bound
        if st == "infeasible":
            return "infeasible", None, None
        return ("feasible" if x is not None else "unknown"), x, bound


def _ranged(expr: Any, lo: float, hi: float) -> Any:
    """``lo <= expr <= hi`` (either side may be infinite)."""
    if np.isneginf(lo):
        return expr <= hi
    if np.isposinf(hi):
        return expr >= lo
    if lo == hi:
        return expr == hi
    return (lo <= expr) <= hi


class ScipBackend(HighsBackend):
    """SCIP MILP (pyscipopt), floats re-checked exactly."""

    name = "scip"
    package = "pyscipopt"
    extra = "scip"

    def version(self) -> str:
        try:
            return str(_scip().Model().version())
        except ImportError as exc:
            raise self.unavailable_error(str(exc)) from None

    def make_model(
        self,
        c: Compiled,
        spec: ObjectiveSpec | None,
        seed: int,
        strict_margin: float,
        budget: Budget | None = None,
    ) -> Any:
        return _ScipModel(c, spec, seed, strict_margin, budget)
