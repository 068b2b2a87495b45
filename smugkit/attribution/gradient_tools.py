"""What the gradient-family methods share: option checks, a memory bound on points per model call, batched
gradients at many points, Gaussian blur as matrices, and the one-point `GradientMethod` base.

A `GradientMethod` can attribute a stack of points at once (``compute_many``); the noise tunnel (SmoothGrad,
VarGrad) wraps any method and calls it on its noisy copies, so a method with a batched form (the gradient,
gradient x input) costs one batched model call per chunk instead of one call per copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from smugkit.attribution.base import Method
from smugkit.attribution.learned_mask import check_number
from smugkit.errors import InputError
from smugkit.ir import Network
from smugkit.model import KINDS, Model, softmax

Array = np.ndarray
MAX_BYTES = 256 * 2**20  # activations held per model call: float64 forward values and their cotangents

__all__ = [
    "GradientMethod",
    "blur_matrix",
    "blur_stack",
    "check_kind",
    "check_number",
    "check_range",
    "chunks",
    "gradients_at",
    "points_per_call",
    "target_values",
]


def check_kind(kind: str | None) -> None:
    """A typed error unless ``kind`` is "logit", "probability" or None (what the model outputs)."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS} or None, got {kind!r}")


def check_range(input_range) -> tuple[float, float]:
    """``input_range`` as two finite floats low < high, or a typed error."""
    try:
        lo, hi = (float(v) for v in input_range)
    except (TypeError, ValueError) as e:
        raise InputError(f"input_range must be two numbers (low, high), got {input_range!r}") from e
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"input_range must be two finite numbers low < high, got {input_range!r}")
    return lo, hi


def check_batch_size(batch_size: int | None) -> None:
    """None (the memory bound decides) or an integer >= 1."""
    if batch_size is not None:
        check_number("batch_size", batch_size, 1, integer=True, strict=False)


def points_per_call(net: Network, n: int, batch_size: int | None = None) -> int:
    """Points per model call: ``batch_size``, else what keeps every tensor of the network (float64, with its
    cotangent) under `MAX_BYTES`; at least 1 and at most ``n``."""
    if batch_size is not None:
        check_batch_size(batch_size)
        return int(max(1, min(batch_size, max(n, 1))))
    per_point = 16 * sum(t.size for t in net.tensors.values())
    return int(np.clip(MAX_BYTES // max(per_point, 1), 1, max(n, 1)))


def chunks(n: int, step: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n)`` of length ``step`` (the last may be shorter)."""
    for i in range(0, n, step):
        yield slice(i, min(i + step, n))


def gradients_at(
    model: Model, points: Array, target: int, *, kind: str | None = None, batch_size: int | None = None
) -> Array:
    """Gradients of the target at a stack of model-shaped points ``(S, *input_shape)``, chunked by the bound."""
    points = np.asarray(points, dtype=np.float64)
    step = points_per_call(model.network, points.shape[0], batch_size)
    parts = [model.grad(points[s], target, kind=kind) for s in chunks(points.shape[0], step)]
    return np.concatenate(parts).reshape(points.shape)


def target_values(model: Model, points: Array, target: int, kind: str | None = None) -> Array:
    """The target's logit or probability (``kind``; None: what the model outputs) at a stack of points."""
    scores = np.asarray(model.scores(points)).reshape(points.shape[0], -1)
    if (kind or model.default_kind) == "probability":
        scores = softmax(scores, axis=1)
    return scores[:, target]


def blur_matrix(n: int, sigma: float, truncate: float = 4.0) -> Array:
    """``(n, n)`` matrix of a 1-D Gaussian blur with zero padding, equal to scipy's
    ``gaussian_filter1d(mode="constant", truncate=4.0)``; the identity for ``sigma == 0``."""
    if sigma <= 0:
        return np.eye(n)
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.arange(-radius, radius + 1)
    w = np.exp(-0.5 * (taps / float(sigma)) ** 2)
    w /= w.sum()
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    return np.where(np.abs(d) <= radius, w[np.clip(d + radius, 0, 2 * radius)], 0.0)


def blur_stack(image_hwc: Array, sigmas: Array) -> Array:
    """The ``(H, W, C)`` image blurred over H and W by each sigma: ``(len(sigmas), H, W, C)``, zero padding."""
    h, w, _ = image_hwc.shape
    bh = np.stack([blur_matrix(h, s) for s in sigmas])
    bw = np.stack([blur_matrix(w, s) for s in sigmas])
    rows = np.einsum("sih,hwc->siwc", bh, image_hwc, optimize=True)
    return np.einsum("sjw,siwc->sijc", bw, rows, optimize=True)


class GradientMethod(Method):
    """A gradient-family method on the model input; ``compute_many`` attributes a stack of points.

    The default loops over `compute`; methods with a batched form override it.
    """

    needs = frozenset({"grad"})

    def compute_many(self, model: Model, xs: Array, target: int) -> Array:
        """Attributions at each of the model-shaped points ``xs`` (stacked on axis 0)."""
        return np.stack([np.asarray(self.compute(model, x, target)[0]).reshape(x.shape) for x in xs])
