"""A readable (or JSON) summary of a model as smugkit sees it: shapes, layers, first layer, folds and cuts."""

from __future__ import annotations

import textwrap
from collections import Counter

from smugkit.errors import ModelError, UnsupportedOpError
from smugkit.frontends import load_model, read_model
from smugkit.ir import Network


def summarize(source, *, input_shapes=None, batch_size: int = 1) -> dict:
    """Describe a model as a JSON-ready dict; unsupported ops are listed instead of raised."""
    try:
        net = load_model(source, input_shapes=input_shapes, batch_size=batch_size)
    except UnsupportedOpError as e:
        model, label, _ = read_model(source)
        return {
            "source": label,
            "supported": False,
            "unsupported": e.ops,
            "onnx_ops": dict(Counter(n.op_type for n in model.graph.node)),
        }
    return network_summary(net)


def network_summary(net: Network) -> dict:
    """Describe a loaded `Network` as a JSON-ready dict."""
    try:
        fl = net.first_layer()
        first = {
            "layer": fl.layer,
            "op": fl.kind,
            "pre_activation": fl.pre,
            "activation": fl.activation_type,
            "post_activation": fl.post,
            "neurons": net.tensors[fl.pre].size,
            "affine_part": list(fl.affine_part),
        }
    except ModelError as e:
        first = {"error": str(e)}
    return {
        "source": net.origin.source,
        "producer": net.origin.producer,
        "opset": net.origin.opset,
        "supported": True,
        "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in net.inputs],
        "outputs": [
            {
                "name": t.name,
                "onnx_name": net.origin.output_names.get(t.name, t.name),
                "shape": list(t.shape),
            }
            for t in net.outputs
        ],
        "outputs_are": "logits (softmax follows)" if net.origin.post_processing == "softmax" else "scores",
        "layers": [
            {
                "node": n.name,
                "op": n.op_type,
                "shape": list(net.tensors[n.output].shape),
                "params": n.num_params(),
                "details": n.describe(),
            }
            for n in net.nodes
        ],
        "parameters": net.num_params(),
        "first_layer": first,
        "notes": list(net.origin.notes),
        "unsupported": {},
    }


def format_summary(s: dict) -> str:
    """Render a summary dict as text tables."""
    lines = [f"model: {s['source']}"]
    if not s["supported"]:
        lines.append("status: NOT SUPPORTED — unsupported ops:")
        lines += [f"  {op:<28} {', '.join(nodes)}" for op, nodes in sorted(s["unsupported"].items())]
        lines.append("ops in the file: " + ", ".join(f"{k} x{v}" for k, v in sorted(s["onnx_ops"].items())))
        return "\n".join(lines)
    lines.append(f"producer: {s['producer'] or '?'}   opset: {s['opset']}   parameters: {s['parameters']:,}")
    lines.append("inputs:  " + "; ".join(f"{t['name']} {t['shape']} {t['dtype']}" for t in s["inputs"]))
    lines.append(
        "outputs: "
        + "; ".join(f"{t['name']} {t['shape']}" for t in s["outputs"])
        + f"   ({s['outputs_are']})"
    )
    rows = [("#", "node", "op", "output shape", "params", "details")]
    rows += [
        (str(i), L["node"], L["op"], str(L["shape"]), f"{L['params']:,}", L["details"])
        for i, L in enumerate(s["layers"])
    ]
    lines.append("")
    lines.extend(_table(rows, wrap={1: 40, 5: 80}))
    fl = s["first_layer"]
    lines.append("")
    if "error" in fl:
        lines.append(f"first layer: none usable for SMUG ({fl['error']})")
    else:
        lines.append(
            f"first layer: {fl['op']} {fl['layer']!r} -> {fl['activation']} "
            f"({fl['neurons']} neurons; pre-activation {fl['pre_activation']!r}, "
            f"post-activation {fl['post_activation']!r})"
        )
    for n in s["notes"]:
        lines.append(f"note: {n}")
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]], wrap: dict[int, int]) -> list[str]:
    """Rows as aligned columns; the columns in ``wrap`` wrap at their width instead of being cut."""
    cells = [
        [
            textwrap.wrap(v, wrap[c], break_on_hyphens=False) or [""] if c in wrap else [v]
            for c, v in enumerate(r)
        ]
        for r in rows
    ]
    widths = [max(len(line) for r in cells for line in r[c]) for c in range(len(rows[0]))]
    out = []
    for r in cells:
        for k in range(max(len(c) for c in r)):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(r, widths)]
            out.append("  ".join(parts).rstrip())
    return out
