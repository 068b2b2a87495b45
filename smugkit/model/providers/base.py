"""The gradient-provider interface and its registry.

A provider computes stacked outputs and stacked vector-Jacobian products of a `Network` from stacked feeds.
To add one: write a module in this package with a `GradientProvider` subclass (set ``name``, ``precision``,
``exact``; implement ``outputs`` and ``vjp``), decorate it with `register_provider`, and import the module in
``smugkit/model/providers/__init__.py``. `Model(net, gradients=NAME)` and every method then reach it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network
from smugkit.model.targets import reduce_points, softmax

Array = np.ndarray
PROVIDERS: dict[str, type[GradientProvider]] = {}


def register_provider(cls: type[GradientProvider]) -> type[GradientProvider]:
    """Add a provider class to the registry under its ``name``."""
    PROVIDERS[cls.name] = cls
    return cls


def get_provider(provider: str | GradientProvider, net: Network, **options) -> GradientProvider:
    """A provider instance: ``provider`` itself, or a new one of the registered name built on ``net``."""
    if isinstance(provider, GradientProvider):
        if options:
            raise InputError(
                f"provider options {sorted(options)} given with a provider instance; set them when "
                f"constructing it"
            )
        return provider
    cls = PROVIDERS.get(provider)
    if cls is None:
        raise InputError(f"unknown gradient provider {provider!r}; known providers: {sorted(PROVIDERS)}")
    return cls(net, **options)


class GradientProvider:
    """Computes stacked outputs and stacked VJPs ``d<cotangent, target>/d(wrt)`` from stacked feeds."""

    name: ClassVar[str] = ""
    precision: ClassVar[str] = "float64"
    exact: ClassVar[bool] = True

    def __init__(self, net: Network) -> None:
        self.net = net

    def outputs(self, feeds: dict[str, Array], output: str) -> Array:
        """The output tensor, stacked, at the fed points."""
        raise NotImplementedError

    def vjp(
        self,
        feeds: dict[str, Array],
        output: str,
        cotangent: Array,
        wrt: str,
        softmax_axis: int | None = None,
    ) -> Array:
        """Gradient of ``<cotangent, target>`` w.r.t. tensor ``wrt``, stacked ``(S, *shape)``, in float64.

        The target is the output tensor, or its softmax over model axis ``softmax_axis``.
        """
        raise NotImplementedError

    def target_values(
        self, feeds: dict[str, Array], output: str, cotangent: Array, softmax_axis: int | None = None
    ) -> Array:
        """``<cotangent, target>`` per point, shape ``(S,)``."""
        out = np.asarray(self.outputs(feeds, output), dtype=np.float64)
        if softmax_axis is not None:
            out = softmax(out, softmax_axis + 1)
        return reduce_points(out * cotangent)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, precision={self.precision})"
