"""The method registry: one signature for all methods, options validated once, records that round-trip."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import smugkit
from smugkit import zoo
from smugkit.attribution import METHODS, Attribution, get_method
from smugkit.attribution.integrated_gradients import integrated_gradients
from smugkit.attribution.smug import SmugConfig
from smugkit.errors import InputError
from smugkit.model import Model


@pytest.fixture(scope="module")
def model():
    return Model(zoo.model_path("digits_cnn8"))


@pytest.fixture(scope="module")
def x():
    return zoo.sample_inputs(8)[0][0]


def test_registry_holds_the_methods_with_their_declarations():
    assert {"gradient", "integrated_gradients", "smug"} <= set(METHODS)
    for cls in METHODS.values():
        assert cls.needs <= {"scores", "probs", "grad"}


def test_gradient_method_is_the_models_gradient(model, x):
    a = smugkit.attribute(model, x, method="gradient", target=4, kind="logit")
    assert a.method == "gradient" and a.target == 4 and a.tensor == model.input.name
    assert np.array_equal(a.values, model.grad(x.reshape(model.input.shape), 4, kind="logit"))
    assert a.options == {"kind": "logit", "tensor": None, "gradients": "ir"}


def test_integrated_gradients_method_matches_the_function_and_is_complete(model, x):
    a = smugkit.attribute(model, x, method="integrated_gradients", steps=64, rule="gauss_legendre")
    ref = integrated_gradients(model, x, target=a.target, steps=64, rule="gauss_legendre")
    assert a.target == model.predict(x.reshape(model.input.shape))
    assert np.allclose(a.values.reshape(-1), np.asarray(ref.attributions).reshape(-1))
    assert a.diagnostics["completeness_error"] == pytest.approx(ref.completeness_error)
    gap = a.diagnostics["f_x"] - a.diagnostics["f_baseline"]
    assert abs(a.values.sum() - gap) == pytest.approx(a.diagnostics["completeness_error"])
    assert a.diagnostics["relative_error"] < 1e-2


def test_smug_method_gives_the_explanations_saliency(model, x):
    a = smugkit.attribute(model, x, method="smug", top_k=20, window=2, backend="highs")
    e = smugkit.explain(model, x, top_k=20, window=2, backend="highs")
    assert a.values.shape == model.input.shape
    assert np.allclose(a.values.reshape(8, 8), e.saliency)
    assert a.diagnostics["mask_size"] == e.mask_size and a.diagnostics["certified"] is e.certified


def test_smug_base_is_the_explanations_base_map_without_a_solve(model, x):
    a = smugkit.attribute(model, x, method="smug_base", top_k=20, ig_steps=30)
    e = smugkit.explain(model, x, top_k=20, ig_steps=30, backend="highs")
    assert np.allclose(a.values.reshape(8, 8), e.saliency_base)
    assert "solve" not in a.timings and len(a.diagnostics["kept"]) == 20
    with pytest.raises(InputError, match="score must be one of"):
        get_method("smug_base", score="mean")


def test_explain_takes_target_as_a_synonym_of_label(model, x):
    e = smugkit.explain(model, x, target=3, top_k=10, ig_steps=10, backend="highs")
    assert e.label == 3
    with pytest.raises(InputError, match="disagree"):
        smugkit.explain(model, x, label=2, target=3)


def test_attribution_round_trips_through_json(model, x, tmp_path):
    a = smugkit.attribute(model, x, method="gradient")
    b = Attribution.load(a.save(tmp_path / "a.json")["json"])
    assert np.array_equal(a.values, b.values) and b.values.shape == a.values.shape
    assert b.to_dict() == a.to_dict()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read an attribution"):
        Attribution.load(tmp_path / "bad.json")


def test_bad_methods_options_and_targets_are_typed_errors(model, x):
    with pytest.raises(InputError, match="unknown attribution method 'nope'"):
        smugkit.attribute(model, x, method="nope")
    with pytest.raises(InputError, match=r"has no option\(s\) \['stepz'\]"):
        get_method("integrated_gradients", stepz=3)
    with pytest.raises(InputError, match="steps must be an integer"):
        get_method("integrated_gradients", steps=0)
    with pytest.raises(InputError, match="unknown baseline"):
        get_method("integrated_gradients", baseline="grey")
    with pytest.raises(InputError, match="out of range"):
        smugkit.attribute(model, x, method="gradient", target=10)
    with pytest.raises(InputError, match="does not match the model input"):
        smugkit.attribute(model, np.zeros(5), method="gradient")
    with pytest.raises(InputError, match=r"unknown SMUG option\(s\) \['topk'\]"):
        smugkit.explain(model, x, topk=3)
    with pytest.raises(InputError, match="gamma must be in"):
        SmugConfig(gamma=1.5)


def test_cli_options_follow_the_smug_config():
    parser = argparse.ArgumentParser()
    SmugConfig.add_arguments(parser)
    args = parser.parse_args(["--top-k", "7", "--gamma", "0.25", "--encoding", "full", "--strict"])
    cfg = SmugConfig.from_arguments(args)
    assert cfg == SmugConfig(top_k=7, gamma=0.25, encoding="full", strict=True)
    assert SmugConfig.from_arguments(parser.parse_args([])) == SmugConfig()
    with pytest.raises(SystemExit):
        parser.parse_args(["--score", "mean"])
