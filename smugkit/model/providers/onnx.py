"""``onnx``: an ONNX forward + VJP graph emitted from the IR (`smugkit.runtime.vjp_graph`), run batched by
onnxruntime in float32; exact up to float32 rounding, and savable."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from smugkit.ir import Network
from smugkit.model.providers.base import GradientProvider, register_provider
from smugkit.model.targets import resolve_output
from smugkit.runtime.vjp_graph import GradientGraph, build_gradient_graph


@register_provider
class OnnxProvider(GradientProvider):
    """An ONNX forward + VJP graph emitted from the IR, run batched by onnxruntime in float32."""

    name = "onnx"
    precision = "float32"

    def __init__(self, net: Network, batch_size: int | None = None) -> None:
        super().__init__(net)
        self.batch_size = batch_size
        self._graphs: dict[tuple, GradientGraph] = {}

    def graph(
        self, feeds: list[str], output: str, wrt: list[str], softmax_axis: int | None = None
    ) -> GradientGraph:
        """The (cached) gradient graph for these fed tensors, output, gradient tensors and target kind."""
        key = (tuple(sorted(feeds)), output, tuple(wrt), softmax_axis)
        if key not in self._graphs:
            self._graphs[key] = build_gradient_graph(self.net, sorted(feeds), output, list(wrt), softmax_axis)
        return self._graphs[key]

    def save(
        self,
        path: str | os.PathLike,
        *,
        tensor: str | None = None,
        output: str | None = None,
        probability: bool = False,
    ) -> Path:
        """Save the graph computing the gradient w.r.t. ``tensor`` (default: the input) from the model inputs."""
        out = resolve_output(self.net, output)
        feeds = [i.name for i in self.net.inputs]
        wrt = tensor or self.net.input.name
        axis = len(self.net.tensor(out).shape) - 1 if probability else None
        return self.graph(feeds, out, [wrt], axis).save(path)

    def _run(self, feeds, output, cotangent, wrt, softmax_axis):
        g = self.graph(list(feeds), output, [wrt], softmax_axis)
        s = next(iter(feeds.values())).shape[0]
        step = self.batch_size or s
        targets, grads = [], []
        for i in range(0, s, step):
            t, gr = g.run({k: v[i : i + step] for k, v in feeds.items()}, cotangent[i : i + step])
            targets.append(t)
            grads.append(gr[wrt])
        return np.concatenate(targets), np.concatenate(grads)

    def outputs(self, feeds, output):
        s = next(iter(feeds.values())).shape[0]
        zero = np.zeros((s,) + self.net.tensor(output).shape)
        return self._run(feeds, output, zero, output, None)[0].astype(np.float64)  # wrt itself: no VJP nodes

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        return self._run(feeds, output, cotangent, wrt, softmax_axis)[1].astype(np.float64)
