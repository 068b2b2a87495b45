"""Attribution methods, one module each, in the registry `METHODS` (see `base` for how to add one)."""

from smugkit.attribution import (  # noqa: F401  (register the methods)
    blur_ig,
    geometric_ig,
    gradient,
    gradient_x_input,
    gsa,
    guided_ig,
    integrated_gradients,
    local_smooth,
    meaningful_perturbation,
    noise_tunnel,
    occlusion,
    rise,
    smug,
    surrogates,
)
from smugkit.attribution.base import METHODS, Attribution, Method, attribute, get_method, register_method

__all__ = ["METHODS", "Attribution", "Method", "attribute", "get_method", "register_method"]
