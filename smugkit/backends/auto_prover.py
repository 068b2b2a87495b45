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
from typing import Any

import numpy as np

from smugkit.backends.bnb_prover import PB_BITS, BnbProver, acceptor
from smugkit.backends.objective import ObjectiveSpec
from smugkit.backends.pb_rows import pb_problem
from smugkit.dsl.problem import Compiled

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
        ok, _ = _exact().available()
        return f"bnb ({b}) + " + (
            f"Exact {_exact().version()}" if ok else "no Exact (install smugkit[exact])"
        )

    def unsupported(self, c: Compiled) -> str | None:
        return BnbProver().unsupported(c)

    def choose(self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float) -> tuple[str, str]:
        """The prover for ``objective <= value`` (``value = K* - 1``) and why: 'bnb' or 'exact'."""
        ok, _ = _exact().available()
        if not ok:
            return "bnb", "Exact is not installed"
        why = _exact().unsupported(c)
        if why:
            return "bnb", f"Exact declines: {why}"
        from smugkit.backends.bnb import BranchAndBound, int_rows

        pb = pb_problem(c)
        try:
            rows = int_rows(pb, spec.cols, [int(a) for a in spec.coefs], PB_BITS)
        except ValueError:
            return "exact", "no LP (objective too large for bnb)"
        deadline = time.monotonic() + min(_LP_SECONDS, seconds / 10)
        x = BranchAndBound(rows, acceptor(pb)).relaxation(deadline)
        if x is None:
            return "exact", "the root LP gave no value in time"
        gap = int(value) + 1 - math.ceil(float(rows.c @ x) - 1e-6)
        pick = "bnb" if gap <= GAP else "exact"
        return pick, f"LP gap {gap} {'<=' if pick == 'bnb' else '>'} {GAP}"

    def prove_bound(
        self, c: Compiled, spec: ObjectiveSpec, value: int, seconds: float, hint: np.ndarray | None = None
    ) -> tuple[str, Any]:
        """`prove_bound` of the chosen prover, within ``seconds`` in all; an 'unknown' names the choice."""
        deadline = time.monotonic() + seconds
        pick, why = self.choose(c, spec, value, seconds)
        self._choice.text = f"{pick} ({why})"
        prover = BnbProver() if pick == "bnb" else _exact()
        ans, out = prover.prove_bound(c, spec, value, max(deadline - time.monotonic(), 0.01), hint)
        if ans == "unknown":
            out = f"{self.last}: {out}"
        return ans, out


def _exact() -> Any:
    from smugkit.backends.registry import get_backend

    return get_backend("exact")
