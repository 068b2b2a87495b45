"""SMUG (Sahoo et al., ICLR 2021): IG-ranked first-layer neurons -> a minimal, certified input mask.

`explain` returns the full `Explanation` (mask, saliency maps, solver record, certificate); the registered
method ``"smug"`` gives the same saliency as an `Attribution`, comparable with every other method.
"""

from __future__ import annotations

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.attribution.smug.config import SmugConfig
from smugkit.attribution.smug.explanation import Explanation
from smugkit.attribution.smug.pipeline import encode, explain, rank_neurons
from smugkit.model import Model
from smugkit.units import detect_layout

__all__ = ["Explanation", "Smug", "SmugConfig", "encode", "explain", "rank_neurons"]


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
