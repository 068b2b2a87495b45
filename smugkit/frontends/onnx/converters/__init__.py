"""The converter registry: ONNX op type -> function turning one node into IR ops.

Family modules mirror `smugkit.ir`. A converter is ``fn(ctx, node, name, attrs) -> None``: it reads inputs with
``ctx.arg`` / ``ctx.const``, adds IR ops with ``ctx.add`` and refuses what the IR cannot express with
``ctx.reject`` (all refusals of a model are reported together). To support a new ONNX op:

1. the IR op, unless an existing one expresses it: a class with ``@register`` in ``smugkit/ir/<family>.py``
   (forward, vjp, bounds), its ONNX-gradient emitter (``@emitter``, the ``EMITTERS`` registry of the
   IR -> ONNX VJP compiler), and, if it is affine, its rule (``@rule`` in ``smugkit/ir/linearize.py``);
2. the converter: one function in ``converters/<family>.py``;
3. its line in `CONVERTERS` below;
4. an op test in ``tests/ir/test_ops.py`` (forward against onnxruntime, VJP against finite differences).

An ONNX op whose IR op has the same op type and no attributes needs no new converter: map it to
``activations.unary`` (element-wise) or ``elementwise.binary`` (broadcasting, constants as params).
Ops that only ever appear on constants (shape arithmetic) need no converter either: they are folded at load
time; list them in `folding.FOLDABLE_ONLY` so that on a variable input they are reported as unsupported.
"""

from __future__ import annotations

from smugkit.frontends.onnx.context import Converter
from smugkit.frontends.onnx.converters import (
    activations,
    elementwise,
    index_maps,
    linear,
    pooling,
    shape_ops,
)

CONVERTERS: dict[str, Converter] = {
    # weighted layers
    "Gemm": linear.gemm,
    "MatMul": linear.matmul,
    "Conv": linear.conv,
    "BatchNormalization": linear.batchnorm,
    # broadcasting arithmetic
    "Add": elementwise.binary,
    "Sub": elementwise.binary,
    "Mul": elementwise.binary,
    "Div": elementwise.binary,
    # activations
    "Relu": activations.unary,
    "Sigmoid": activations.unary,
    "Tanh": activations.unary,
    "LeakyRelu": activations.leaky_relu,
    "Clip": activations.clip,
    "Softmax": activations.softmax,
    # pooling
    "MaxPool": pooling.pooling,
    "AveragePool": pooling.pooling,
    "GlobalAveragePool": pooling.global_average_pool,
    "GlobalMaxPool": pooling.global_max_pool,
    "ReduceMean": pooling.reduce_mean,
    "ReduceMax": pooling.reduce_max,
    # shape only
    "Reshape": shape_ops.reshape,
    "Flatten": shape_ops.flatten,
    "Squeeze": shape_ops.squeeze,
    "Unsqueeze": shape_ops.unsqueeze,
    "Transpose": shape_ops.transpose_,
    "Identity": shape_ops.identity,
    "Dropout": shape_ops.dropout,
    "Cast": shape_ops.cast,
    # index maps
    "Concat": index_maps.concat,
    "Gather": index_maps.gather,
    "Slice": index_maps.slice_,
    "Split": index_maps.split,
    "Pad": index_maps.pad,
}

__all__ = ["CONVERTERS", "Converter"]
