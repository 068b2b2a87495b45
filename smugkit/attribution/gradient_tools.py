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
from smugkit.guard import max_bytes
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
    cotangent) under `MAX_BYTES`; at least 1 and at most ``n``. Either shrinks to what the memory guard
    (`smugkit.guard`, ``--max-memory``) lets one forward pass hold, so a low limit means smaller batches,
    not a refusal (one point that does not fit is still refused, naming the tensor)."""
    if batch_size is not None:
        check_batch_size(batch_size)
        step = int(max(1, min(batch_size, max(n, 1))))
    else:
        per_point = 16 * sum(t.size for t in net.tensors.values())
        step = int(np.clip(MAX_BYTES // max(per_point, 1), 1, max(n, 1)))
    return int(max(1, min(step, max_bytes() // max(net.point_bytes(), 1))))


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
    parts = [
        model.grad(points[s], target, kind=kind)
        for s in progress(list(chunks(points.shape[0], step)), "gradients", unit="batch")
    ]
    return np.concatenate(parts).reshape(points.shape)


def progress(items, desc: str, unit: str = "it"):
    """``items`` behind a tqdm bar shown on a terminal for runs of more than one item (hidden otherwise)."""
    from tqdm.auto import tqdm

    n = len(items) if hasattr(items, "__len__") else None
    return tqdm(items, desc=desc, unit=unit, leave=False, disable=None if (n or 0) > 1 else True)


def target_values(model: Model, points: Array, target: int, kind: str | None = None) -> Array:
    """The target's logit or probability (``kind``; None: what the model outputs) at a stack of points."""
    scores = np.asarray(model.scores(points)).reshape(points.shape[0], -1)
    if (kind or model.default_kind) == "probability":
        scores = softmax(scores, axis=1)
    return scores[:, target]


def completeness_diagnostics(
    model: Model, x: Array, start: Array, attr: Array, target: int, kind: str | None, calls_before: dict
) -> dict:
    """A path method's diagnostics: sum(attr) against f(x) - f(start), and the model calls it made."""
    f = target_values(model, np.stack([x, start]), target, kind)
    gap = float(f[0] - f[1])
    err = abs(float(attr.sum()) - gap)
    return {
        "kind": kind or model.default_kind,
        "f_x": float(f[0]),
        "f_baseline": float(f[1]),
        "completeness_error": err,
        "relative_error": err / max(abs(gap), 1e-12),
        "model_calls": {k: model.calls[k] - calls_before.get(k, 0) for k in model.calls},
    }


def gaussian_taps(sigma: float, truncate: float = 4.0) -> Array:
    """The 1-D Gaussian kernel scipy's ``gaussian_filter1d`` uses: radius ``int(truncate * sigma + 0.5)``,
    normalised to sum 1; ``[1.0]`` for ``sigma == 0``."""
    if sigma <= 0:
        return np.ones(1)
    radius = int(truncate * float(sigma) + 0.5)
    w = np.exp(-0.5 * (np.arange(-radius, radius + 1) / float(sigma)) ** 2)
    return w / w.sum()


def blur_matrix(n: int, sigma: float) -> Array:
    """``(n, n)`` matrix of a 1-D Gaussian blur with zero padding (scipy's ``mode="constant"``)."""
    w = gaussian_taps(sigma)
    r = w.size // 2
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    return np.where(np.abs(d) <= r, w[np.clip(d + r, 0, 2 * r)], 0.0)


def _spectrum(taps: Array, n: int, reach: int) -> Array:
    """The (real) DFT of a symmetric kernel placed circularly on ``n`` points, cut to ``|offset| <= reach``
    (taps further out never meet the image: they would only multiply the zero padding)."""
    r = taps.size // 2
    keep = min(r, reach)
    k = np.zeros(n)
    k[np.arange(-keep, keep + 1) % n] = taps[r - keep : r + keep + 1]
    return np.fft.fft(k).real


def blur_stack(image_hwc: Array, sigmas, max_bytes: int = 64 * 2**20) -> Array:
    """The ``(H, W, C)`` image blurred over H and W by each sigma: ``(len(sigmas), H, W, C)``.

    Equal to scipy's ``gaussian_filter(image, (s, s, 0), mode="constant")`` for each ``s`` (up to rounding;
    exactly the image for ``s == 0``), computed for all sigmas from one 2-D FFT of the zero-padded image
    (padded by the largest kernel reach, so the circular convolution is the linear one), a few sigmas at
    a time under ``max_bytes``.
    """
    from scipy.fft import irfft2, next_fast_len, rfft2

    image = np.asarray(image_hwc, dtype=np.float64)
    h, w, c = image.shape
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    taps = [gaussian_taps(s) for s in sigmas]
    rh = min(h - 1, max(t.size // 2 for t in taps))
    rw = min(w - 1, max(t.size // 2 for t in taps))
    lh, lw = next_fast_len(h + rh, real=True), next_fast_len(w + rw, real=True)
    spec = rfft2(np.ascontiguousarray(image.transpose(2, 0, 1)), s=(lh, lw), workers=-1)  # (C, lh, lw/2+1)
    out = np.empty((sigmas.size, h, w, c))
    step = max(1, max_bytes // (16 * spec.size))
    for s in chunks(sigmas.size, step):
        kh = np.stack([_spectrum(t, lh, h - 1) for t in taps[s]])
        kw = np.stack([_spectrum(t, lw, w - 1)[: lw // 2 + 1] for t in taps[s]])
        prod = spec[None] * (kh[:, :, None] * kw[:, None, :])[:, None]  # one real 2-D filter per sigma
        out[s] = irfft2(prod, s=(lh, lw), workers=-1)[..., :h, :w].transpose(0, 2, 3, 1)
    out[sigmas <= 0] = image
    return out


class GradientMethod(Method):
    """A gradient-family method on the model input; ``compute_many`` attributes a stack of points.

    The default loops over `compute`; methods with a batched form override it.
    """

    needs = frozenset({"grad"})
    fast_gradients = True

    def compute_many(self, model: Model, xs: Array, target: int) -> Array:
        """Attributions at each of the model-shaped points ``xs`` (stacked on axis 0)."""
        return np.stack([np.asarray(self.compute(model, x, target)[0]).reshape(x.shape) for x in xs])
