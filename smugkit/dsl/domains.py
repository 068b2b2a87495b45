"""Value domains of decision variables."""

from __future__ import annotations

from enum import Enum


class Domain(str, Enum):
    """Value domain of a variable; BOOL and BINARY both take 0/1 values but lower differently in SMT."""

    BOOL = "bool"  # a propositional atom, read as 0/1 in arithmetic
    BINARY = "binary"  # an integer restricted to {0, 1}
    INT = "int"
    REAL = "real"

    @property
    def integral(self) -> bool:
        """True when every value of the domain is an integer."""
        return self is not Domain.REAL
