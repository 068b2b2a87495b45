"""ONNX → network IR: validation, static shapes, constant folding, BatchNorm/bias folding, post-processing cut.

`reader` parses and validates a model (external data, node order, input shapes); `postprocess` cuts the
Softmax/ArgMax/ZipMap/... tail off the outputs; `convert.load_model` walks the nodes, folding constants
(`folding`) and calling one converter per op (`converters.CONVERTERS`) on the conversion state (`context`).
"""

from smugkit.frontends.onnx.context import Context, Converter
from smugkit.frontends.onnx.convert import load_model
from smugkit.frontends.onnx.converters import CONVERTERS
from smugkit.frontends.onnx.folding import FOLDABLE_ONLY
from smugkit.frontends.onnx.postprocess import PASS_THROUGH, POST_PROCESSING
from smugkit.frontends.onnx.reader import ModelSource, parse_shape, read_model

__all__ = [
    "CONVERTERS",
    "FOLDABLE_ONLY",
    "PASS_THROUGH",
    "POST_PROCESSING",
    "Context",
    "Converter",
    "ModelSource",
    "load_model",
    "parse_shape",
    "read_model",
]
