"""Text models: SMUG with one mask bit per token on the embedded input, vocabularies, rendering, planted set.

`explain_text` explains a prediction; `cut_at_embedding` splits an ONNX text model at its embedding look-up;
`Vocabulary` turns text into fixed-length ids; `render` draws token scores as HTML or terminal colours.
"""

from smugkit.text.cut import TextModel, cut_at_embedding
from smugkit.text.explain import explain_text, text_model
from smugkit.text.explanation import TextExplanation
from smugkit.text.vocab import TruncationWarning, Vocabulary, tokenize

__all__ = [
    "TextExplanation",
    "TextModel",
    "TruncationWarning",
    "Vocabulary",
    "cut_at_embedding",
    "explain_text",
    "text_model",
    "tokenize",
]
