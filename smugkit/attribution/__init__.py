"""Attribution methods, one module each, in the registry `METHODS` (see `base` for how to add one)."""

from smugkit.attribution import (  # noqa: F401  (register the methods)
    gradient,
    gsa,
    integrated_gradients,
    local_smooth,
    meaningful_perturbation,
    occlusion,
    rise,
    smug,
    surrogates,
)
from smugkit.attribution.base import METHODS, Attribution, Method, attribute, get_method, register_method

__all__ = ["METHODS", "Attribution", "Method", "attribute", "get_method", "register_method"]
