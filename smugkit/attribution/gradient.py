"""The vanilla gradient (Simonyan et al. 2014): d(target)/d(input), the simplest saliency map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import Method, register_method
from smugkit.errors import InputError
from smugkit.model import KINDS, Model


@dataclass(frozen=True)
class GradientOptions:
    """``kind``: "logit", "probability" or None (what the ONNX model outputs); ``tensor``: default the input."""

    kind: str | None = None
    tensor: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS} or None, got {self.kind!r}")


@register_method
class VanillaGradient(Method):
    """The gradient of the target class's output w.r.t. the input (or a chosen internal tensor)."""

    name = "gradient"
    Options = GradientOptions
    needs = frozenset({"grad"})
    fast_gradients = True

    def compute(self, model: Model, x: np.ndarray, target: int):
        tensor = self.options.tensor or model.input.name
        g = model.grad(x, target, kind=self.options.kind, wrt=tensor)
        return g, tensor, {"kind": self.options.kind or model.default_kind}

    def compute_many(self, model: Model, xs: np.ndarray, target: int) -> np.ndarray:
        """Gradients at a stack of points: one batched call on the input, a loop on an internal tensor."""
        if self.options.tensor not in (None, model.input.name):
            return np.stack([self.compute(model, x, target)[0] for x in xs])
        from smugkit.attribution.gradient_tools import gradients_at

        return gradients_at(model, xs, target, kind=self.options.kind)
