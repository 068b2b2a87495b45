"""Evaluation metrics behind one interface: a `Metric` base, the `Score` record and the registry.

A metric scores an `Attribution`, calling the model (through `smugkit.model.Model`) only when it needs to,
and declares those calls in ``needs`` as methods do; a metric against a ground truth (a region of the image,
rationale tokens) sets ``needs_truth`` and gets it as ``truth``. Options are a frozen dataclass, validated
once.

To add a metric: one module in ``smugkit/metrics/`` with a `Metric` subclass (``name``, ``Options``,
``needs``, ``higher_is_better``, ``compute``) decorated with `register_metric`, plus its import line in
``smugkit/metrics/__init__.py``. `smugkit.metrics.evaluate(attribution, metric=NAME)` then runs it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import ClassVar

import numpy as np

from smugkit.attribution.base import NEEDS, Attribution
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.records import plain, versions

METRICS: dict[str, type[Metric]] = {}


@dataclass
class Score:
    """One metric's value for one attribution, with what is needed to read and reproduce it."""

    metric: str
    value: float
    higher_is_better: bool
    method: str  # the attribution method scored
    target: int | list[int]
    options: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)  # e.g. a curve, per-threshold values
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> Score:
        """The record `to_dict` wrote."""
        return cls(**d)


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Add a metric class to the registry under its ``name`` (checking its declaration)."""
    if not cls.name or not is_dataclass(cls.Options):
        raise TypeError(f"{cls.__name__}: a metric needs a name and an Options dataclass")
    unknown = set(cls.needs) - set(NEEDS)
    if unknown:
        raise TypeError(f"{cls.__name__}: needs {sorted(unknown)} are not Model calls {NEEDS}")
    METRICS[cls.name] = cls
    return cls


def get_metric(name: str, **options) -> Metric:
    """A metric of the registry, made with ``options`` (validated)."""
    cls = METRICS.get(name)
    if cls is None:
        raise InputError(f"unknown metric {name!r}; known metrics: {sorted(METRICS)}")
    return cls(**options)


class Metric(ABC):
    """One evaluation metric: options validated once, then ``score(attribution, model, x)``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type]
    needs: ClassVar[frozenset[str]] = frozenset()
    higher_is_better: ClassVar[bool] = True
    needs_truth: ClassVar[bool] = False

    def __init__(self, **options) -> None:
        known = {f.name for f in fields(self.Options)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(f"metric {self.name!r} has no option(s) {unknown}; options: {sorted(known)}")
        self.options = self.Options(**options)

    def score(self, attribution: Attribution, model=None, x=None, truth=None) -> Score:
        """Score ``attribution``; ``model`` and the explained input ``x`` are required when ``needs`` is not
        empty, ``truth`` (e.g. a boolean region shaped like the input) when ``needs_truth`` is set."""
        if not isinstance(attribution, Attribution):
            raise InputError(f"metric {self.name!r} scores an Attribution, got {type(attribution).__name__}")
        if self.needs and (model is None or x is None):
            raise InputError(
                f"metric {self.name!r} calls the model ({sorted(self.needs)}): pass model= and x="
            )
        if self.needs_truth and truth is None:
            raise InputError(f"metric {self.name!r} compares with a ground truth: pass truth=")
        t0 = time.perf_counter()
        model = Model.of(model, example=x) if model is not None else None
        value, details = self.compute(attribution, model, x, truth)
        return Score(
            metric=self.name,
            value=float(value),
            higher_is_better=self.higher_is_better,
            method=attribution.method,
            target=attribution.target,
            options=plain(asdict(self.options)),
            details=plain(details),
            timings={"total": time.perf_counter() - t0},
            versions=versions(),
        )

    @abstractmethod
    def compute(self, attribution: Attribution, model: Model | None, x, truth=None) -> tuple[float, dict]:
        """The metric's value and details; a value that is undefined is NaN with the reason in the details."""


def evaluate(attribution: Attribution, *, metric: str, model=None, x=None, truth=None, **options) -> Score:
    """Score ``attribution`` with the registered ``metric`` (``model`` and ``x`` when the metric needs them,
    ``truth`` when it compares with a ground truth)."""
    return get_metric(metric, **options).score(attribution, model=model, x=x, truth=truth)


def as_array(values) -> np.ndarray:
    """Attribution values as a flat float64 array (NaN/Inf refused)."""
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise InputError("attribution values contain NaN or Inf")
    return a
