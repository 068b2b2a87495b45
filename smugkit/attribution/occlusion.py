"""Occlusion (Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014): slide a
patch of ``fill`` over the image and record how much the target's output drops.

Semantics follow Captum's ``Occlusion``: patches of ``patch`` x ``patch`` pixels (all channels) at every
``stride`` steps that fit inside the image (``1 + (H - patch) // stride`` rows of positions); each pixel gets the
mean, over the patches covering it, of ``f(x) - f(x with the patch filled)`` (pixels no patch covers get 0).
With ``patch = stride`` the patches tile the image and each pixel gets its patch's drop; with ``patch = 1``
on a model that is a sum of per-pixel terms, the drop is exactly that pixel's term minus its value at the fill.
Defaults: Zeiler & Fergus slide a grey square (``fill=0`` on a normalised input) over the image; here the
patch is 1/14 of the image side (16 px on 224 px, 2 px on 28 px) with half-patch stride; the explained
output is the target's probability, as in the paper's occlusion maps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import register_method
from smugkit.attribution.blackbox import BlackBoxMethod, BlackBoxOptions, Blend, check_number, fill_values
from smugkit.errors import InputError
from smugkit.model import Model


@dataclass(frozen=True)
class OcclusionOptions(BlackBoxOptions):
    """``patch`` side in pixels (None: image side / 14), ``stride`` (None: half the patch), and the common ones."""

    patch: int | None = None
    stride: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("patch", "stride"):
            value = getattr(self, name)
            if value is not None:
                check_number(name, value, 1, integer=True)


@register_method
class Occlusion(BlackBoxMethod):
    """Zeiler & Fergus's occlusion map, with Captum's averaging over overlapping patches."""

    name = "occlusion"
    Options = OcclusionOptions

    def compute(self, model: Model, x: np.ndarray, target: int):
        t0 = time.perf_counter()
        o = self.options
        layout = self.layout(model)
        h, w = layout.height, layout.width
        patch = o.patch or max(1, round(max(h, w) / 14))
        stride = o.stride or max(1, patch // 2)
        if patch > h or patch > w:
            raise InputError(f"patch {patch} is larger than the {h}x{w} image")
        rows = np.arange(0, h - patch + 1, stride)
        cols = np.arange(0, w - patch + 1, stride)
        tops, lefts = (a.reshape(-1) for a in np.meshgrid(rows, cols, indexing="ij"))
        fill = fill_values(o.fill, x, layout)
        blend = Blend(x, fill, layout)
        yy, xx = np.arange(h), np.arange(w)

        def planes(start: int, stop: int) -> np.ndarray:
            """``(k, H, W)`` 1 inside patches start..stop-1."""
            r = (yy[None, :] >= tops[start:stop, None]) & (yy[None, :] < tops[start:stop, None] + patch)
            c = (xx[None, :] >= lefts[start:stop, None]) & (xx[None, :] < lefts[start:stop, None] + patch)
            return (r[:, :, None] & c[:, None, :]).astype(np.float64)

        def build(start: int, stop: int) -> np.ndarray:
            return blend(1.0 - planes(start, stop))

        score = self.scorer(model, target)
        base = score.one(x)
        drops = base - score(len(tops), build)
        total = np.zeros((h, w))
        count = np.zeros((h, w))
        for start in range(0, len(tops), 1024):
            m = planes(start, min(len(tops), start + 1024))
            total += np.tensordot(drops[start : start + 1024], m, axes=1)
            count += m.sum(axis=0)
        plane = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        diagnostics = self.report(
            score, t0, patch=patch, stride=stride, positions=[len(rows), len(cols)], target_value=base
        )
        return layout.from_hw(plane), model.input.name, diagnostics
