"""The text side of ``smugkit explain --text/--vocab``, ``smugkit demo --task text`` and ``smugkit evaluate``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from smugkit.errors import InputError

#: the sentence ``smugkit demo --task text`` explains when none is given
DEMO_TEXT = "the flight was delayed again and the staff were rude"


def read_ids(path: str | Path) -> np.ndarray:
    """Token ids from a .json list or a .npy array."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        if path.suffix.lower() == ".json":
            return np.asarray(json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise InputError(f"{path}: not a list of token ids: {e}") from e
    raise InputError(f"{path}: token ids are read from .json or .npy files")


def use_color() -> bool:
    """Colour when stdout is a terminal (and NO_COLOR is unset), or when FORCE_COLOR is set."""
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def run_text_explain(args, model, vocab, *, text=None, ids=None, labels=None, out: Path, progress) -> int:
    """Explain, print the coloured tokens and the summary, write explanation.json/.html; exit code 0/1."""
    import warnings

    from smugkit.attribution.smug import SmugConfig
    from smugkit.text.explain import explain_text
    from smugkit.text.render import terminal
    from smugkit.text.vocab import TruncationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        e = explain_text(
            model,
            text,
            vocab=vocab,
            ids=ids,
            config=SmugConfig.from_arguments(args),
            label=args.label,
            labels=labels,
            progress=progress,
        )
    for w in caught:
        print(f"smugkit: warning: {w.message}", file=sys.stderr)
    files = e.save(out)
    print(terminal(e.tokens, e.saliency_base, e.mask_bits, color=use_color()))
    print(e.summary())
    print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0 if e.certified or e.certificate is None else 1


def is_text_model(model: str, vocab: str | None) -> bool:
    """A text evaluation: a bundled text model, or any model given with its vocabulary."""
    from smugkit.text.zoo import text_manifest

    return vocab is not None or model in text_manifest()["models"]


def text_evaluation(args):
    """What ``smugkit evaluate`` needs for a text model: the runner (on the model, vocabulary and sentences),
    the sentences, the default methods and metrics, and what one item is called."""
    from functools import partial

    from smugkit.evaluation.text import (
        DEFAULT_TEXT_METHODS,
        DEFAULT_TEXT_METRICS,
        evaluate_text,
        load_text_data,
    )
    from smugkit.text.explain import text_model
    from smugkit.text.vocab import Vocabulary
    from smugkit.text.zoo import text_manifest, text_model_path, text_vocab_path

    bundled = args.model in text_manifest()["models"]
    vocab = Vocabulary.load(args.vocab or text_vocab_path(args.model))
    tm = text_model(text_model_path(args.model) if bundled else args.model, vocab)
    data = load_text_data(args.data, args.model if bundled else None, n=args.n)
    defaults = (",".join(DEFAULT_TEXT_METHODS), ",".join(DEFAULT_TEXT_METRICS))
    return partial(evaluate_text, tm, vocab, data), data, defaults, "sentence"
