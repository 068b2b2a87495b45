"""PNG pictures of explanations in numpy and zlib: no plotting stack to import for two small images.

`write_png` encodes 8-bit RGB(A) (PNG spec, filter type 0 on every row); `heatmap_rgb` and `mask_rgb` draw
what `smugkit.attribution.visualize` draws with matplotlib (a saliency map over the greyed image, the kept
windows tinted), upscaled by whole pixels to at least 256 px.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from smugkit.errors import InputError

#: matplotlib's "inferno" at 0, 1/4, 1/2, 3/4 and 1 (RGB 0..1), interpolated linearly in between
INFERNO = np.array(
    [
        [0.001, 0.000, 0.014],
        [0.341, 0.062, 0.429],
        [0.735, 0.216, 0.330],
        [0.978, 0.557, 0.035],
        [0.988, 1.0, 0.645],
    ]
)


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an ``(H, W, 3)`` or ``(H, W, 4)`` array in [0, 1] (or uint8) as an 8-bit PNG file."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(f"write_png: expected an (H, W, 3) or (H, W, 4) array, got shape {list(a.shape)}")
    if a.dtype != np.uint8:
        a = np.clip(np.rint(np.asarray(a, np.float64) * 255), 0, 255).astype(np.uint8)
    h, w, c = a.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), a.reshape(h, w * c)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    body = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
    path = Path(path)
    path.write_bytes(body + chunk(b"IEND", b""))
    return path


def inferno(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB in [0, 1] along the inferno colour map."""
    t = np.clip(np.asarray(v, np.float64), 0, 1) * (len(INFERNO) - 1)
    i = np.minimum(t.astype(int), len(INFERNO) - 2)
    f = (t - i)[..., None]
    return INFERNO[i] * (1 - f) + INFERNO[i + 1] * f


def _grey_rgb(image_hwc: np.ndarray) -> np.ndarray:
    img = np.asarray(image_hwc, np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[..., :3] if img.shape[2] >= 3 else np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)


def _upscale(a: np.ndarray, size: int = 256) -> np.ndarray:
    k = max(1, -(-size // max(a.shape[:2])))
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1) if k > 1 else a


def heatmap_rgb(saliency: np.ndarray, image_hwc: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """The image in grey with the positive saliency (scaled to its maximum) blended over it in inferno."""
    img = _grey_rgb(image_hwc)
    s = np.asarray(saliency, np.float64)
    top = np.abs(s).max()
    v = s / top if top > 0 else s
    a = np.where(s > 0, alpha, 0.0)[..., None]
    return _upscale(img * (1 - a) + inferno(v) * a)


def mask_rgb(mask_plane: np.ndarray, image_hwc: np.ndarray) -> np.ndarray:
    """The image dimmed, with the kept windows tinted cyan."""
    img = _grey_rgb(image_hwc) * 0.4
    a = 0.45 * np.asarray(mask_plane, np.float64)[..., None]
    return _upscale(img * (1 - a) + np.array([0.0, 1.0, 1.0]) * a)
