"""One picture per result, for notebooks and saved files: input | saliency (with a colorbar) | mask.

`explanation_figure` and `attribution_figure` return a matplotlib `Figure` (made without pyplot, so nothing
pops up and no global state changes; a notebook shows it as the cell's value); `plot_grid` stacks many
results, one row each. matplotlib is the ``[viz]`` extra, imported when a picture is drawn.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np

from smugkit.errors import InputError, SmugkitError

CELL = 2.2  # inches per panel


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise SmugkitError("plots need matplotlib: pip install 'smugkit[viz]'") from e
    return Figure


def _grey(image_hwc: np.ndarray) -> np.ndarray:
    img = np.asarray(image_hwc, dtype=np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[:, :, :3] if img.shape[2] >= 3 else img.mean(axis=2)  # 1 or 2 channels: grey


def _panels(axes, image, saliency, mask, fig) -> None:
    """Draw input | saliency + colorbar | mask on three axes (an absent part leaves its axis blank)."""
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if image is not None:
        img = _grey(image)
        axes[0].imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
        axes[0].set_xlabel("input")
    s = np.asarray(saliency, dtype=np.float64)
    top = float(np.abs(s).max()) or 1.0
    signed = bool((s < 0).any())
    im = axes[1].imshow(
        s,
        cmap="RdBu_r" if signed else "inferno",
        vmin=-top if signed else 0.0,
        vmax=top,
        interpolation="nearest",
    )
    axes[1].set_xlabel("saliency")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04)
    if mask is not None:
        keep = np.asarray(mask, dtype=np.float64)
        base = _grey(image) if image is not None else np.zeros(keep.shape)
        shown = base * (0.25 + 0.75 * (keep[..., None] if base.ndim == 3 else keep))
        axes[2].imshow(
            shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest"
        )
        overlay = np.zeros(keep.shape + (4,))
        overlay[..., 1:3] = 1.0  # cyan over the kept windows
        overlay[..., 3] = 0.35 * keep
        axes[2].imshow(overlay, interpolation="nearest")
        axes[2].set_xlabel("mask (kept)")
    else:
        axes[2].set_axis_off()


def _title(result) -> str:
    from smugkit.attribution.smug.explanation import Explanation

    if isinstance(result, Explanation):
        cert = "certified" if result.certified else ("not certified" if result.certificate else "unchecked")
        return (
            f"label {result.label} (p={result.probability:.3f}); mask {result.mask_size}/"
            f"{result.mask_bits.size} windows, {result.status}, {cert}"
        )
    return f"{result.method}, target {result.target}"


def _parts(result, image=None):
    """(image (H, W, C) or None, saliency (H, W), mask (H, W) or None) of an explanation or attribution."""
    from smugkit.attribution.smug.explanation import Explanation

    if isinstance(result, Explanation):
        return result.image, result.saliency, result.mask_plane
    values = np.asarray(result.values, dtype=np.float64)
    if image is not None:
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 2:
            image = image[:, :, None]
        if values.size != image.size:
            raise InputError(f"image of shape {list(image.shape)} does not fit values {list(values.shape)}")
        return image, values.reshape(image.shape).sum(axis=-1), None
    squeezed = np.squeeze(values)
    if squeezed.ndim == 3:  # (C, H, W) or (H, W, C): sum the smallest axis as the channels
        squeezed = squeezed.sum(axis=int(np.argmin(squeezed.shape)))
    if squeezed.ndim != 2:
        squeezed = squeezed.reshape(1, -1)
    return None, squeezed, None


def figure(result, image=None):
    """The panel of one `Explanation` or `Attribution` (``image``: the input (H, W, C), attributions only)."""
    Figure = _figure_class()
    fig = Figure(figsize=(3 * CELL + 0.6, CELL + 0.5), layout="constrained")
    axes = fig.subplots(1, 3)
    img, sal, mask = _parts(result, image)
    _panels(axes, img, sal, mask, fig)
    fig.suptitle(_title(result), fontsize=9)
    return fig


def plot_grid(results: Sequence, images: Sequence | None = None, max_rows: int = 24):
    """Many results in one figure, one row of panels each (the first ``max_rows``)."""
    results = list(results)[:max_rows]
    if not results:
        raise InputError("plot_grid: no results to draw")
    Figure = _figure_class()
    fig = Figure(figsize=(3 * CELL + 0.6, (CELL + 0.35) * len(results)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(results), 3))
    for k, r in enumerate(results):
        img, sal, mask = _parts(r, None if images is None else images[k])
        _panels(axes[k], img, sal, mask, fig)
        axes[k][0].set_title(_title(r), fontsize=8, loc="left")
    return fig


def save(fig, path) -> None:
    """Write ``fig`` as a PNG."""
    fig.savefig(path, dpi=100)


def html_block(result, text: str) -> str:
    """``_repr_html_``: the panel as an inline PNG above the text summary (the text alone without matplotlib)."""
    body = f"<pre>{html.escape(text)}</pre>"
    try:
        fig = figure(result)
    except SmugkitError:
        return body
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<div><img src="data:image/png;base64,{data}"/>{body}</div>'
