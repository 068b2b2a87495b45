"""`SmugConfig`: every SMUG option in one frozen dataclass, validated once; the CLI's options come from it.

Adding a knob is one field here (with its help text) plus its use in the pipeline: `smugkit.explain`'s keyword
arguments, the record in each result and the ``smugkit explain``/``demo`` options all follow from the field.
"""

from __future__ import annotations

import argparse
from dataclasses import MISSING, asdict, dataclass, field, fields, replace

import numpy as np

from smugkit.errors import InputError

MAX_BITS = 20  # enumeration beyond this many bits (2**20 forward passes) is not offered

ENCODINGS = ("first_layer", "full")
SCORES = ("max", "sum")


def _opt(default, help: str, choices: tuple | None = None, cli: bool = True, metavar: str | None = None):
    return field(default=default, metadata={"help": help, "choices": choices, "cli": cli, "metavar": metavar})


@dataclass(frozen=True)
class SmugConfig:
    """The options of one SMUG explanation (Sahoo et al., ICLR 2021)."""

    top_k: int = _opt(100, "first-layer neurons kept, ranked by IG (default 100)")
    gamma: float = _opt(
        0.5, "kept neurons must keep this fraction of their pre-activation, in [0, 1) (default 0.5)"
    )
    window: int = _opt(1, "mask window size in pixels (default 1; demo 2)")
    mask_value: float = _opt(0.0, "value of masked pixels in model input space")
    encoding: str = _opt(
        "first_layer", "first_layer, or full: the whole ReLU network, the label must win", ENCODINGS
    )
    delta: float = _opt(0.0, "full encoding: required logit margin of the label")
    enumerate_bits: int = _opt(
        20,
        "full encoding: up to this many live mask bits, prove the optimum by enumeration; above, enumerate the "
        "masks smaller than a thinned valid one as far as the budget allows (0: no enumeration, always solve)",
    )
    score: str = _opt("max", "SMUG_BASE reduction per pixel", SCORES)
    ig_steps: int = _opt(200, "Integrated Gradients steps (default 200)")
    gradients: str = _opt(
        "auto", "gradient provider: auto (onnx where it agrees with ir), ir, onnx or fd (default auto)"
    )
    backend: str | None = _opt(
        None, "solver backend (see `smugkit backends`; default: the fastest installed)"
    )
    timeout: float = _opt(60.0, "solver wall-clock budget in seconds")
    num_solutions: int = _opt(1, "also enumerate next-best distinct masks")
    seed: int = _opt(0, "seed for every random choice")
    layout: str = _opt("auto", "input layout: auto, NCHW, NHWC, HW or flat")
    strict: bool = _opt(False, "require strictly greater pre-activations")
    certify_with_onnxruntime: bool = _opt(True, "re-check the mask on the real model", cli=False)

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise InputError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if self.score not in SCORES:
            raise InputError(f"score must be one of {SCORES}, got {self.score!r}")
        for name in ("top_k", "ig_steps", "num_solutions"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                what = "a positive integer" if name == "top_k" else "at least 1"
                raise InputError(f"{name} must be {what}, got {v!r}")
        if isinstance(self.enumerate_bits, bool) or not 0 <= int(self.enumerate_bits) <= MAX_BITS:
            raise InputError(f"enumerate_bits must be in [0, {MAX_BITS}], got {self.enumerate_bits!r}")
        if not 0.0 <= self.gamma < 1.0:
            raise InputError(f"gamma must be in [0, 1), got {self.gamma}")
        if not (np.isfinite(self.timeout) and self.timeout > 0):
            raise InputError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if not np.isfinite(self.mask_value) or not np.isfinite(self.delta):
            raise InputError("mask_value and delta must be finite numbers")

    @classmethod
    def make(cls, config: SmugConfig | None = None, **options) -> SmugConfig:
        """``config`` (or the defaults) with ``options`` replaced; unknown option names are an `InputError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(f"unknown SMUG option(s) {unknown}; known: {sorted(known)}")
        return replace(config or cls(), **options)

    def record(self) -> dict:
        """All options, JSON-ready."""
        return asdict(self)

    # -- the command line ----------------------------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--flag`` per field (``top_k`` -> ``--top-k``), with its type, default, choices and help."""
        for f in fields(cls):
            if not f.metadata.get("cli", True):
                continue
            flag = "--" + f.name.replace("_", "-")
            help_text = f.metadata.get("help")
            if f.type in ("bool", bool):
                parser.add_argument(flag, action="store_true", default=f.default, help=help_text)
                continue
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(
                flag,
                type=kind,
                default=None if f.default is MISSING else f.default,
                choices=f.metadata.get("choices"),
                help=help_text,
            )

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> SmugConfig:
        """The config the parsed command-line options describe."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})
