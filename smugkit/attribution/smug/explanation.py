"""The result of an explanation: masks, saliency maps, kept neurons, solver record and certificate."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from smugkit.records import plain
from smugkit.run.records import stamped, unstamped

ARRAY_FIELDS = ("mask_bits", "mask_plane", "saliency_base", "saliency", "image")
NPZ_KEY = "arrays_file"  # in a saved JSON record: the npz file holding the arrays it refers to
ARRAY_REF = "npz_array"  # {ARRAY_REF: key, "dtype": ..., "shape": [...]} stands for an array in that file
MIN_ARRAY = 32  # numeric lists at least this long go to the npz file


def _split(obj, prefix: str, arrays: dict):
    """``obj`` with every numeric array or long numeric list (nested in dicts) replaced by a reference."""
    if isinstance(obj, dict):
        return {k: _split(v, f"{prefix}{k}/", arrays) for k, v in obj.items()}
    if isinstance(obj, np.ndarray) or (isinstance(obj, list | tuple) and len(obj) >= MIN_ARRAY):
        try:
            arr = np.asarray(obj)
        except ValueError:  # ragged
            return obj
        if arr.dtype.kind in "biuf" and (isinstance(obj, np.ndarray) or arr.size >= MIN_ARRAY):
            key = prefix.rstrip("/")
            arrays[key] = arr
            return {ARRAY_REF: key, "dtype": str(arr.dtype), "shape": list(arr.shape)}
    return obj


def _join(obj, arrays):
    """Undo `_split`: references become arrays (fields) or lists (inside records), as `to_dict` gives them."""
    if isinstance(obj, dict):
        if ARRAY_REF in obj:
            return arrays[obj[ARRAY_REF]].tolist()
        return {k: _join(v, arrays) for k, v in obj.items()}
    return obj


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
    notes: list[str] = field(default_factory=list)  # what a reader must know: trivial answers, proof scope

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
        d = unstamped(d)
        for k in ARRAY_FIELDS:
            d[k] = np.asarray(d[k], dtype=np.float64)
        return cls(**d)

    def save(self, folder: str | Path, pictures: bool = True) -> dict[str, Path]:
        """Write ``explanation.json`` (the record with the mask bits inline), ``explanation.npz`` (every other
        array) and, when asked, ``saliency.png``/``mask.png`` (drawn with numpy and zlib, `attribution.png`)."""
        from smugkit.attribution import png

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = {"json": folder / "explanation.json", "npz": folder / "explanation.npz"}
        arrays: dict[str, np.ndarray] = {}
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        bits = np.asarray(self.mask_bits)
        record = _split({**record, "mask_bits": None}, "", arrays)
        record["mask_bits"] = np.rint(bits).astype(int).tolist() if np.all(bits == np.rint(bits)) else bits
        record[NPZ_KEY] = files["npz"].name
        np.savez_compressed(files["npz"], **arrays)
        files["json"].write_text(json.dumps(plain(stamped(record))))
        if pictures:
            files["saliency"] = png.write_png(
                folder / "saliency.png", png.heatmap_rgb(self.saliency, self.image)
            )
            files["mask"] = png.write_png(folder / "mask.png", png.mask_rgb(self.mask_plane, self.image))
            if (
                importlib.util.find_spec("matplotlib") is not None
            ):  # the annotated panel needs the [viz] extra
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
        """Read a saved explanation: the compact JSON + npz pair, or a JSON file holding every array inline."""
        path = Path(path)
        if path.is_dir():
            path = path / "explanation.json"
        d = json.loads(path.read_text())
        npz = d.pop(NPZ_KEY, None)
        if npz is not None:
            with np.load(path.parent / npz) as arrays:
                d = _join(d, arrays)
        return cls.from_dict(d)

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
                *(f"note: {n}" for n in self.notes),
            ]
        )
