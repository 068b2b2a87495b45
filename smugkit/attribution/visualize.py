"""PNG pictures of explanations (matplotlib, the `[viz]` extra, imported only when a picture is drawn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smugkit.errors import SmugkitError


def require_pictures() -> None:
    """Fail before any work when PNG output is asked for and matplotlib is missing (not after a long solve)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise SmugkitError(
            "PNG output needs matplotlib: pip install 'smugkit[viz]' (or pass --no-pictures for JSON only)"
        )


def _figure(image: np.ndarray):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise SmugkitError("PNG output needs matplotlib: pip install 'smugkit[viz]'") from e
    h, w = image.shape[:2]
    scale = max(1.0, 256 / max(h, w))
    fig = Figure(figsize=(w * scale / 100, h * scale / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    return fig, ax


def _grey(image_hwc: np.ndarray) -> np.ndarray:
    img = np.asarray(image_hwc, dtype=np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[:, :, :3] if img.shape[2] >= 3 else img.mean(axis=2)  # 1 or 2 channels: grey


def save_heatmap(
    path: str | Path, saliency: np.ndarray, image_hwc: np.ndarray, cmap: str = "inferno"
) -> Path:
    """Saliency ``(H, W)`` as a translucent heat-map over the image ``(H, W, C)``."""
    img = _grey(image_hwc)
    fig, ax = _figure(img)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    s = np.asarray(saliency, dtype=np.float64)
    top = np.abs(s).max()
    shown = np.ma.masked_where(s <= 0, s / top if top > 0 else s)  # only salient pixels are coloured
    ax.imshow(shown, cmap=cmap, alpha=0.75, vmin=0, vmax=1, interpolation="nearest")
    fig.savefig(path)
    return Path(path)


def save_mask(path: str | Path, mask_plane: np.ndarray, image_hwc: np.ndarray) -> Path:
    """The image dimmed, with the windows the minimal mask keeps tinted cyan."""
    img = _grey(image_hwc)
    keep = np.asarray(mask_plane, dtype=np.float64)
    fig, ax = _figure(img)
    ax.imshow(img * 0.4, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    overlay = np.zeros(keep.shape + (4,))
    overlay[..., 1:3] = 1.0  # cyan over the kept windows
    overlay[..., 3] = 0.45 * keep
    ax.imshow(overlay, interpolation="nearest")
    fig.savefig(path)
    return Path(path)
