"""Reading an input for a model from .npy, .json or an image file (PNG/JPEG via Pillow, the [viz] extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from smugkit.errors import InputError, SmugkitError
from smugkit.ir import Network
from smugkit.units.layout import detect_layout

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_input(
    path: str | Path,
    net: Network,
    *,
    resize: bool = False,
    scale: float | None = None,
    grayscale: bool | None = None,
    layout: str = "auto",
) -> np.ndarray:
    """An input array of the model's input shape; images are converted to its layout and channel count."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except Exception as e:
            raise InputError(f"{path}: not a readable .npy array: {e}") from e
    elif suffix == ".json":
        try:
            x = np.asarray(json.loads(path.read_text()), dtype=np.float64)
        except (ValueError, TypeError) as e:
            raise InputError(f"{path}: expected a JSON array of numbers: {e}") from e
    elif suffix in IMAGE_SUFFIXES:
        return _read_image(path, net, resize, 1 / 255 if scale is None else scale, grayscale, layout)
    else:
        raise InputError(
            f"{path}: unknown input type {suffix!r}; use .npy, .json or an image "
            f"({', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    shape = net.input.shape
    if x.shape != shape and x.size == int(np.prod(shape)):
        squeezed = tuple(d for d in shape if d != 1)
        if tuple(d for d in x.shape if d != 1) == squeezed:
            x = x.reshape(shape)
    if x.shape != shape:
        raise InputError(
            f"{path}: array of shape {list(x.shape)} does not fit the model input "
            f"{net.input.name!r} of shape {list(shape)}"
        )
    if scale is not None:
        x = x * scale
    return x.astype(np.float64)


def _read_image(
    path: Path, net: Network, resize: bool, scale: float, grayscale: bool | None, layout: str
) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as e:
        raise SmugkitError("reading images needs Pillow: pip install 'smugkit[viz]'") from e
    lay = detect_layout(net, layout)
    try:
        img = Image.open(path)
        img.load()
    except Exception as e:
        raise InputError(f"{path}: cannot read the image: {e}") from e
    grey = lay.channels == 1 if grayscale is None else grayscale
    if grey and lay.channels not in (1, 3):
        raise InputError(f"{path}: model expects {lay.channels} channels")
    img = img.convert("L" if grey else "RGB")
    if (img.height, img.width) != (lay.height, lay.width):
        if not resize:
            raise InputError(
                f"{path}: image is {img.width}x{img.height} but the model takes "
                f"{lay.width}x{lay.height}; pass --resize to resize it"
            )
        img = img.resize((lay.width, lay.height), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.float64) * scale
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] not in (1, lay.channels):
        raise InputError(f"{path}: image has {arr.shape[2]} channels, the model takes {lay.channels}")
    return lay.from_hwc(arr)
