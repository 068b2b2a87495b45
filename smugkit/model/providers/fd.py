"""``fd``: central finite differences through onnxruntime on the original ONNX model (any op it runs).

Step ``h_i = eps32**(1/3) * max(1, |x_i|)`` (about 4.9e-3 for inputs in [-1, 1]). Error: O(h^2) for smooth
networks plus float32 rounding of the outputs, a few ``eps32 * |f| / h`` (~1e-4 |f|); in all ~1e-2 of the
gradient's scale unless the gradient is tiny next to the output. A ReLU/MaxPool kink within h of the point
gives the average slope of its two sides instead of the one-sided gradient.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from smugkit.errors import GradientError, InputError
from smugkit.ir import Network
from smugkit.model.providers.base import GradientProvider, register_provider
from smugkit.model.targets import reduce_points, softmax
from smugkit.runtime.session import BatchedSession, cut_model, load_onnx

Array = np.ndarray
EPS32 = float(np.finfo(np.float32).eps)


@register_provider
class FDProvider(GradientProvider):
    """Central finite differences through onnxruntime on the original ONNX model, batched.

    Step per coordinate ``h_i = step`` or ``eps32**(1/3) * max(1, |x_i|)``; the difference is divided by the
    float32 distance actually taken. Error: O(h²) plus a few ``eps32 * |f| / h`` from float32 outputs (see
    the module docstring); near a ReLU or MaxPool kink within h of the point, the average of the two sides.
    A gradient w.r.t. an internal tensor uses the model cut at that tensor (it becomes an input).
    """

    name = "fd"
    precision = "float32"
    exact = False

    def __init__(
        self,
        net: Network,
        model=None,
        step: float | None = None,
        batch_size: int | None = None,
        input_scale: float | None = None,
        warn_ratio: float = 0.05,
    ) -> None:
        super().__init__(net)
        source = model if model is not None else net.origin.source
        if source is None or isinstance(source, str) and source.startswith("<"):
            raise GradientError(
                "the fd provider runs the original ONNX model: pass model=<path, bytes or "
                "ModelProto> (the network was not loaded from a file)"
            )
        self.label = source if isinstance(source, str | os.PathLike) else "<model>"
        self.model = load_onnx(source, str(self.label))
        if step is not None and not (np.isfinite(step) and step > 0):
            raise InputError(f"fd step must be a positive finite number, got {step!r}")
        self.step, self.batch_size, self.input_scale, self.warn_ratio = (
            step,
            batch_size,
            input_scale,
            warn_ratio,
        )
        self._sessions: dict[tuple, BatchedSession] = {}

    def _onnx_name(self, tensor: str) -> str:
        return self.net.origin.output_names.get(tensor, tensor)

    def session(self, fed: list[str], output: str) -> tuple[BatchedSession, list[str]]:
        """The (cached) batched session computing ``output`` from the fed tensors, and the tensors it reads."""
        key = (tuple(sorted(fed)), output)
        if key not in self._sessions:
            onnx_out = self._onnx_name(output)
            cut, reached = cut_model(self.model, sorted(fed), [onnx_out], str(self.label))
            size = max(int(np.prod(self.net.tensor(t).shape)) for t in reached) if reached else 1
            rows = self.batch_size or int(np.clip(2**22 // max(size, 1), 1, 2048))
            sess = BatchedSession(
                cut,
                {t: self.net.tensor(t).shape for t in reached},
                [onnx_out],
                {onnx_out: self.net.tensor(output).shape},
                rows=rows,
            )
            self._sessions[key] = sess
        sess = self._sessions[key]
        return sess, list(sess.shapes)

    def outputs(self, feeds, output):
        sess, reached = self.session(list(feeds), output)
        s = next(iter(feeds.values())).shape[0]
        return sess.run({t: feeds[t] for t in reached}, s)[self._onnx_name(output)]

    def steps(self, x: Array) -> Array:
        """Step per coordinate for points ``x``: the fixed step, or ``eps32**(1/3) * max(1, |x|)``."""
        if self.step is not None:
            return np.full(x.shape, float(self.step))
        return EPS32 ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))

    def _check_step(self, x: Array, h: Array) -> None:
        scale = self.input_scale if self.input_scale is not None else float(np.abs(x).max())
        if h.max() > self.warn_ratio * scale:
            warnings.warn(
                f"fd step {h.max():.2g} is large relative to the input scale {scale:.2g} (max |x|); "
                f"finite differences may be inaccurate: pass step= or rescale the input",
                stacklevel=3,
            )

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        self.net.tensor(wrt)
        if wrt not in feeds:  # an internal tensor: evaluate it, then differentiate the model cut there
            feeds = {**feeds, wrt: self.outputs(feeds, wrt)}
        _, reached = self.session(list(feeds), output)
        if wrt not in reached:
            return np.zeros_like(feeds[wrt], dtype=np.float64)
        x = np.asarray(feeds[wrt], dtype=np.float64)
        h = self.steps(x)
        self._check_step(x, h)
        return np.stack(
            [
                self.partial(
                    {k: feeds[k][s] for k in reached}, output, cotangent[s], wrt, softmax_axis, h=h[s]
                ).reshape(x.shape[1:])
                for s in range(x.shape[0])
            ]
        )

    def partial(
        self,
        point: dict[str, Array],
        output: str,
        cotangent: Array,
        wrt: str,
        softmax_axis: int | None = None,
        coordinates: Array | None = None,
        h: Array | None = None,
    ) -> Array:
        """Central differences at one point for the flat ``coordinates`` of ``wrt`` (all by default)."""
        sess, reached = self.session(list(point), output)
        x = np.asarray(point[wrt], dtype=np.float64).reshape(-1)
        coords = np.arange(x.size) if coordinates is None else np.asarray(coordinates, dtype=np.int64)
        steps = (self.steps(x) if h is None else np.asarray(h).reshape(-1))[coords]
        xf = x.astype(np.float32)
        plus = (x[coords] + steps).astype(np.float32)
        minus = (x[coords] - steps).astype(np.float32)
        denom = plus.astype(np.float64) - minus.astype(np.float64)
        grad = np.zeros(coords.size)
        onnx_out = self._onnx_name(output)
        chunk = max(1, sess.rows // 2)
        for i in range(0, coords.size, chunk):
            c = coords[i : i + chunk]
            k = c.size
            rows = np.repeat(xf[None], 2 * k, axis=0)
            rows[np.arange(k), c] = plus[i : i + k]
            rows[k + np.arange(k), c] = minus[i : i + k]
            fed = {t: np.repeat(np.asarray(point[t])[None], 2 * k, axis=0) for t in reached if t != wrt}
            fed[wrt] = rows.reshape((2 * k,) + self.net.tensor(wrt).shape)
            out = sess.run(fed)[onnx_out]
            if softmax_axis is not None:
                out = softmax(out, softmax_axis + 1)
            f = reduce_points(out * cotangent[None])
            grad[i : i + k] = (f[:k] - f[k:]) / denom[i : i + k]
        if coordinates is not None:
            return grad
        return grad.reshape(np.shape(point[wrt]))
