"""`Model`: the one interface every attribution method and metric calls (scores, probabilities, gradients).

It wraps a `Network` (loaded from ONNX when given a path, bytes or a ModelProto, exported to ONNX first when
given a PyTorch module with an example input) and the gradient provider
chosen for it. Every call is batched over a leading axis with the IR's conventions: an array of the input's
model shape is one point; a stack ``(S, *shape)`` or, for a batch-1 model, a batch ``(N, *shape[1:])`` is
several, and results come back in the same convention.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network, TensorInfo
from smugkit.model.providers import PROVIDERS, GradientProvider, get_provider
from smugkit.model.targets import softmax, target_kind
from smugkit.model.torch_export import export_module, is_torch_module

Array = np.ndarray


class Model:
    """A network with its gradient provider: ``scores(x)``, ``probs(x)``, ``predict(x)``, ``grad(x, target)``."""

    def __init__(
        self,
        network,
        *,
        gradients: str | GradientProvider = "ir",
        input_shapes: dict[str, tuple[int, ...]] | None = None,
        batch_size: int = 1,
        example=None,
        **provider_options,
    ) -> None:
        if isinstance(network, Model):
            network = network.network
        if is_torch_module(network):  # exported on ``example``, whose shape becomes the model's input shape
            network = export_module(network, example)
        if not isinstance(network, Network):
            from smugkit.frontends import load_model

            network = load_model(network, input_shapes=input_shapes, batch_size=batch_size)
        elif input_shapes is not None:
            raise InputError("input_shapes applies when loading a model file, not to a loaded Network")
        self.network = network
        if isinstance(gradients, GradientProvider):
            if provider_options:
                raise InputError("provider options given with a provider instance; set them when making it")
            self.gradients, self._provider = gradients.name, gradients
        else:
            self.gradients, self._provider = gradients, None
        self.provider_options = dict(provider_options)
        self.calls: Counter[str] = Counter()  # points evaluated so far, per call kind ("scores", "grad")
        if self._provider is None and gradients not in PROVIDERS:
            raise InputError(f"unknown gradient provider {gradients!r}; known providers: {sorted(PROVIDERS)}")

    @classmethod
    def of(cls, model, example=None, **options) -> Model:
        """``model`` itself when it is a `Model` (and no options are given), else a new `Model` over it.

        ``example`` (an input) is needed only for a PyTorch module, which is exported to ONNX on it.
        """
        if isinstance(model, Model) and not options:
            return model
        return cls(model, example=example, **options)

    # -- structure ---------------------------------------------------------------------------------------
    @property
    def input(self) -> TensorInfo:
        """The single model input."""
        return self.network.input

    @property
    def output(self) -> TensorInfo:
        """The single network output (the scores)."""
        return self.network.output

    @property
    def num_classes(self) -> int:
        """Units on the output's class (last) axis."""
        shape = self.output.shape
        return int(shape[-1]) if shape else 1

    @property
    def source(self) -> str:
        """Where the network came from (file path or a label), for records."""
        return str(self.network.origin.source)

    @property
    def default_kind(self) -> str:
        """What the ONNX model outputs: "probability" when a Softmax was cut off its end, else "logit"."""
        return target_kind(self.network, None)

    @property
    def provider(self) -> GradientProvider:
        """The gradient provider (made on first use, then reused so its compiled graphs are cached)."""
        if self._provider is None:
            self._provider = get_provider(self.gradients, self.network, **self.provider_options)
        return self._provider

    # -- evaluation --------------------------------------------------------------------------------------
    def scores(self, x) -> Array:
        """The network's output (logits) at the points ``x``, exact float64."""
        out = self.network(x)
        self.calls["scores"] += int(np.size(out)) // max(1, int(np.prod(self.output.shape)))
        return out

    def probs(self, x) -> Array:
        """Softmax of the scores over the class axis."""
        return softmax(self.scores(x), axis=-1)

    def predict(self, x) -> Array | int:
        """The predicted class of each point (an int for one point)."""
        s = np.asarray(self.scores(x))
        if s.shape == self.output.shape:
            return int(s.argmax())
        return s.reshape(s.shape[0], -1).argmax(axis=1)

    def activations(self, x, tensors: list[str]) -> dict[str, Array]:
        """Internal tensors at the points ``x``."""
        return self.network.run(x, list(tensors))

    def grad(
        self,
        x,
        target=None,
        *,
        kind: str | None = None,
        wrt: str | None = None,
        output: str | None = None,
        batch_size: int | None = None,
    ) -> Array:
        """Gradient of the target unit (class index, index tuple, or None: predicted) w.r.t. tensor ``wrt``.

        ``kind`` is "logit" or "probability" (None: what the ONNX model outputs); ``wrt`` defaults to the input.
        """
        from smugkit.model.gradient import gradient

        return gradient(self, x, target=target, tensor=wrt, kind=kind, output=output, batch_size=batch_size)

    def __repr__(self) -> str:
        return f"Model({self.source!r}, gradients={self.gradients!r})"
