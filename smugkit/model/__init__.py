"""The model interface every method and metric calls, and the gradient providers behind it."""

from smugkit.model.gradient import gradient
from smugkit.model.model import Model
from smugkit.model.providers import PROVIDERS, GradientProvider, get_provider, register_provider
from smugkit.model.targets import KINDS, softmax

__all__ = [
    "KINDS",
    "PROVIDERS",
    "GradientProvider",
    "Model",
    "get_provider",
    "gradient",
    "register_provider",
    "softmax",
]
