"""Token scores from other methods, for comparison with SMUG: Integrated Gradients, occlusion, SMUG_BASE.

Both act on the embedded input like SMUG does: IG integrates from the all-padding text (zero embeddings) and
sums each token's attributions over its embedding dimensions; occlusion zeroes one token at a time and
records the drop of the label's probability.
"""

from __future__ import annotations

import numpy as np

from smugkit.model import Model
from smugkit.units import make_tokens


def token_ig(model: Model, x: np.ndarray, label: int, steps: int = 200) -> np.ndarray:
    """IG of the label's probability on the embedded input, summed per token (one value per position)."""
    from smugkit.attribution.integrated_gradients import integrated_gradients

    res = integrated_gradients(model, x, target=label, baseline="zeros", steps=steps, kind="probability")
    units = make_tokens(x.shape)
    return np.bincount(
        units.ids().reshape(-1), weights=np.asarray(res.attributions).reshape(-1), minlength=units.count
    )


def token_occlusion(model: Model, x: np.ndarray, label: int) -> np.ndarray:
    """Per token, p(label | text) - p(label | text with that token zeroed); all tokens in one batch."""
    units = make_tokens(x.shape)
    keep_all_but = 1.0 - np.eye(units.count)
    p = model.probs(np.concatenate([x[None], units.apply(x, keep_all_but)]))
    p = p.reshape(units.count + 1, -1)[:, label]
    return p[0] - p[1:]


def token_smug_base(
    model: Model,
    x: np.ndarray,
    label: int,
    top_k: int = 100,
    ig_steps: int = 200,
    score: str = "max",
    seed: int = 0,
) -> np.ndarray:
    """SMUG_BASE per token (no solver): the IG scores of the top-k first-layer neurons over the tokens they see."""
    from smugkit.attribution.smug.pipeline import ranked_base

    units = make_tokens(x.shape)
    return ranked_base(model, x, label, top_k, ig_steps, seed, score, units.ids().reshape(-1), units.count)[0]
