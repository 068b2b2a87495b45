"""Token saliency as text: an HTML snippet/page and ANSI-coloured terminal text.

Scores are scaled by the largest absolute score; positive scores are shaded red, negative blue, and the
tokens of the minimal mask are underlined (and bold in HTML).
"""

from __future__ import annotations

import html

import numpy as np


def _scaled(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    top = np.abs(s).max() if s.size else 0.0
    return s / top if top > 0 else np.zeros_like(s)


def _rgb(v: float) -> tuple[int, int, int]:
    """White -> red for positive, white -> blue for negative values in [-1, 1]."""
    a = min(1.0, abs(v))
    fade = round(255 * (1 - 0.75 * a))
    return (255, fade, fade) if v >= 0 else (fade, fade, 255)


def html_snippet(tokens: list[str], scores, mask=None) -> str:
    """A ``<span>`` per token, its background the score, the mask's tokens underlined; embeddable anywhere."""
    s = _scaled(scores)
    m = np.zeros(len(tokens)) if mask is None else np.asarray(mask, dtype=np.float64)
    parts = []
    for tok, v, bit, raw in zip(tokens, s, m, np.asarray(scores, dtype=np.float64)):
        r, g, b = _rgb(float(v))
        style = f"background-color:rgb({r},{g},{b});padding:1px 3px;border-radius:3px"
        if bit > 0.5:
            style += ";text-decoration:underline;text-decoration-thickness:2px;font-weight:bold"
        parts.append(f'<span style="{style}" title="score {raw:.4g}">{html.escape(tok)}</span>')
    return (
        '<div class="smugkit-text" style="line-height:2;font-family:sans-serif">' + " ".join(parts) + "</div>"
    )


def html_page(exp) -> str:
    """A small standalone page for a `TextExplanation`: the coloured tokens and the key facts."""
    name = f" ({html.escape(exp.label_name)})" if exp.label_name else ""
    cert = "not run" if not exp.certificate else ("holds" if exp.certified else "FAILS")
    facts = (
        f"label {exp.label}{name}, p={exp.probability:.3f}; minimal mask: {exp.mask_size} of "
        f"{len(exp.tokens)} tokens ({html.escape(exp.status)}); certificate: {cert}"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>smugkit text explanation</title></head>"
        f"<body>\n<p style='font-family:sans-serif'>{facts}</p>\n"
        f"{html_snippet(exp.tokens, exp.saliency_base, exp.mask_bits)}\n"
        "<p style='font-family:sans-serif;font-size:small'>background: SMUG_BASE score (red positive); "
        "underlined: the tokens of the minimal mask</p>\n</body></html>\n"
    )


def terminal(tokens: list[str], scores, mask=None, color: bool = True) -> str:
    """The tokens with 24-bit background colours by score and the mask underlined; plain text without colour.

    Without colour the mask's tokens are shown as ``[token]``.
    """
    s = _scaled(scores)
    m = np.zeros(len(tokens)) if mask is None else np.asarray(mask, dtype=np.float64)
    out = []
    for tok, v, bit in zip(tokens, s, m):
        if not color:
            out.append(f"[{tok}]" if bit > 0.5 else tok)
            continue
        r, g, b = _rgb(float(v))
        under = "\x1b[4m" if bit > 0.5 else ""
        out.append(f"\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{under}{tok}\x1b[0m")
    return " ".join(out)
