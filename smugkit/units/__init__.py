"""What one mask bit covers (image windows, tokens of a text), the input layout, and baselines."""

from smugkit.units.base import MaskUnits
from smugkit.units.baselines import BASELINES, make_baseline
from smugkit.units.layout import LAYOUTS, ImageLayout, detect_layout, guess_layout, spatial_axes
from smugkit.units.superpixels import Superpixels, make_superpixels
from smugkit.units.tokens import TokenUnits, make_tokens
from smugkit.units.windows import ImageWindows, make_windows

__all__ = [
    "BASELINES",
    "LAYOUTS",
    "ImageLayout",
    "ImageWindows",
    "MaskUnits",
    "Superpixels",
    "TokenUnits",
    "detect_layout",
    "guess_layout",
    "make_baseline",
    "make_superpixels",
    "make_tokens",
    "make_windows",
    "spatial_axes",
]
