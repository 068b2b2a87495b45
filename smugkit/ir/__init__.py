"""The network IR: ONNX-free ops over named tensors with exact forward, VJP and interval bounds."""

from smugkit.ir import activations, elementwise, linear, pooling, shape_ops  # noqa: F401  (register ops)
from smugkit.ir.base import OPS, Op
from smugkit.ir.network import FirstLayer, Network, TensorInfo

__all__ = ["OPS", "FirstLayer", "Network", "Op", "TensorInfo"]
