"""Benchmark suites: lists of SMUG instances (model x input x top-k x gamma x window x encoding)."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from smugkit.errors import InputError


@dataclass(frozen=True)
class InstanceSpec:
    """One SMUG instance; ``model`` is a bundled zoo name, ``scale`` or an ONNX path."""

    model: str
    sample: int = 0
    top_k: int = 50
    gamma: float = 0.5
    window: int = 1
    encoding: str = "first_layer"
    delta: float = 0.0

    @property
    def id(self) -> str:
        return (
            f"{Path(self.model).stem}-s{self.sample}-k{self.top_k}-g{self.gamma:g}-w{self.window}"
            f"-{self.encoding}" + (f"-d{self.delta:g}" if self.encoding == "full" else "")
        )

    def to_dict(self) -> dict:
        return asdict(self)


def _grid(models, samples, ks, gammas, windows, encoding="first_layer") -> list[InstanceSpec]:
    return [
        InstanceSpec(m, s, k, g, w, encoding)
        for m, s, k, g, w in itertools.product(models, samples, ks, gammas, windows)
    ]


SUITES: dict[str, list[InstanceSpec]] = {
    "smoke": (
        _grid(["digits_mlp8"], [0], [10], [0.5], [2, 4]) + _grid(["digits_cnn8"], [1], [20], [0.5], [2])
    ),
    "digits": (
        _grid(["digits_cnn8", "digits_mlp8"], [0, 1, 2], [50, 200], [0.5], [1, 2])
        + _grid(["digits_cnn28"], [0, 1, 2], [50, 200, 1000], [0.5], [1, 2])
        + _grid(["digits_mlp28"], [0, 1, 2], [50], [0.5], [1, 2])
    ),
    "scale": _grid(["scale"], [0], [500, 1000, 3000], [0.5], [4]),
    # the dense rows of digits (its digits_mlp28 part): small LP gaps, out of reach of LP-free solvers
    "dense": _grid(["digits_mlp28"], [0, 1, 2], [50], [0.5], [1, 2]),
    "full": (
        _grid(["digits_mlp8"], [0, 1, 2], [1], [0.5], [1, 2], "full")
        + _grid(["digits_cnn8"], [0, 1], [1], [0.5], [2], "full")
    ),
    # the bundled text CNN on planted-set sentences: one mask bit per token (window is unused)
    "text": (
        _grid(["text_cnn"], [0, 1, 5, 13, 40, 41], [50, 200], [0.5], [1])
        + _grid(["text_cnn"], [1, 5, 13, 41], [1], [0.5], [1], "full")
    ),
}


def load_suite(name_or_file: str) -> list[InstanceSpec]:
    """A built-in suite by name, or a JSON file holding a list of instance objects."""
    if name_or_file in SUITES:
        return list(SUITES[name_or_file])
    path = Path(name_or_file)
    if not path.is_file():
        raise InputError(f"unknown suite {name_or_file!r}: use one of {sorted(SUITES)} or a JSON file")
    try:
        items = json.loads(path.read_text())
        return [InstanceSpec(**item) for item in items]
    except (ValueError, TypeError) as e:
        raise InputError(
            f"{path}: expected a JSON list of instances with keys "
            f"{list(InstanceSpec.__dataclass_fields__)}: {e}"
        ) from e
