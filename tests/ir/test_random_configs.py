"""Seeded random attribute combinations of the windowed and index-map ops, each checked like the op tests."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper
from opcheck import check_all, model, ort_run, random_feeds

node = helper.make_node


def _windowed_case(rng: np.random.Generator):
    """A random Conv / MaxPool / AveragePool on 1-D or 2-D input, or None where onnxruntime deviates."""
    op = str(rng.choice(["Conv", "MaxPool", "AveragePool"]))
    nsp = int(rng.integers(1, 3))
    k = [int(rng.integers(1, 4)) for _ in range(nsp)]
    s = [int(rng.integers(1, 4)) for _ in range(nsp)]
    d = [int(rng.integers(1, 3)) for _ in range(nsp)]
    size = [int(rng.integers((kk - 1) * dd + 1, 9)) for kk, dd in zip(k, d)]
    attrs: dict = {"kernel_shape": k, "strides": s}
    pad = str(rng.choice(["pads", "SAME_UPPER", "SAME_LOWER", "VALID", "none"]))
    if pad == "pads":
        attrs["pads"] = [int(rng.integers(0, kk)) for kk in k] + [int(rng.integers(0, kk)) for kk in k]
    elif pad != "none":
        attrs["auto_pad"] = pad
    same = pad.startswith("SAME")
    if not same:  # onnxruntime rejects or mis-sizes SAME padding with dilations
        attrs["dilations"] = d
    if op != "Conv" and same and any(ss > kk for ss, kk in zip(s, k)):
        return None  # onnxruntime pools use negative SAME pads here (a shifted or refused window)
    if op != "Conv" and not same and rng.random() < 0.5:
        attrs["ceil_mode"] = 1
    if op == "AveragePool":
        attrs["count_include_pad"] = int(rng.integers(0, 2))
    c = int(rng.integers(1, 4))
    inits, ins = {}, ["X"]
    if op == "Conv":
        g = int(rng.choice([1, c]))
        m = g * int(rng.integers(1, 3))
        attrs["group"] = g
        inits["W"] = rng.standard_normal([m, c // g, *k]).astype(np.float32)
        ins.append("W")
        if rng.random() < 0.5:
            inits["B"] = rng.standard_normal(m).astype(np.float32)
            ins.append("B")
    shape = (int(rng.integers(1, 3)), c, *size)
    return model([node(op, ins, ["Y"], **attrs)], [("X", shape)], ["Y"], inits, opset=19)


def _index_case(rng: np.random.Generator):
    """A random Slice / Pad / Gather / Concat / Transpose / Split on a tensor of rank 1 to 4."""
    rank = int(rng.integers(1, 5))
    shape = [int(rng.integers(1, 5)) for _ in range(rank)]
    op = str(rng.choice(["Slice", "Pad", "Gather", "Concat", "Transpose", "Split"]))
    inits, ins, attrs, inputs, outs = {}, ["X"], {}, [("X", shape)], ["Y"]
    if op == "Slice":
        axes = [int(a) for a in rng.choice(rank, int(rng.integers(1, rank + 1)), replace=False)]
        steps = [int(rng.choice([-2, -1, 1, 1, 2, 3])) for _ in axes]
        starts = [int(rng.integers(-shape[a] - 2, shape[a] + 2)) for a in axes]
        ends = [int(rng.integers(-shape[a] - 2, shape[a] + 2)) for a in axes]
        inits = {
            "s": np.array(starts),
            "e": np.array(ends),
            "a": np.array([a - rank * int(rng.random() < 0.5) for a in axes]),
            "t": np.array(steps),
        }
        ins = ["X", "s", "e", "a", "t"]
    elif op == "Pad":
        mode = str(rng.choice(["constant", "reflect", "edge"]))
        pads = [int(rng.integers(0, 3)) for _ in range(2 * rank)]
        if mode == "reflect":
            pads = [min(p, shape[i % rank] - 1) for i, p in enumerate(pads)]
        attrs["mode"] = mode
        inits = {"p": np.array(pads), "v": np.float32(rng.standard_normal())}
        ins = ["X", "p", "v"] if mode == "constant" else ["X", "p"]
    elif op == "Gather":
        axis = int(rng.integers(-rank, rank))
        idx_shape = tuple(int(rng.integers(1, 3)) for _ in range(int(rng.integers(0, 3))))
        inits = {"i": rng.integers(-shape[axis], shape[axis], size=idx_shape)}
        ins, attrs["axis"] = ["X", "i"], axis
    elif op == "Concat":
        axis = int(rng.integers(-rank, rank))
        other = list(shape)
        other[axis] = int(rng.integers(1, 4))
        inits = {"c": rng.standard_normal(other).astype(np.float32)}
        inputs.append(("Z", shape))
        ins, attrs["axis"] = ["X", "c", "Z", "X"], axis
    elif op == "Transpose":
        attrs["perm"] = [int(p) for p in rng.permutation(rank)]
    else:
        axis = int(rng.integers(0, rank))
        shape[axis] = max(shape[axis], 2)
        cut = int(rng.integers(1, shape[axis]))
        inits = {"sp": np.array([cut, shape[axis] - cut])}
        ins, outs, attrs["axis"] = ["X", "sp"], ["Y0", "Y1"], axis
    inits = {k: v.astype(np.int64) if v.dtype.kind == "i" else v for k, v in inits.items()}
    return model([node(op, ins, outs, **attrs)], inputs, outs, inits)


@pytest.mark.parametrize("family,make", [("windowed", _windowed_case), ("index", _index_case)])
@pytest.mark.parametrize("seed", range(4))
def test_random_configurations(family, make, seed):
    rng = np.random.default_rng(1000 * seed + len(family))
    checked = 0
    for _ in range(40):
        m = make(rng)
        if m is None:
            continue
        feeds = random_feeds(m, rng)
        ort_run(m, feeds)  # the combination is valid for onnxruntime
        try:
            check_all(m, rng, feeds=feeds, atol=1e-4)
        except AssertionError as e:
            raise AssertionError(
                f"{helper.printable_node(m.graph.node[0])} on {[list(v.shape) for v in feeds.values()]}: {e}"
            ) from None
        checked += 1
    assert checked >= 20
