"""The result of an explanation: masks, saliency maps, kept neurons, solver record and certificate."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from smugkit.records import plain

ARRAY_FIELDS = ("mask_bits", "mask_plane", "saliency_base", "saliency", "image")


@dataclass
class Explanation:
    """A SMUG explanation; ``to_dict``/``from_dict`` round-trip through JSON."""

    model: str
    label: int
    probability: float
    method: str
    encoding: str
    options: dict
    layout: str
    window: int
    mask_bits: np.ndarray  # one 0/1 value per window (1 = kept)
    mask_plane: np.ndarray  # (H, W) 0/1
    saliency_base: np.ndarray  # (H, W) SMUG_BASE
    saliency: np.ndarray  # (H, W) SMUG = SMUG_BASE * mask
    image: np.ndarray  # (H, W, C) the input as an image, for pictures
    status: str  # optimal | feasible | infeasible | unknown
    mask_size: int
    lower_bound: float | None
    neurons: dict  # indices, ig scores, activations, thresholds, which are constrained
    solution: dict  # the backend's Solution record
    certificate: dict | None  # onnxruntime re-check
    exact_check: dict  # float64 IR re-check of the encoding
    alternatives: list[list[int]] = field(default_factory=list)  # next-best distinct masks
    ig: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        return bool(self.certificate and self.certificate.get("holds"))

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ARRAY_FIELDS:
            d[k] = np.asarray(getattr(self, k)).tolist()
        return plain(d)

    @classmethod
    def from_dict(cls, d: dict) -> Explanation:
        d = dict(d)
        for k in ARRAY_FIELDS:
            d[k] = np.asarray(d[k], dtype=np.float64)
        return cls(**d)

    def save(self, folder: str | Path, pictures: bool = True) -> dict[str, Path]:
        """Write ``explanation.json`` and, when asked and matplotlib is present, ``saliency.png``/``mask.png``."""
        from smugkit.attribution import visualize

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = {"json": folder / "explanation.json"}
        files["json"].write_text(json.dumps(self.to_dict()))
        if pictures:
            files["saliency"] = visualize.save_heatmap(folder / "saliency.png", self.saliency, self.image)
            files["mask"] = visualize.save_mask(folder / "mask.png", self.mask_plane, self.image)
            files["panel"] = folder / "panel.png"
            self.plot().savefig(files["panel"], dpi=100)
        return files

    def plot(self):
        """input | saliency (with a colorbar) | mask, titled with label, probability, mask size and status:
        a matplotlib ``Figure`` (a notebook shows it)."""
        from smugkit.attribution import panel

        return panel.figure(self)

    def __repr__(self) -> str:
        cert = "certified" if self.certified else ("not certified" if self.certificate else "unchecked")
        return (
            f"Explanation(label={self.label}, p={self.probability:.3f}, mask={self.mask_size}/"
            f"{self.mask_bits.size} windows of {self.window}x{self.window}, {self.status}, {cert}, "
            f"backend={self.solution.get('backend')!r}, model={self.model!r})"
        )

    def _repr_html_(self) -> str:
        from smugkit.attribution import panel

        return panel.html_block(self, self.summary())

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        path = Path(path)
        if path.is_dir():
            path = path / "explanation.json"
        return cls.from_dict(json.loads(path.read_text()))

    def summary(self) -> str:
        """A few lines for a terminal."""
        c = self.certificate or {}
        cert = (
            "not run" if not c else ("holds" if c.get("holds") else f"FAILS ({c.get('violations')} neurons)")
        )
        keeps = (
            ""
            if not c
            else (
                f"; masked input predicts {c['masked_label']} "
                f"(p={c['masked_probability']:.3f}, label {'kept' if c['keeps_label'] else 'LOST'})"
            )
        )
        bound = "" if self.lower_bound is None else f", lower bound {self.lower_bound:g}"
        return "\n".join(
            [
                f"label {self.label} (p={self.probability:.3f}); {self.method}/{self.encoding}, "
                f"backend {self.solution.get('backend')} {self.solution.get('backend_version', '')}".rstrip(),
                (
                    f"mask: {self.mask_size} of {self.mask_bits.size} windows of {self.window}x{self.window} "
                    f"({self.status}{bound}); solve {self.timings.get('solve', 0):.2f}s, total "
                    f"{self.timings.get('total', 0):.2f}s"
                ),
                f"certificate (onnxruntime): {cert}{keeps}",
            ]
        )
