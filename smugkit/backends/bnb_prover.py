"""``bnb``: an exact prover for a MILP optimum: LP branch and bound over exact integer rows (`bnb`).

HiGHS's LP (a core dependency) guides the search; every pruning is re-derived in exact integer arithmetic
and every model is re-checked on the exactly scaled rows, so its "no mask below K*" is a proof, with no extra
package. It is offered only as a prover (``solve(p, "highs", certify="bnb")``, the hybrid ``highs+bnb``), not
as a backend of its own: its incumbents are weak, and on the bundled demo it stopped at 35 (the optimum is
34) with an LP bound of 27 after 60 s, where a MILP solver finds 34 at once. Given K*, the cut-off prunes
every node whose exact bound reaches it.

The budget: the search checks the deadline at every node and each node's LP gets the time left as its HiGHS
time limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.pb_rows import PbProblem, check_integer_point, pb_problem, pb_unsupported
from smugkit.dsl.problem import Compiled
from smugkit.errors import SolverUnavailable

if TYPE_CHECKING:
    from smugkit.backends.bnb import BranchAndBound

PB_BITS = 20  # row coefficient size of the LP (outward rounding above it); models are re-checked exactly


class BnbProver:
    """Refutes ``objective <= K*-1`` (or finds a better mask) by exact LP branch and bound."""

    name = "bnb"

    def version(self) -> str:
        from smugkit.backends.highs_backend import _highspy

        try:
            h = _highspy().Highs()
        except ImportError as exc:
            msg = f"prover 'bnb' needs highspy: {exc} (install with: pip install highspy)"
            raise SolverUnavailable(msg) from None
        return f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()} LP"

    def unsupported(self, c: Compiled) -> str | None:
        why = pb_unsupported(c)
        if why is None and not (np.all(c.lb >= 0) and np.all(c.ub <= 1)):
            why = "branch and bound here needs 0/1 variables"
        return why

    def prove_bound(
        self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float, hint: np.ndarray | None = None
    ) -> tuple[str, Any]:
        """Whether ``objective <= value`` is satisfiable: ('unsat', None), ('sat', columns), ('optimal', columns)
        when those columns are also proved best, or ('unknown', why).

        Only points below ``value + 1`` are sought, so ``hint`` is not needed: the cut-off does its work."""
        pb = pb_problem(c)
        if pb.trivially_infeasible:
            return "unsat", None
        try:
            bb = branch_and_bound(pb, spec)
        except ValueError as exc:
            return "unknown", str(exc)
        return refute(bb, value, time.monotonic() + seconds)


def branch_and_bound(pb: PbProblem, spec: ObjectiveSpec) -> BranchAndBound:
    """The search over ``pb``'s rows at `PB_BITS` bits; ValueError if the objective is too big for it."""
    from smugkit.backends.bnb import BranchAndBound, int_rows

    return BranchAndBound(int_rows(pb, spec.cols, [int(a) for a in spec.coefs], PB_BITS), acceptor(pb))


def refute(bb: BranchAndBound, value: int, deadline: float) -> tuple[str, Any]:
    """`BnbProver.prove_bound`'s answer for ``objective <= value`` from the search ``bb``."""
    r = bb.solve(deadline, cutoff=int(value) + 1)
    if r.x is not None:  # a better mask; "optimal" once the rest of the tree is refuted too
        return ("optimal" if r.state == "optimal" else "sat"), r.x.astype(np.float64)
    if r.state == "infeasible":
        return "unsat", None
    return "unknown", f"stopped at the deadline after {r.nodes} nodes"


def acceptor(pb: PbProblem):
    """Whether a 0/1 point holds on the exact rows (the LP's rows may be rounded outward)."""
    return lambda x: check_integer_point(pb, x.tolist())
