"""Gradient x input (Shrikumar et al. 2016, "Not Just a Black Box"; Ancona et al. 2018 relate it to
DeepLIFT and epsilon-LRP): ``x_i * d(target)/dx_i``, the first-order Taylor term of each feature.

On a linear model it equals Integrated Gradients from the zero baseline, ``w * x``. No options beyond the
target kind (default: what the ONNX model outputs) and the points per model call when batched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.gradient_tools import GradientMethod, check_batch_size, check_kind, gradients_at
from smugkit.model import Model


@dataclass(frozen=True)
class GradientXInputOptions:
    """``kind``: "logit", "probability" or None (what the ONNX model outputs); ``batch_size``: points per call."""

    kind: str | None = None
    batch_size: int | None = None

    def __post_init__(self) -> None:
        check_kind(self.kind)
        check_batch_size(self.batch_size)


@register_method
class GradientXInput(GradientMethod):
    """The input times the gradient of the target w.r.t. the input."""

    name = "gradient_x_input"
    Options = GradientXInputOptions

    def compute(self, model: Model, x: np.ndarray, target: int):
        return (
            self.compute_many(model, x[None], target)[0],
            model.input.name,
            {"kind": self.options.kind or model.default_kind},
        )

    def compute_many(self, model: Model, xs: np.ndarray, target: int) -> np.ndarray:
        o = self.options
        return xs * gradients_at(model, xs, target, kind=o.kind, batch_size=o.batch_size)
