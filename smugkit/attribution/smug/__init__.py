"""SMUG (Sahoo et al., ICLR 2021): IG-ranked first-layer neurons -> a minimal, certified input mask.

`explain` returns the full `Explanation` (mask, saliency maps, solver record, certificate); the registered
method ``"smug"`` gives the same saliency as an `Attribution`, comparable with every other method, and
``"smug_base"`` gives SMUG_BASE: the IG scores of the top-k neurons spread over their receptive fields, with
no solver (the paper's ablation of the mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.attribution.smug.config import SmugConfig
from smugkit.attribution.smug.explanation import Explanation
from smugkit.attribution.smug.pipeline import encode, explain, rank_neurons, ranked_base
from smugkit.attribution.smug.saliency import REDUCTIONS
from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.units import detect_layout

__all__ = ["Explanation", "Smug", "SmugBase", "SmugConfig", "encode", "explain", "rank_neurons"]


@register_method
class Smug(Method):
    """SMUG's saliency (SMUG_BASE times the minimal mask), spread over the input's channels."""

    name = "smug"
    Options = SmugConfig
    needs = frozenset({"probs", "grad"})

    def compute(self, model: Model, x: np.ndarray, target: int):
        e = explain(model, x, self.options, label=target)
        layout = detect_layout(model.network, self.options.layout)
        diagnostics = {
            k: v
            for k, v in e.to_dict().items()
            if k
            in ("status", "mask_size", "lower_bound", "mask_bits", "exact_check", "certificate", "timings")
        }
        diagnostics["certified"] = e.certified
        return layout.from_hw(e.saliency), model.input.name, diagnostics


@dataclass(frozen=True)
class SmugBaseOptions:
    """SMUG_BASE's options: the SMUG defaults for ranking (``top_k``, ``ig_steps``, ``seed``) and ``score``."""

    top_k: int = 100
    ig_steps: int = 200
    score: str = "max"
    seed: int = 0
    layout: str = "auto"

    def __post_init__(self) -> None:
        for name in ("top_k", "ig_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
        if self.score not in REDUCTIONS:
            raise InputError(f"score must be one of {REDUCTIONS}, got {self.score!r}")


@register_method
class SmugBase(Method):
    """SMUG_BASE: per pixel, the max (or sum) IG score of the top-k first-layer neurons that see it."""

    name = "smug_base"
    Options = SmugBaseOptions
    needs = frozenset({"probs", "grad"})

    def compute(self, model: Model, x: np.ndarray, target: int):
        o = self.options
        net = model.network
        layout = detect_layout(net, o.layout)
        hw = layout.height * layout.width
        pixel = layout.from_hw(np.arange(hw).reshape(layout.height, layout.width)).reshape(-1)
        base, kept, ig = ranked_base(model, x, target, o.top_k, o.ig_steps, o.seed, o.score, pixel, hw)
        base = base.reshape(layout.height, layout.width)
        diagnostics = {"kept": kept.tolist(), "completeness_error": getattr(ig, "completeness_error", None)}
        return layout.from_hw(base), model.input.name, diagnostics
