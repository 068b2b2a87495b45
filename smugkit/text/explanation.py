"""`TextExplanation`: a SMUG explanation of a text model, one score and one mask bit per token."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from smugkit.records import plain
from smugkit.run.records import stamped, unstamped

ARRAY_FIELDS = ("ids", "mask_bits", "saliency_base", "saliency")


@dataclass
class TextExplanation:
    """Tokens with their SMUG scores and the minimal mask; ``to_dict``/``from_dict`` round-trip through JSON.

    Arrays hold one value per real token (padding positions are left out); ``padding_kept`` counts padding
    positions the mask kept (0 whenever masking a token equals padding, as in the bundled model).
    """

    model: str
    text: str | None
    tokens: list[str]
    ids: np.ndarray  # (n,) token ids
    unknown: list[str]  # tokens mapped to the OOV id
    truncated: int  # tokens dropped from the end of the text
    label: int
    label_name: str | None
    probability: float
    method: str
    encoding: str
    options: dict
    mask_bits: np.ndarray  # (n,) 0/1, 1 = the token is in the minimal mask
    saliency_base: np.ndarray  # (n,) SMUG_BASE per token
    saliency: np.ndarray  # (n,) SMUG = SMUG_BASE * mask
    status: str
    mask_size: int
    padding_kept: int
    lower_bound: float | None
    neurons: dict
    solution: dict
    certificate: dict | None
    exact_check: dict
    alternatives: list[list[int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a reader must know (trivial mask, what is proved)
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def certified(self) -> bool:
        return bool(self.certificate and self.certificate.get("holds"))

    @property
    def rationale(self) -> list[str]:
        """The tokens of the minimal mask, in text order."""
        return [t for t, b in zip(self.tokens, self.mask_bits) if b > 0.5]

    def to_attribution(self, scores: str = "saliency"):
        """An `Attribution` of one value per token (``saliency``, ``saliency_base`` or ``mask_bits``), for
        the metrics registry (e.g. ``rationale_auc``)."""
        from smugkit.attribution.base import Attribution
        from smugkit.errors import InputError

        if scores not in ARRAY_FIELDS[1:]:
            raise InputError(f"scores must be one of {ARRAY_FIELDS[1:]}, got {scores!r}")
        return Attribution(
            values=np.asarray(getattr(self, scores), dtype=np.float64),
            method=self.method if scores == "saliency" else f"{self.method}:{scores}",
            target=self.label,
            tensor="tokens",
            model=self.model,
            options={**self.options, "tokens": list(self.tokens)},
            timings=dict(self.timings),
            versions=dict(self.versions),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ARRAY_FIELDS:
            d[k] = np.asarray(getattr(self, k)).tolist()
        return plain(d)

    @classmethod
    def from_dict(cls, d: dict) -> TextExplanation:
        d = unstamped(d)
        for k in ARRAY_FIELDS:
            d[k] = np.asarray(d[k], dtype=np.int64 if k == "ids" else np.float64)
        return cls(**d)

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``explanation.json`` and ``explanation.html`` (tokens coloured by score, mask underlined)."""
        from smugkit.text.render import html_page

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = {"json": folder / "explanation.json", "html": folder / "explanation.html"}
        files["json"].write_text(json.dumps(stamped(self.to_dict())))
        files["html"].write_text(html_page(self))
        return files

    @classmethod
    def load(cls, path: str | Path) -> TextExplanation:
        path = Path(path)
        if path.is_dir():
            path = path / "explanation.json"
        return cls.from_dict(json.loads(path.read_text()))

    def summary(self) -> str:
        """A few lines for a terminal (without the coloured tokens: see `render.terminal`)."""
        c = self.certificate or {}
        cert = (
            "not run" if not c else ("holds" if c.get("holds") else f"FAILS ({c.get('violations')} neurons)")
        )
        keeps = (
            ""
            if not c
            else f"; the masked text predicts {c['masked_label']} (p={c['masked_probability']:.3f})"
        )
        name = f" ({self.label_name})" if self.label_name else ""
        bound = "" if self.lower_bound is None else f", lower bound {self.lower_bound:g}"
        lines = [
            (
                f"label {self.label}{name} (p={self.probability:.3f}); {self.method}/{self.encoding}, "
                f"backend {self.solution.get('backend')}"
            ),
            (
                f"mask: {self.mask_size} of {len(self.tokens)} tokens ({self.status}{bound}): "
                f"{' '.join(self.rationale) or '(none)'}; solve {self.timings.get('solve', 0):.2f}s"
            ),
            f"certificate (onnxruntime): {cert}{keeps}",
        ]
        if self.unknown:
            lines.append(f"unknown tokens (read as the OOV id): {', '.join(self.unknown)}")
        if self.truncated:
            lines.append(f"{self.truncated} tokens past the model's length were dropped")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)
