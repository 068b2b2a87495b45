"""SMUG for text models: one mask bit per token, applied to the embedded input (Sahoo et al. 2021, Sec. 5).

The model is cut at its embedding look-up (`cut.cut_at_embedding`); masking a token zeroes its embedding row.
The SMUG stages are the image pipeline's (`attribution.smug.pipeline.solve_and_check`): IG ranks the first
layer's neurons (the Conv1D over embeddings), the kept ones become constraints over token bits, a backend
finds the minimal token set, onnxruntime re-checks it on the cut model, and SMUG_BASE scores each token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from smugkit.attribution.smug.config import SmugConfig
from smugkit.attribution.smug.pipeline import rank_neurons, solve_and_check
from smugkit.attribution.smug.saliency import smug_base
from smugkit.errors import InputError, ModelError
from smugkit.model import Model
from smugkit.records import finite, versions
from smugkit.text.cut import TextModel, cut_at_embedding
from smugkit.text.explanation import TextExplanation
from smugkit.text.vocab import Encoded, Vocabulary
from smugkit.units import TokenUnits, make_tokens


@lru_cache(maxsize=8)
def _cached_cut(path: str, mtime: float, length: int | None) -> TextModel:
    return cut_at_embedding(path, length)


def text_model(model, vocab: Vocabulary | None = None) -> TextModel:
    """A `TextModel` from a path (cached per file), bytes, a ModelProto or a `TextModel`."""
    if isinstance(model, TextModel):
        return model
    length = vocab.length if vocab is not None else None
    if isinstance(model, str | Path):
        p = Path(model)
        if not p.is_file():
            raise InputError(f"model file not found: {p}")
        return _cached_cut(str(p.resolve()), p.stat().st_mtime, length)
    return cut_at_embedding(model, length)


def as_vocabulary(vocab) -> Vocabulary:
    if isinstance(vocab, Vocabulary):
        return vocab
    if vocab is None:
        raise InputError("a text model needs its vocabulary (a JSON file: see smugkit.text.vocab)")
    return Vocabulary.load(vocab)


def encode_input(vocab: Vocabulary, text: str | None = None, ids=None) -> Encoded:
    """The text (or an id row) as model ids; exactly one of ``text`` and ``ids`` is given."""
    if (text is None) == (ids is None):
        raise InputError("give the text or its token ids (one of them)")
    return vocab.encode(text) if text is not None else vocab.encode_ids(ids)


def check_head(model: Model) -> None:
    """SMUG ranks neurons by the label's softmax probability: it needs one score per class."""
    if model.num_classes < 2:
        raise ModelError(
            f"model {model.source!r} has a single output score that could not be read as a logit; SMUG "
            f"needs one score per class: export the logits as two scores [0, z]"
        )


def explain_text(
    model,
    text: str | None = None,
    *,
    vocab,
    ids=None,
    config: SmugConfig | None = None,
    label: int | None = None,
    labels: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    **options,
) -> TextExplanation:
    """Explain a text model's prediction on ``text`` (or token ``ids``) with a minimal set of tokens.

    ``model`` is an ONNX text model (ids -> Gather -> ... -> scores) or a `TextModel`; ``vocab`` its
    vocabulary (a `Vocabulary` or JSON file); options are `SmugConfig` fields (``window`` and ``layout`` do
    not apply: the unit is one token); ``labels`` names the classes for the record.
    """
    t_start = time.perf_counter()
    say = progress or (lambda msg: None)
    vocab = as_vocabulary(vocab)
    tm = text_model(model, vocab)
    if tm.length != vocab.length:
        raise InputError(f"vocabulary length {vocab.length} differs from the model's {tm.length} tokens")
    if len(vocab) > tm.table.shape[0]:
        raise InputError(
            f"vocabulary has {len(vocab)} tokens but the embedding table {tm.table.shape[0]} rows"
        )
    enc = encode_input(vocab, text, ids)
    cfg = SmugConfig.make(config, **options)
    from smugkit import backends

    backend = cfg.backend or backends.DEFAULT_BACKEND
    m = Model(tm.network, gradients=cfg.gradients)
    check_head(m)
    net = m.network
    x = tm.embed(enc.ids)
    units: TokenUnits = make_tokens(x.shape)
    fl = net.first_layer()
    probs = m.probs(x).reshape(-1)
    if label is None:
        label = int(probs.argmax())
    if not 0 <= int(label) < probs.size:
        raise InputError(f"label {label} is out of range for a model with {probs.size} classes")
    label = int(label)

    say(f"Integrated Gradients on {fl.post!r} ({cfg.ig_steps} steps, label {label})")
    t = time.perf_counter()
    scores, _ig = rank_neurons(m, x, label, cfg.ig_steps, cfg.seed)
    t_ig = time.perf_counter() - t
    r = solve_and_check(m, x, label, scores, units, cfg, backend, say)
    sol, bits, kept = r.solution, r.bits, r.encoding.kept

    n = enc.n
    base = smug_base(r.encoding.rows, scores[kept], units.ids().reshape(-1), units.count, cfg.score)
    return TextExplanation(
        model=tm.source,
        text=text,
        tokens=list(enc.tokens),
        ids=enc.ids[:n].copy(),
        unknown=list(enc.unknown),
        truncated=enc.truncated,
        label=label,
        label_name=labels[label] if labels and label < len(labels) else None,
        probability=float(probs[label]),
        method="smug",
        encoding=cfg.encoding,
        options={**replace(cfg, backend=backend).record(), "units": units.record(), "head": tm.head},
        mask_bits=bits[:n].astype(np.float64),
        saliency_base=base[:n],
        saliency=base[:n] * bits[:n],
        status=r.status,
        mask_size=int(bits[:n].sum()),
        padding_kept=int(bits[n:].sum()),
        lower_bound=finite(getattr(sol, "lower_bound", None)),
        neurons={
            "tensor": fl.pre,
            "kept": kept.tolist(),
            "ig": scores[kept].tolist(),
            "constrained": r.active.tolist(),
            "thresholds": r.thresholds.tolist(),
        },
        solution=sol.to_dict(),
        certificate=r.certificate,
        exact_check=r.exact,
        alternatives=[a[:n] for a in r.alternatives],
        notes=r.notes,
        timings={
            "ig": t_ig,
            **r.timings,
            "total": time.perf_counter() - t_start,
        },
        versions=versions(backend=sol.to_dict().get("backend_version")),
    )
