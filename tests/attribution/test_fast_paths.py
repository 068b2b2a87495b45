"""The fast paths equal the plain ones: closed-form IG on affine tails, the auto provider, the compact files."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from onnx import helper

from smugkit.attribution.integrated_gradients import integrated_gradients, is_affine_tail
from smugkit.attribution.png import heatmap_rgb, write_png
from smugkit.attribution.smug import Explanation, explain
from smugkit.frontends import load_model
from smugkit.model import Model
from tests.attribution.helpers import make_model, tiny_cnn


def gap_cnn(seed: int = 0, classes: int = 4):
    """x (1,2,6,6) -> Conv 3x3/2 (5 filters, pads 1) -> Relu -> GlobalAveragePool -> Flatten -> MatMul."""
    rng = np.random.default_rng(seed)
    nodes = [
        helper.make_node("Conv", ["x", "W", "b"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "D"], ["y"]),
    ]
    inits = {
        "W": rng.standard_normal((5, 2, 3, 3)),
        "b": rng.standard_normal(5) * 0.1,
        "D": rng.standard_normal((5, classes)) * 3,
    }
    return load_model(make_model(nodes, inits, [1, 2, 6, 6], [1, classes]))


@pytest.mark.parametrize("kind", ["probability", "logit"])
@pytest.mark.parametrize("rule", ["riemann_mid", "trapezoid", "gauss_legendre"])
@pytest.mark.parametrize("baseline", ["zeros", "black_white"])
def test_affine_tail_ig_equals_the_step_by_step_integral(kind, rule, baseline):
    net = gap_cnn()
    x = np.random.default_rng(1).random(net.input.shape)
    t = net.first_layer().post
    assert is_affine_tail(net, t, net.output.name) and not is_affine_tail(
        net, net.input.name, net.output.name
    )
    kw = {
        "target": 2,
        "tensor": t,
        "baseline": baseline,
        "steps": 24,
        "rule": rule,
        "kind": kind,
        "gradients": "ir",
    }
    fast = integrated_gradients(net, x, **kw)
    slow = integrated_gradients(net, x, affine_tail=False, **kw)
    assert fast.options["affine_tail"] and not slow.options["affine_tail"]
    np.testing.assert_allclose(fast.attributions, slow.attributions, rtol=1e-9, atol=1e-12)
    assert fast.completeness_error == pytest.approx(slow.completeness_error, rel=1e-6, abs=1e-12)


def test_auto_provider_agrees_with_ir_and_is_reproducible():
    """auto picks onnx where it agrees with ir, by rule and not by timing: a second model gives the same bits."""
    net = load_model(tiny_cnn(seed=2, h=6, w=6, filters=3))
    x = np.random.default_rng(3).random(net.input.shape)
    auto = Model(net, gradients="auto")
    a = integrated_gradients(auto, x, target=1, steps=32, kind="probability", affine_tail=False)
    r = integrated_gradients(Model(net, gradients="ir"), x, target=1, steps=32, kind="probability")
    np.testing.assert_allclose(
        a.attributions, r.attributions, rtol=1e-4, atol=1e-6 * np.abs(r.attributions).max()
    )
    assert set(auto.provider.choices.values()) == {"onnx"}
    assert auto.provider.describe().startswith("auto(") and "onnx" in auto.provider.describe()
    again = Model(load_model(tiny_cnn(seed=2, h=6, w=6, filters=3)), gradients="auto")
    b = integrated_gradients(again, x, target=1, steps=32, kind="probability", affine_tail=False)
    np.testing.assert_array_equal(a.attributions, b.attributions)


def test_compact_files_round_trip_and_old_json_still_loads(tmp_path):
    net = gap_cnn(seed=3)
    x = np.random.default_rng(4).random(net.input.shape)
    e = explain(net, x, top_k=6, gamma=0.5, ig_steps=10, window=2)
    files = e.save(tmp_path / "new")
    record = json.loads(files["json"].read_text())
    assert record["mask_bits"] == np.asarray(e.mask_bits).astype(int).tolist()
    assert record["image"]["npz_array"] == "image" and record["image"]["shape"] == list(e.image.shape)
    back = Explanation.load(tmp_path / "new")
    assert back.to_dict() == e.to_dict()
    # the earlier format: every array inline in the JSON record
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "explanation.json").write_text(json.dumps(e.to_dict()))
    assert Explanation.load(tmp_path / "old").to_dict() == e.to_dict()


def _read_png(data: bytes) -> np.ndarray:
    """A minimal decoder for what `write_png` writes (8-bit RGB/RGBA, filter 0), independent of it."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, head = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + n : pos + 12 + n], "big")
        if kind == b"IHDR":
            head = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, c = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:8], "big"), {2: 3, 6: 4}[head[9]]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    assert not rows[:, 0].any()
    return rows[:, 1:].reshape(h, w, c)


def test_png_writer_output_decodes_with_pillow(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.uint8)
    p = write_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(p)), rgb)
    np.testing.assert_array_equal(_read_png(p.read_bytes()), rgb)
    pic = heatmap_rgb(np.eye(8), np.zeros((8, 8, 1)))
    assert pic.shape == (256, 256, 3) and pic.min() >= 0 and pic.max() <= 1


def _reference_relu_rows(c):
    """Big-M rows built neuron by neuron, straight from their definition (the vectorised builder's spec)."""
    rows, low, up, n_d = [], [], [], 0
    for rl in c.relus:
        R = rl.R.toarray()
        for i, y in enumerate(rl.out.tolist()):
            lo, hi, r = rl.lo[i], rl.hi[i], rl.r[i]
            ey = np.zeros(c.n)
            ey[y] = 1.0
            if hi <= 0:
                continue
            if lo >= 0:
                rows.append((ey - R[i], None))
                low.append(r)
                up.append(r)
                continue
            rows += [(ey - R[i], None), (ey - R[i], (n_d, -lo)), (ey, (n_d, -hi))]
            low += [r, -np.inf, -np.inf]
            up += [np.inf, r - lo, 0.0]
            n_d += 1
    M = np.zeros((len(rows), c.n + n_d))
    for k, (v, d) in enumerate(rows):
        M[k, : c.n] = v
        if d is not None:
            M[k, c.n + d[0]] = d[1]
    return M, np.array(low), np.array(up), n_d


def test_vectorised_relu_rows_equal_the_row_by_row_definition():
    from smugkit import zoo
    from smugkit.attribution.smug.full import full_network_problem
    from smugkit.backends.highs_backend import relu_rows
    from smugkit.units import detect_layout, make_windows

    net = load_model(zoo.model_path("digits_cnn8"))
    x = zoo.sample_inputs(8)[0][0].reshape(net.input.shape)
    p, _ = full_network_problem(net, x, 3, make_windows(detect_layout(net), 2), 0.0, 0.0)
    c = p.compile()
    R, lo, up, n_d, _, _ = relu_rows(c)
    M, lo2, up2, n_d2 = _reference_relu_rows(c)
    assert n_d == n_d2 > 0
    np.testing.assert_array_equal(R.toarray(), M)
    np.testing.assert_array_equal(lo, lo2)
    np.testing.assert_array_equal(up, up2)
