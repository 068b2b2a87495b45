"""A word vocabulary and tokeniser for text models: words -> fixed-length id rows, with OOV and padding.

The vocabulary file is JSON: ``{"tokens": [...], "pad": "<pad>", "unk": "<unk>", "length": L,
"lowercase": true, "pattern": REGEX}``; a token's id is its position in ``tokens``. Unknown words map to
the ``unk`` id and are reported; shorter texts are padded with the ``pad`` id; longer ones are truncated
with a warning.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from smugkit.errors import InputError

#: words (with inner apostrophes), numbers, and the punctuation that carries sentiment
DEFAULT_PATTERN = r"[a-z0-9]+(?:'[a-z]+)?|[!?]"


def tokenize(text: str, pattern: str = DEFAULT_PATTERN, lowercase: bool = True) -> list[str]:
    """The words of ``text`` by ``pattern`` (on the lowercased text when ``lowercase``)."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, got {type(text).__name__}")
    return re.findall(pattern, text.lower() if lowercase else text)


class TruncationWarning(UserWarning):
    """The text has more tokens than the model's fixed length; the tail was dropped."""


@dataclass(frozen=True)
class Encoded:
    """A text as model ids: ``ids`` (length L), the first ``n`` of them real tokens, and the OOV words."""

    tokens: list[str]  # the real tokens as read from the text (before OOV mapping), truncated to L
    ids: np.ndarray  # (L,) int64
    unknown: list[str]  # the tokens that mapped to the OOV id
    truncated: int  # tokens dropped from the end (0 when the text fits)

    @property
    def n(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Vocabulary:
    """Token list, special tokens and the model's fixed sequence length."""

    tokens: tuple[str, ...]
    length: int
    pad: str = "<pad>"
    unk: str = "<unk>"
    lowercase: bool = True
    pattern: str = DEFAULT_PATTERN
    index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            raise InputError("vocabulary has duplicate tokens")
        for special in (self.pad, self.unk):
            if special not in self.tokens:
                raise InputError(f"vocabulary lacks its special token {special!r}")
        if not isinstance(self.length, int) or self.length < 1:
            raise InputError(f"vocabulary length must be a positive integer, got {self.length!r}")
        self.index.update({t: i for i, t in enumerate(self.tokens)})

    @property
    def pad_id(self) -> int:
        return self.index[self.pad]

    @property
    def unk_id(self) -> int:
        return self.index[self.unk]

    def __len__(self) -> int:
        return len(self.tokens)

    # -- files ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary JSON file (see the module docstring); a bad file is an `InputError`."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"vocabulary file not found: {path}")
        try:
            d = json.loads(path.read_text())
            return cls(
                tokens=tuple(d["tokens"]),
                length=int(d["length"]),
                pad=d.get("pad", "<pad>"),
                unk=d.get("unk", "<unk>"),
                lowercase=bool(d.get("lowercase", True)),
                pattern=d.get("pattern", DEFAULT_PATTERN),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path}: not a vocabulary file (needs 'tokens' and 'length'): {e}") from e

    def to_dict(self) -> dict:
        return {
            "tokens": list(self.tokens),
            "length": self.length,
            "pad": self.pad,
            "unk": self.unk,
            "lowercase": self.lowercase,
            "pattern": self.pattern,
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict()))
        return path

    # -- text -> ids ---------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        """The words of ``text`` by the vocabulary's pattern (lowercased when the vocabulary is)."""
        return tokenize(text, self.pattern, self.lowercase)

    def encode(self, text: str, *, warn: bool = True) -> Encoded:
        """Ids for ``text``: OOV words -> ``unk``, padded with ``pad`` or truncated (with a warning) to L.

        An empty text (no tokens) is an `InputError`: there is nothing to explain.
        """
        words = self.tokenize(text)
        if not words:
            raise InputError(f"text {text!r} has no tokens to explain")
        return self.encode_tokens(words, warn=warn)

    def encode_tokens(self, words: list[str], *, warn: bool = True) -> Encoded:
        """Ids for a list of already split tokens (see `encode`)."""
        if not words:
            raise InputError("no tokens to explain")
        dropped = max(0, len(words) - self.length)
        if dropped and warn:
            warnings.warn(
                f"text has {len(words)} tokens but the model reads {self.length}; "
                f"the last {dropped} were dropped",
                TruncationWarning,
                stacklevel=2,
            )
        words = list(words[: self.length])
        ids = np.full(self.length, self.pad_id, dtype=np.int64)
        ids[: len(words)] = [self.index.get(w, self.unk_id) for w in words]
        unknown = [w for w in words if w not in self.index]
        return Encoded(tokens=words, ids=ids, unknown=unknown, truncated=dropped)

    def decode(self, ids) -> list[str]:
        """Tokens of an id row up to the first padding id."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.tokens)):
            raise InputError(f"token ids must lie in [0, {len(self.tokens)}), got {ids.min()}..{ids.max()}")
        out = []
        for i in ids.tolist():
            if i == self.pad_id:
                break
            out.append(self.tokens[i])
        return out

    def encode_ids(self, ids) -> Encoded:
        """An `Encoded` from an id row (a .json/.npy of token ids): padded/truncated to L like text."""
        arr = np.asarray(ids)
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise InputError("token ids must be integers")
        arr = arr.astype(np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.tokens)):
            raise InputError(f"token ids must lie in [0, {len(self.tokens)}), got {arr.min()}..{arr.max()}")
        real = np.flatnonzero(arr != self.pad_id)
        if real.size == 0:
            raise InputError("token ids: all padding, no tokens to explain")
        arr = arr[: real[-1] + 1]  # trailing padding is not text
        if np.any(arr == self.pad_id):
            raise InputError("token ids: padding ids inside the text")
        return self.encode_tokens([self.tokens[i] for i in arr.tolist()])


def build_vocabulary(texts: list[list[str]], size: int, length: int, min_count: int = 2) -> Vocabulary:
    """The ``size`` most frequent tokens (ties by first appearance) after ``<pad>`` and ``<unk>``."""
    from collections import Counter

    counts = Counter(w for t in texts for w in t)
    words = [w for w, c in counts.most_common() if c >= min_count][: size - 2]
    return Vocabulary(tokens=("<pad>", "<unk>", *words), length=length)
