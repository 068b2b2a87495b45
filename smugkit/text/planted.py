"""The planted-rationale set: neutral template sentences with planted sentiment words, the words' positions
being the ground-truth rationale (the tokens a good explanation of the sentiment should pick).

``python -m smugkit.text.planted`` rewrites ``smugkit/zoo/text_planted.json`` from the lists below; the set is
built deterministically (each context meets the words in turn) and is independent of any model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smugkit.errors import InputError
from smugkit.text.vocab import tokenize

PATH = Path(__file__).resolve().parents[1] / "zoo" / "text_planted.json"

POSITIVE = ["great", "love", "amazing", "awesome", "best", "thanks", "excellent", "happy", "perfect", "nice"]
NEGATIVE = ["worst", "terrible", "hate", "awful", "rude", "horrible", "bad", "cancelled", "broken", "stuck"]
#: contexts with one slot; all of their words are meant to be neutral
ONE = [
    "the flight to boston this morning was {}",
    "{} service from the crew on the plane today",
    "my new phone is {}",
    "the update on the app last night is {}",
    "{} experience with the airline this week",
    "the people at the gate were {}",
    "we got a {} seat on the way to chicago",
    "the car picked me up at the airport and it was {}",
    "{} day at the office with my team",
    "this movie on the plane was {}",
    "just landed in new york and the trip was {}",
    "the new ipad is {}",
    "{} customer service on the phone",
    "the weather in denver is {} today",
    "our bags came out and the airline was {}",
    "{} flight from dallas to la",
    "the battery on this laptop is {}",
    "my order from the store is {}",
    "{} news about the game tonight",
    "the hotel in the city was {}",
    "{} morning on the train to work",
    "the show last night on tv was {}",
    "a {} week for the company and its stock",
    "the driver and the ride were {}",
    "my coffee at the airport this morning is {}",
]
#: contexts with two slots, both filled with words of the same sentiment
TWO = [
    "{} flight and {} crew",
    "the seats were {} and the food was {}",
    "{} phone with a {} camera",
    "the trip home was {} and the staff {}",
    "{} app and {} support",
]


@dataclass(frozen=True)
class PlantedItem:
    """One sentence: its text, label (1 positive, 0 negative) and the positions of its planted words."""

    text: str
    label: int
    rationale: tuple[int, ...]

    def truth(self, n: int) -> np.ndarray:
        """A boolean vector over the first ``n`` tokens: True at the planted words."""
        t = np.zeros(n, dtype=bool)
        t[[i for i in self.rationale if i < n]] = True
        return t


def build() -> list[PlantedItem]:
    """The set: every one-slot context once with a positive and once with a negative word, plus two-slot ones."""
    items: list[PlantedItem] = []
    for i, ctx in enumerate(ONE):
        for label, words in ((1, POSITIVE), (0, NEGATIVE)):
            items.append(_fill(ctx, [words[i % len(words)]], label))
    for i, ctx in enumerate(TWO):
        for label, words in ((1, POSITIVE), (0, NEGATIVE)):
            items.append(_fill(ctx, [words[(2 * i) % len(words)], words[(2 * i + 1) % len(words)]], label))
    return items


def _fill(ctx: str, words: list[str], label: int) -> PlantedItem:
    marked = ctx.format(*(f"\x00{w}\x00" for w in words))
    toks, positions = [], []
    for piece_i, piece in enumerate(marked.split("\x00")):
        found = tokenize(piece)
        if piece_i % 2 == 1:
            positions.extend(range(len(toks), len(toks) + len(found)))
        toks.extend(found)
    return PlantedItem(ctx.format(*words), label, tuple(positions))


def load(path: str | Path = PATH) -> list[PlantedItem]:
    """The planted set as stored (``smugkit/zoo/text_planted.json`` by default)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"planted-rationale set not found: {path}")
    d = json.loads(path.read_text())
    return [PlantedItem(i["text"], int(i["label"]), tuple(i["rationale"])) for i in d["items"]]


def main() -> None:
    items = build()
    doc = {
        "description": "template sentences with planted sentiment words; rationale = token positions of the "
        "planted words (tokenised by smugkit.text.vocab.tokenize); label 1 positive, 0 negative",
        "command": "python -m smugkit.text.planted",
        "items": ["@ITEMS@"],
    }
    rows = ",\n  ".join(
        json.dumps({"text": i.text, "label": i.label, "rationale": list(i.rationale)}) for i in items
    )
    PATH.write_text(json.dumps(doc, indent=1).replace('"@ITEMS@"', rows) + "\n")
    print(f"wrote {len(items)} sentences to {PATH}")


if __name__ == "__main__":
    main()
