"""``auto``: per kind of call, ``onnx`` (emitted graph, onnxruntime, float32) when its graph builds and agrees
with ``ir`` (float64 numpy) on a probe of the first large call, else ``ir``; the choice is kept.

The choice depends on the network and the call only, never on timing, so runs do not switch between float32
and float64 gradients from one process to the next (a timing-based choice did, and changed an IG ranking).
``onnx`` measured faster on every bundled model: 1.7x (digits_mlp8) to 5.0x (digits_cnn8) for a 32-point
vector-Jacobian product (``python benchmarks/providers.py``). Small calls (a few points) always go to ``ir``:
an emitted graph costs its build time before it pays off. A network the ONNX emitter cannot express simply
stays on ``ir``.
"""

from __future__ import annotations

import numpy as np

from smugkit.errors import SmugkitError
from smugkit.ir import Network
from smugkit.model.providers.base import GradientProvider, register_provider
from smugkit.model.providers.ir import IRProvider
from smugkit.model.providers.onnx import OnnxProvider

Array = np.ndarray
#: calls with fewer points than this go to ``ir`` without measuring
MIN_POINTS = 8
#: points in the probe that times both providers (and checks that they agree)
PROBE = 4
#: agreement required of ``onnx`` (float32) with ``ir`` (float64), relative to the largest magnitude
AGREE_RTOL = 1e-3


@register_provider
class AutoProvider(GradientProvider):
    """``onnx`` where it agrees with ``ir``, per (fed tensors, output, wrt, softmax axis); ``ir`` otherwise."""

    name = "auto"
    precision = "float64"  # of ``ir``; `choices` says where ``onnx`` (float32) was picked

    def __init__(self, net: Network, batch_size: int | None = None) -> None:
        super().__init__(net)
        self.ir = IRProvider(net)
        self.onnx = OnnxProvider(net, batch_size=batch_size)
        self.choices: dict[tuple, str] = {}

    def _pick(self, key: tuple, points: int, run_ir, run_onnx, feeds: dict, args: tuple) -> tuple[str, Array]:
        """The provider for ``key`` (decided now when unknown and the call is large), and this call's result."""
        choice = self.choices.get(key)
        if choice is None and points < MIN_POINTS:
            return "ir", run_ir(feeds, *args)
        if choice is None:
            probe = {k: v[:PROBE] for k, v in feeds.items()}
            pargs = tuple(a[:PROBE] if isinstance(a, np.ndarray) else a for a in args)
            try:
                fast = run_onnx(probe, *pargs)  # builds the graph
            except SmugkitError:
                self.choices[key] = "ir"
                return "ir", run_ir(feeds, *args)
            exact = run_ir(probe, *pargs)
            scale = max(float(np.abs(exact).max()), 1e-30)
            agree = float(np.abs(fast - exact).max()) <= AGREE_RTOL * scale
            choice = self.choices[key] = "onnx" if agree else "ir"
        run = run_onnx if choice == "onnx" else run_ir
        return choice, run(feeds, *args)

    def outputs(self, feeds, output):
        s = next(iter(feeds.values())).shape[0]
        key = ("outputs", tuple(sorted(feeds)), output)
        return self._pick(key, s, self.ir.outputs, self.onnx.outputs, feeds, (output,))[1]

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        s = next(iter(feeds.values())).shape[0]
        key = ("vjp", tuple(sorted(feeds)), output, wrt, softmax_axis)

        def call(p):
            return lambda f, cot: p.vjp(f, output, cot, wrt, softmax_axis)

        return self._pick(key, s, call(self.ir), call(self.onnx), feeds, (cotangent,))[1]

    def describe(self) -> str:
        """Which provider each kind of call went to, e.g. ``auto(vjp: onnx)``."""
        used = sorted({f"{k[0]}: {v}" for k, v in self.choices.items()})
        return f"auto({', '.join(used)})" if used else "auto(ir)"
