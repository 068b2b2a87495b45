"""The cut of post-processing (Softmax, ArgMax, ZipMap, ArrayFeatureExtractor, ...) off a model's outputs.

Explanations and constraints are about the raw scores, so each output is walked back through the ops that
turn scores into probabilities or decisions, and the model ends at the scores instead.
"""

from __future__ import annotations

import onnx

#: Ops that turn scores into probabilities or decisions; they are cut off the end of a model.
POST_PROCESSING = {"Softmax", "LogSoftmax", "ArgMax", "ArgMin", "ZipMap", "ArrayFeatureExtractor", "TopK"}
#: Ops that may stand between the scores and a post-processing op without changing the scores.
PASS_THROUGH = {"Cast", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"}


def cut_post_processing(graph: onnx.GraphProto) -> tuple[list[str], list[str], str | None]:
    """Walk back from each output through post-processing ops; return the score tensors and what was cut."""
    producer = {o: n for n in graph.node for o in n.output}
    init = {t.name for t in graph.initializer}
    outputs: list[str] = []
    notes: list[str] = []
    post: str | None = None
    for out in graph.output:
        t, chain = out.name, []
        while t in producer and producer[t].op_type in POST_PROCESSING | PASS_THROUGH:
            n = producer[t]
            chain.append(n)
            data = [
                i
                for i in n.input
                if i and i not in init and i in producer or i in {x.name for x in graph.input}
            ]
            if not data:
                break
            t = data[-1] if n.op_type == "ArrayFeatureExtractor" else data[0]
        deepest = max((k for k, n in enumerate(chain) if n.op_type in POST_PROCESSING), default=None)
        if deepest is None:
            keep = out.name
        else:
            cut = chain[: deepest + 1]
            keep = next(i for i in cut[-1].input if i and i not in init)
            if cut[-1].op_type == "ArrayFeatureExtractor":
                keep = [i for i in cut[-1].input if i and i not in init][-1]
            ops = " -> ".join(n.op_type for n in reversed(cut))
            notes.append(f"output {out.name!r}: cut post-processing {ops} after tensor {keep!r}")
            kinds = {n.op_type for n in cut}
            if "Softmax" in kinds:
                post = "softmax"
            elif "LogSoftmax" in kinds:
                post = post or "log_softmax"
        if deepest is not None:
            # an ArgMax/ZipMap chain may pass through Softmax: keep walking to the raw scores
            while keep in producer and producer[keep].op_type in POST_PROCESSING | {"Cast", "Identity"}:
                n = producer[keep]
                if n.op_type == "Softmax":
                    post = "softmax"
                notes.append(f"output {out.name!r}: also cut {n.op_type} {n.name!r}")
                keep = n.input[0]
        if keep not in outputs:
            outputs.append(keep)
    return outputs, notes, post
