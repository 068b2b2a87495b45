"""What image metrics share: the input's image layout (refusing non-image inputs), the map as an ``(H, W)``
plane, a ground truth as a boolean region, bilinear resizing, fills, and re-running the scored method."""

from __future__ import annotations

import numpy as np

from smugkit.errors import InputError
from smugkit.units import ImageLayout, detect_layout

Array = np.ndarray
FILLS = ("zeros", "blur", "mean")


def image_layout(model, metric: str) -> ImageLayout:
    """The model input's image layout; a token-id (text) or non-square flat input is a typed error."""
    info = model.network.input
    if str(info.dtype).startswith(("int", "uint")):
        raise InputError(
            f"metric {metric!r} is an image metric; the model input {info.name!r} holds integer "
            f"ids ({info.dtype}, e.g. text tokens)"
        )
    try:
        layout = detect_layout(model.network)
    except InputError as e:
        raise InputError(f"metric {metric!r} needs an image input: {e}") from e
    if layout.name == "flat":
        raise InputError(
            f"metric {metric!r} needs an image input; {info.name!r} of shape {list(info.shape)} is a flat "
            f"vector that is no square image"
        )
    return layout


def as_plane(values, layout: ImageLayout, metric: str) -> Array:
    """The attribution summed over channels as an ``(H, W)`` float plane (NaN/Inf refused)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size != int(np.prod(layout.input_shape)):
        raise InputError(
            f"metric {metric!r}: an attribution of shape {list(v.shape)} is not over the model input "
            f"{list(layout.input_shape)} (attributions of internal tensors cannot be scored on the image)"
        )
    if not np.all(np.isfinite(v)):
        raise InputError("attribution values contain NaN or Inf")
    return layout.to_hwc(v).sum(axis=-1)


def truth_region(truth, layout: ImageLayout, metric: str) -> Array:
    """A ground truth as a boolean ``(H, W)`` region: a box ``(top, left, bottom, right)`` (bottom and right
    exclusive, in pixels) or a mask shaped ``(H, W)`` or like the model input (any channel set counts)."""
    h, w = layout.height, layout.width
    arr = np.asarray(truth)
    if arr.shape == (4,) and arr.dtype != bool:
        top, left, bottom, right = (int(v) for v in arr)
        if not (0 <= top < bottom <= h and 0 <= left < right <= w):
            raise InputError(
                f"metric {metric!r}: box {tuple(int(v) for v in arr)} (top, left, bottom, right) is empty "
                f"or outside the {h}x{w} image"
            )
        region = np.zeros((h, w), dtype=bool)
        region[top:bottom, left:right] = True
        return region
    if arr.shape == (h, w):
        return arr.astype(bool)
    if arr.size == int(np.prod(layout.input_shape)) and arr.ndim > 1:
        return layout.to_hwc(arr.astype(bool)).any(axis=-1)
    raise InputError(
        f"metric {metric!r}: a ground truth must be a box (top, left, bottom, right) or a mask of shape "
        f"[{h}, {w}] or {list(layout.input_shape)}; got shape {list(arr.shape)}"
    )


def resize_matrix(n_out: int, n_in: int) -> Array:
    """Rows of bilinear weights (half-pixel centres, edges clamped: torch's ``align_corners=False``)."""
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return m


def resize_bilinear(image: Array, height: int, width: int) -> Array:
    """An ``(h, w, C)`` image resized to ``(height, width, C)`` bilinearly."""
    rh = resize_matrix(height, image.shape[0])
    rw = resize_matrix(width, image.shape[1])
    return np.einsum("ij,jkc,lk->ilc", rh, image, rw)


def fill_image(image: Array, fill: str, blur_sigma: float, metric: str) -> Array:
    """The ``(H, W, C)`` image that removed pixels take their values from: zeros, a blur, or the mean."""
    if fill == "zeros":
        return np.zeros_like(image)
    if fill == "mean":
        return np.broadcast_to(image.mean(axis=(0, 1), keepdims=True), image.shape).copy()
    if fill == "blur":
        from scipy.ndimage import gaussian_filter

        return gaussian_filter(image, (blur_sigma, blur_sigma, 0.0), mode="nearest")
    raise InputError(f"metric {metric!r}: unknown fill {fill!r}; choose one of {FILLS}")


def check_fill(fill: str, blur_sigma: float) -> None:
    """Typed errors for a fill option (at construction)."""
    if fill not in FILLS:
        raise InputError(f"unknown fill {fill!r}; choose one of {FILLS}")
    if not blur_sigma > 0:
        raise InputError(f"blur_sigma must be > 0, got {blur_sigma!r}")


def class_probability(model, batch: Array, target: int) -> Array:
    """Softmax probability of ``target`` for a stack of model inputs ``(S, *input shape)``."""
    p = np.asarray(model.probs(batch))
    return p.reshape(len(batch), -1)[:, target]


def explainer(attribution, metric: str):
    """``f(model, x) -> values``: the scored attribution's method with its recorded options, re-run (on
    another model or input) for the same target."""
    from dataclasses import fields

    from smugkit.attribution import METHODS, get_method

    cls = METHODS.get(attribution.method)
    if cls is None:
        raise InputError(
            f"metric {metric!r} re-runs the attribution's method, but {attribution.method!r} is no "
            f"registered method"
        )
    known = {f.name for f in fields(cls.Options)}
    options = {k: v for k, v in attribution.options.items() if k in known}
    method = get_method(attribution.method, **options)
    # a model rebuilt from the IR (randomised, perturbed) has no ONNX file to certify a SMUG mask against
    uncertified = (
        get_method(attribution.method, **{**options, "certify_with_onnxruntime": False})
        if "certify_with_onnxruntime" in known
        else method
    )
    target = attribution.target

    def run(model, x) -> Array:
        m = method if model.network.origin.model is not None else uncertified
        return np.asarray(m.attribute(model, x, target=target).values, dtype=np.float64)

    return run


def spearman(a: Array, b: Array) -> float:
    """Spearman rank correlation of two maps (average ranks for ties); NaN when either is constant."""
    from scipy.stats import rankdata

    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])
