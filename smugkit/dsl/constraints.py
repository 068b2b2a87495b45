"""Linear constraints in the normal form ``expr (<=|<|==) 0``, one row per entry of ``expr``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smugkit.errors import ProblemError

if TYPE_CHECKING:
    from smugkit.dsl.expr import Affine

SENSES = ("<=", "<", "==")
_FLIP = {">=": "<=", ">": "<"}


class Constraint:
    """A block of rows ``expr <= 0`` / ``expr < 0`` / ``expr == 0`` (strictness is kept exactly)."""

    def __init__(self, expr: Affine, sense: str, name: str | None = None) -> None:
        if sense not in SENSES:
            raise ProblemError(f"unknown constraint sense {sense!r} (normal forms: {SENSES})")
        self.expr = expr
        self.sense = sense
        self.name = name

    @staticmethod
    def build(lhs: Any, rhs: Any, sense: str) -> Constraint:
        """``lhs sense rhs`` for sense in <=, <, ==, >=, >, normalised so the right side is zero."""
        from smugkit.dsl.expr import Affine

        left, right = Affine.lift(lhs, f"left side of {sense}"), Affine.lift(rhs, f"right side of {sense}")
        what = f"constraint {sense}"
        if sense in _FLIP:
            return Constraint(right._combine(left, -1.0, what), _FLIP[sense])
        return Constraint(left._combine(right, -1.0, what), sense)

    @property
    def rows(self) -> int:
        """Number of scalar constraints."""
        return self.expr.size

    @property
    def strict(self) -> bool:
        """True for ``<`` rows."""
        return self.sense == "<"

    def named(self, name: str) -> Constraint:
        """The same constraint with a label (shown in reports and SMT-LIB comments)."""
        return Constraint(self.expr, self.sense, name)

    def __bool__(self) -> bool:
        raise ProblemError("a constraint has no truth value; pass it to Problem.add")

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"Constraint{label}(rows={self.rows}, sense={self.sense!r} 0, vars={[v.name for v in self.expr.terms]})"
