"""Every third-party model in ../shared/models/marabou: the IR matches onnxruntime, or is rejected as documented."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest

from smugkit.errors import ModelError, UnsupportedOpError
from smugkit.frontends import load_model
from tests import shared_models
from tests.shared_models import FILES, MARABOU, REJECTED, expect_rejected, name_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ir"))  # the op-test helpers
from opcheck import fd_check, ort_run

if not MARABOU.is_dir():
    pytest.skip(
        f"third-party models not found at {MARABOU} (see DESIGN.md: ../shared/models)",
        allow_module_level=True,
    )

MODELS = [name_of(p) for p in FILES]


def random_feeds(net, rng) -> dict:
    feeds = {}
    for t in net.inputs:
        if t.dtype.startswith(("int", "uint")):
            feeds[t.name] = rng.integers(0, 5, t.shape).astype(t.dtype)
        else:
            feeds[t.name] = rng.standard_normal(t.shape).astype(np.float32)
    return feeds


def max_error(path: Path, net, feeds) -> float:
    """Largest absolute difference between the IR outputs and onnxruntime's tensors of the same ONNX names."""
    names = [net.origin.output_names.get(o.name, o.name) for o in net.outputs]
    ref = ort_run(onnx.load(str(path)), feeds, names)
    got = net.run(feeds)
    err = 0.0
    for o, r in zip(net.outputs, ref):
        assert np.shape(got[o.name]) == r.shape, f"{o.name}: {np.shape(got[o.name])} vs onnxruntime {r.shape}"
        np.testing.assert_allclose(
            got[o.name], r, rtol=1e-4, atol=1e-4 * (1 + np.abs(r).max()), err_msg=f"output {o.name} ({names})"
        )
        err = max(err, float(np.abs(got[o.name] - r).max()) if r.size else 0.0)
    return err


def test_models_found():
    assert len(MODELS) >= 50
    assert set(REJECTED) <= set(MODELS)


def test_a_listed_model_that_starts_loading_fails(monkeypatch):
    monkeypatch.setitem(REJECTED, "mnist2x10.onnx", (ModelError, "Gemm", "pretend it is refused"))
    with pytest.raises(pytest.fail.Exception):
        shared_models.load_shared(MARABOU / "mnist2x10.onnx")


def test_an_unlisted_model_that_is_refused_fails_instead_of_skipping(monkeypatch):
    def refuse(path):
        raise UnsupportedOpError({"Gemm": ["fc1"]}, str(path))

    monkeypatch.setattr(shared_models, "load_model", refuse)
    with pytest.raises(UnsupportedOpError):
        shared_models.load_shared(MARABOU / "mnist2x10.onnx")


@pytest.mark.parametrize("name", MODELS)
def test_shared_model(name):
    path = MARABOU / name
    if name in REJECTED:
        expect_rejected(path)
        return
    net = load_model(path)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for _ in range(2):
        max_error(path, net, random_feeds(net, rng))

    # reverse mode against finite differences
    feeds = random_feeds(net, rng)
    fd_check(net, feeds, rng, tol=1e-4, max_coords=64)

    # a stack of three inputs gives the three single results
    stack = [random_feeds(net, rng) for _ in range(3)]
    stacked = net.run({k: np.stack([s[k] for s in stack]) for k in stack[0]})
    for k, s in enumerate(stack):
        single = net.run(s)
        for o in net.outputs:
            np.testing.assert_allclose(stacked[o.name][k], single[o.name], rtol=1e-12, atol=1e-12)
