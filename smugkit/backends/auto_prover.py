"""``auto``: the exact prover chosen per problem by its LP gap: `bnb` where the gap is small, Exact elsewhere.

The two exact provers fail in opposite places. `bnb` prunes on LP bounds: it closes a gap of a unit or two
even on 784 dense columns (4 of the 6 `dense` instances in 13-48 s), and a wide gap grows its tree past any
budget. Exact has no LP: it proves the local, sparse CNN rows whatever their LP gap, and stalls on dense
rows. On the 48 `digits` instances (20 s each), the gap between K* and the root LP bound told them apart:
the instances only `bnb` proved (dense `digits_mlp28` rows) had gaps of 1-2, those only Exact proved (CNN
first layers) gaps of 5 or more; both prove the small ones whatever the gap. So ``auto`` solves the root LP
(milliseconds) and hands the question to `bnb` when ``K* - ceil(LP) <= GAP``, else to Exact; `bnb` also when
Exact is not installed or declines the problem. The LP value only chooses; it proves nothing.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from smugkit.backends.bnb_prover import BnbProver, branch_and_bound, refute
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.pb_rows import pb_problem
from smugkit.dsl.problem import Compiled
from smugkit.errors import SolverUnavailable

if TYPE_CHECKING:
    from smugkit.backends.bnb import BranchAndBound

GAP = 3  # integer units between K* and the root LP bound up to which bnb is asked
_LP_SECONDS = 1.0  # at most this long (or a tenth of the budget) on the root LP that chooses


class AutoProver:
    """`bnb` on a small LP gap, Exact on a wide one (`bnb` when Exact is missing or declines)."""

    name = "auto"

    def __init__(self) -> None:
        self._choice = threading.local()  # one cached prover may serve several threads

    @property
    def last(self) -> str:
        """This thread's last choice and why, e.g. "bnb (LP gap 1 <= 3)", for the caller's message."""
        return getattr(self._choice, "text", "")

    def version(self) -> str:
        b = BnbProver().version()
        try:
            exact = f"Exact {_exact().version()}"
        except SolverUnavailable:
            exact = "no Exact (install smugkit[exact])"
        return f"bnb ({b}) + {exact}"

    def unsupported(self, c: Compiled) -> str | None:
        return BnbProver().unsupported(c)

    def choose(self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float) -> tuple[str, str]:
        """The prover for ``objective <= value`` (``value = K* - 1``) and why: 'bnb' or 'exact'."""
        return self._choose(c, spec, value, seconds)[:2]

    def _choose(
        self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float
    ) -> tuple[str, str, BranchAndBound | None]:
        """`choose`, and the search whose root LP chose (for bnb to go on from), when there was one."""
        ok, _ = _exact().available()
        if not ok:
            return "bnb", "Exact is not installed", None
        why = _exact().unsupported(c)
        if why:
            return "bnb", f"Exact declines: {why}", None
        try:
            bb = branch_and_bound(pb_problem(c), spec)
        except ValueError:
            return "exact", "no LP (objective too large for bnb)", None
        x = bb.relaxation(time.monotonic() + min(_LP_SECONDS, seconds / 10))
        if x is None:
            return "exact", "the root LP gave no value in time", None
        gap = int(value) + 1 - math.ceil(float(bb.rows.c @ x) - 1e-6)
        pick = "bnb" if gap <= GAP else "exact"
        return pick, f"LP gap {gap} {'<=' if pick == 'bnb' else '>'} {GAP}", bb

    def prove_bound(
        self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float, hint: np.ndarray | None = None
    ) -> tuple[str, Any]:
        """`prove_bound` of the chosen prover, within ``seconds`` in all; an 'unknown' names the choice."""
        deadline = time.monotonic() + seconds
        pick, why, bb = self._choose(c, spec, value, seconds)
        self._choice.text = f"{pick} ({why})"
        if bb is not None and pick == "bnb":  # go on from the LP that chose
            ans, out = refute(bb, value, deadline)
        else:
            prover = BnbProver() if pick == "bnb" else _exact()
            ans, out = prover.prove_bound(c, spec, value, max(deadline - time.monotonic(), 0.01), hint)
        if ans == "unknown":
            out = f"{self.last}: {out}"
        return ans, out


def _exact() -> Any:
    from smugkit.backends.registry import get_backend

    return get_backend("exact")
