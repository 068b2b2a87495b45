"""``ir``: exact reverse mode over the IR in float64 numpy (`Network.vjp`)."""

from __future__ import annotations

import numpy as np

from smugkit.model.providers.base import GradientProvider, register_provider
from smugkit.model.targets import softmax_cotangent


@register_provider
class IRProvider(GradientProvider):
    """Exact reverse mode over the IR in float64 (exact for piecewise-linear networks away from kinks)."""

    name = "ir"

    def outputs(self, feeds, output):
        return self.net.run(feeds, [output])[output]

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        cot = cotangent
        if softmax_axis is not None:
            _, cot = softmax_cotangent(self.outputs(feeds, output), cotangent, softmax_axis + 1)
        return np.asarray(self.net.vjp(feeds, output, cot, [wrt])[wrt], dtype=np.float64)
