"""Text instances for ``smugkit bench --suite text``: the bundled text CNN on planted-set sentences."""

from __future__ import annotations

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network

#: bundled text models that bench instances may name
TEXT_MODELS = ("text_cnn",)


def text_instance(model: str, sample: int) -> tuple[Network, np.ndarray]:
    """The cut network of a bundled text model and the embedded planted sentence ``sample``."""
    from smugkit.text import planted
    from smugkit.text.explain import text_model
    from smugkit.text.vocab import Vocabulary
    from smugkit.text.zoo import text_model_path, text_vocab_path

    items = planted.load()
    if not 0 <= sample < len(items):
        raise InputError(f"text instance sample must be in 0..{len(items) - 1}, got {sample}")
    vocab = Vocabulary.load(text_vocab_path(model))
    tm = text_model(text_model_path(model), vocab)
    return tm.network, tm.embed(vocab.encode(items[sample].text).ids)
