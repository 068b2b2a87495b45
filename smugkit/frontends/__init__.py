"""Frontends that read models from other formats into the network IR."""

from smugkit.frontends.onnx import load_model, parse_shape, read_model

__all__ = ["load_model", "parse_shape", "read_model"]
