"""A tiny reader for SMT-LIB solver output: s-expressions and numeric/boolean values."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_TOKEN = re.compile(r"\(|\)|\|[^|]*\||\"(?:[^\"]|\"\")*\"|[^\s()]+")


def parse(text: str) -> list[Any]:
    """All top-level s-expressions of ``text`` (atoms are strings, lists are Python lists)."""
    stack: list[list[Any]] = [[]]
    for tok in _TOKEN.findall(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise ValueError("unbalanced ')' in solver output")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok.strip("|"))
    if len(stack) != 1:
        raise ValueError("unbalanced '(' in solver output")
    return stack[0]


def value(e: Any) -> int | Fraction | bool:
    """The value of a numeral, decimal, boolean, ``(- v)`` or ``(/ a b)`` expression."""
    if isinstance(e, str):
        if e in ("true", "false"):
            return e == "true"
        q = Fraction(e)
        return int(q) if q.denominator == 1 and "." not in e else q
    if len(e) == 2 and e[0] == "-":
        return -value(e[1])
    if len(e) == 3 and e[0] == "/":
        return Fraction(value(e[1])) / Fraction(value(e[2]))
    if len(e) == 3 and e[0] == "-":
        return value(e[1]) - value(e[2])
    raise ValueError(f"cannot read a value from {e!r}")
