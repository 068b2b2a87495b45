"""An explanation says when its answer is trivial and what its certificate covers."""

from __future__ import annotations

import numpy as np

import smugkit
from smugkit.attribution.smug.explanation import Explanation
from smugkit.attribution.smug.pipeline import honesty_notes
from smugkit.zoo import model_path, sample_inputs


def test_trivial_answers_are_flagged():
    notes = honesty_notes(np.zeros(4), 3, 3, np.array([0.5, 0.0, 0.0]), 1, "first_layer")
    text = " | ".join(notes)
    assert "also on the fully masked input" in text
    assert "mask is empty" in text
    assert "2 of the 3 top-k neurons have an IG score of 0" in text and "1 were ranked" in text
    assert "1 constrained first-layer neurons only" in text


def test_a_plain_answer_only_states_the_certificate_scope():
    notes = honesty_notes(np.ones(4), 3, 1, np.array([0.5, 0.2]), 2, "full")
    assert notes == ["the certificate covers the label's logit margin on the masked input (whole network)"]


def test_zero_ig_neurons_reach_the_summary():
    x, _ = sample_inputs(28)
    e = smugkit.explain(model_path("digits_mlp28"), x[0], top_k=50, ig_steps=20, window=4, timeout=5)
    zero = int(np.count_nonzero(np.asarray(e.neurons["ig"]) == 0))
    assert zero > 0  # this model's first layer has many neurons that IG does not reach
    assert f"{zero} of the 50 top-k neurons have an IG score of 0" in e.summary()
    assert Explanation.from_dict(e.to_dict()).notes == e.notes


def test_full_mask_fallback_is_flagged():
    notes = honesty_notes(np.ones(4), 3, 1, np.array([0.5]), 1, "full", fallback=True)
    assert notes[0].startswith("the solver found no smaller mask within its budget")
