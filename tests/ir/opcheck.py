"""Helpers for op tests: build small ONNX graphs, and compare the IR with onnxruntime and finite differences."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from smugkit.errors import ModelError
from smugkit.frontends import load_model
from smugkit.ir import Network
from smugkit.ir.linearize import affine_rows

ort.set_default_logger_severity(3)

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def model(nodes, inputs, outputs, inits=None, opset: int = 17) -> onnx.ModelProto:
    """A one-graph model: ``inputs`` are ``(name, shape[, elem_type])``, ``outputs`` names (float unless a pair)."""
    ins = [helper.make_tensor_value_info(i[0], i[2] if len(i) > 2 else F, i[1]) for i in inputs]
    outs = [
        helper.make_tensor_value_info(o, F, None)
        if isinstance(o, str)
        else helper.make_tensor_value_info(o[0], o[1], None)
        for o in outputs
    ]
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "g", ins, outs, initializer=init)
    m = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8 if opset <= 17 else 10
    )
    m = onnx.shape_inference.infer_shapes(m)  # output shapes
    for o in m.graph.output:
        o.type.tensor_type.shape.SetInParent()
    return m


def ort_run(m: onnx.ModelProto, feeds: dict, names: list[str] | None = None) -> list[np.ndarray]:
    """Run onnxruntime on ``m``; ``names`` may include internal tensors (they become extra outputs)."""
    if names is not None and not {o.name for o in m.graph.output} >= set(names):
        m2 = onnx.ModelProto()
        m2.CopyFrom(m)
        have = {o.name for o in m2.graph.output}
        m2.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names if n not in have)
        m = m2
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return sess.run(names, feeds)


def random_feeds(m: onnx.ModelProto, rng: np.random.Generator, low: float | None = None) -> dict:
    """Standard normal float32 inputs (uniform in [low, low+1] when ``low`` is given); int ids in [0, 4)."""
    init = {t.name for t in m.graph.initializer}
    feeds = {}
    for i in m.graph.input:
        if i.name in init:
            continue
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        if i.type.tensor_type.elem_type == I64:
            feeds[i.name] = rng.integers(0, 4, shape).astype(np.int64)
        elif low is None:
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        else:
            feeds[i.name] = (low + rng.random(shape)).astype(np.float32)
    return feeds


def check_forward(m, net: Network, feeds, rtol=1e-4, atol=1e-5) -> None:
    """Every IR output equals the onnxruntime output of the ONNX name it stands for."""
    onnx_names = [net.origin.output_names.get(o.name, o.name) for o in net.outputs]
    ref = ort_run(m, feeds, onnx_names)
    got = net.run(feeds)
    for o, r in zip(net.outputs, ref):
        y = got[o.name]
        assert np.shape(y) == r.shape, f"{o.name}: shape {np.shape(y)} vs onnxruntime {r.shape}"
        np.testing.assert_allclose(y, r, rtol=rtol, atol=atol, err_msg=f"output {o.name}")


def linearize_check(net: Network, feeds) -> bool:
    """On a network that is affine from its single float input to each output, the sparse rows of
    `affine_rows` reproduce the forward pass (or a rule refuses the form by name); whether it applied."""
    if (
        len(net.inputs) != 1
        or not net.input.dtype.startswith("float")
        or not all(n.affine for n in net.nodes)
    ):
        return False
    x = np.asarray(feeds[net.input.name], dtype=np.float64)
    got = net.run(x)
    for o in net.outputs:
        try:
            C, off = affine_rows(net, o.name, np.arange(o.size))
        except ModelError as e:  # a rule may refuse a form it does not cover, by name, never silently
            assert "not supported" in str(e), e
            return False
        np.testing.assert_allclose(
            C @ x.reshape(-1) + off,
            got[o.name].reshape(-1),
            rtol=1e-9,
            atol=1e-9,
            err_msg=f"rows of {o.name}",
        )
    return True


def fd_check(net: Network, feeds, rng, eps: float = 1e-6, tol: float = 1e-5, max_coords: int = 400) -> None:
    """Each input's VJP (random cotangent, every output) against central finite differences of ``net.run``."""
    x0 = {k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else v for k, v in feeds.items()}
    wrt = [k for k, v in x0.items() if v.dtype.kind == "f"]
    for out in net.outputs:
        y0 = net.run(x0, [out.name])[out.name]
        ct = rng.standard_normal(np.shape(y0))
        grads = net.vjp(x0, out.name, ct, wrt=wrt)
        for name in wrt:
            x = x0[name]
            g = grads[name]
            assert g.shape == x.shape, f"vjp wrt {name}: shape {g.shape} vs {x.shape}"
            if x.size <= max_coords:
                dirs = np.eye(x.size).reshape((x.size,) + x.shape)
            else:
                dirs = rng.standard_normal((16,) + x.shape)
            stack = np.concatenate([x + eps * dirs, x - eps * dirs])
            others = {k: np.broadcast_to(v, (len(stack),) + v.shape) for k, v in x0.items() if k != name}
            ys = net.run({name: stack, **others}, [out.name])[out.name]
            n = len(dirs)
            fd = ((ys[:n] - ys[n:]) * ct).reshape(n, -1).sum(axis=1) / (2 * eps)
            an = (dirs * g).reshape(n, -1).sum(axis=1)
            np.testing.assert_allclose(
                an, fd, rtol=tol, atol=tol * (1 + np.abs(fd).max()), err_msg=f"vjp of {out.name} wrt {name}"
            )


def bounds_check(net: Network, feeds, rng, radius: float = 0.3, samples: int = 64) -> None:
    """Interval bounds of every tensor contain its value at random points of a random box (soundness)."""
    x0 = {k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else v for k, v in feeds.items()}
    r = {k: radius * rng.random(v.shape) if v.dtype.kind == "f" else np.zeros(v.shape) for k, v in x0.items()}
    lo = {k: x0[k] - r[k] if x0[k].dtype.kind == "f" else x0[k] for k in x0}
    hi = {k: x0[k] + r[k] if x0[k].dtype.kind == "f" else x0[k] for k in x0}
    box = net.bounds(lo, hi)
    pts = {
        k: (lo[k] + (hi[k] - lo[k]) * rng.random((samples,) + x0[k].shape))
        if x0[k].dtype.kind == "f"
        else np.broadcast_to(x0[k], (samples,) + x0[k].shape)
        for k in x0
    }
    # the corners matter most for piecewise ops
    for k, p in pts.items():
        if x0[k].dtype.kind == "f":
            p[0], p[1] = lo[k], hi[k]
    names = [t for t in box if t not in x0]
    vals = net.run(pts, names)
    for t in names:
        bl, bh = box[t]
        v = vals[t]
        assert bl.shape == bh.shape == v.shape[1:], (
            f"{t}: bound shapes {bl.shape}, {bh.shape} vs {v.shape[1:]}"
        )
        slack = 1e-9 * (1 + np.abs(v))
        assert np.all(v >= bl - slack), f"{t}: a value falls below its lower bound"
        assert np.all(v <= bh + slack), f"{t}: a value exceeds its upper bound"


def check_all(
    m, rng, *, feeds=None, rtol=1e-4, atol=1e-5, vjp=True, bounds=True, low=None, **load
) -> Network:
    """Load ``m`` and run the forward, VJP and bounds checks; returns the network."""
    net = load_model(m, **load)
    feeds = feeds if feeds is not None else random_feeds(m, rng, low)
    check_forward(m, net, feeds, rtol, atol)
    linearize_check(net, feeds)
    if vjp:
        fd_check(net, feeds, rng)
    if bounds:
        bounds_check(net, feeds, rng)
    return net
