"""Gradient providers, one module each, in the registry `PROVIDERS` (see `base` for how to add one)."""

from smugkit.model.providers import auto, external, fd, ir, onnx  # noqa: F401  (register the providers)
from smugkit.model.providers.auto import AutoProvider
from smugkit.model.providers.base import PROVIDERS, GradientProvider, get_provider, register_provider
from smugkit.model.providers.external import ExternalProvider
from smugkit.model.providers.fd import EPS32, FDProvider
from smugkit.model.providers.ir import IRProvider
from smugkit.model.providers.onnx import OnnxProvider

__all__ = [
    "EPS32",
    "PROVIDERS",
    "AutoProvider",
    "ExternalProvider",
    "FDProvider",
    "GradientProvider",
    "IRProvider",
    "OnnxProvider",
    "get_provider",
    "register_provider",
]
