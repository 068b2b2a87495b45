"""The answer of a solve: status, assignment, objective, bounds, timings and provenance (JSON-ready)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# "optimal_unproven": the best answer found, optimal up to float tolerances, but no exact proof of optimality
STATUSES = ("optimal", "optimal_unproven", "feasible", "infeasible", "unknown")


@dataclass
class Solution:
    """Result of ``smugkit.backends.solve``; ``alternatives`` holds the next-best distinct solutions."""

    status: str
    assignment: dict[str, np.ndarray] | None = None
    objective: float | None = None
    lower_bound: float | None = None
    solver_calls: int = 0
    build_time: float = 0.0
    solve_time: float = 0.0
    backend: str = ""
    backend_version: str = ""
    strategy: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    message: str = ""
    exact_check: bool | None = None
    alternatives: list[Solution] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {STATUSES}")

    @property
    def has_assignment(self) -> bool:
        """True when a (feasible) assignment is attached."""
        return self.assignment is not None

    def __getitem__(self, name: str) -> np.ndarray:
        if self.assignment is None:
            raise KeyError(f"no assignment (status {self.status})")
        return self.assignment[name]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (arrays become nested lists with dtype and shape)."""
        assign = None
        if self.assignment is not None:
            assign = {
                k: {
                    "shape": list(np.shape(v)),
                    "dtype": str(np.asarray(v).dtype),
                    "values": np.asarray(v).ravel().tolist(),
                }
                for k, v in self.assignment.items()
            }
        return {
            "status": self.status,
            "assignment": assign,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "solver_calls": self.solver_calls,
            "build_time": self.build_time,
            "solve_time": self.solve_time,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "strategy": self.strategy,
            "options": _jsonable(self.options),
            "seed": self.seed,
            "message": self.message,
            "exact_check": self.exact_check,
            "alternatives": [a.to_dict() for a in self.alternatives],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Solution:
        """Inverse of ``to_dict``."""
        assign = None
        if d.get("assignment") is not None:
            assign = {
                k: np.asarray(v["values"], dtype=v["dtype"]).reshape(v["shape"])
                for k, v in d["assignment"].items()
            }
        fields = {
            k: d[k]
            for k in (
                "status",
                "objective",
                "lower_bound",
                "solver_calls",
                "build_time",
                "solve_time",
                "backend",
                "backend_version",
                "strategy",
                "options",
                "seed",
                "message",
                "exact_check",
            )
            if k in d
        }
        return cls(
            assignment=assign, alternatives=[cls.from_dict(a) for a in d.get("alternatives", [])], **fields
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of ``to_dict``."""
        return json.dumps(self.to_dict(), **kwargs)


def _jsonable(value: Any) -> Any:
    """Options made JSON-safe: arrays to lists, unknown objects to their repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
