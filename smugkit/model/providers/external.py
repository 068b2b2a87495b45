"""``external``: a user's ONNX model that already outputs the gradient, run batched through onnxruntime."""

from __future__ import annotations

import numpy as np

from smugkit.errors import GradientError
from smugkit.ir import Network
from smugkit.model.providers.base import GradientProvider, register_provider
from smugkit.model.targets import one_hot, resolve_output, softmax_cotangent, target_index, target_kind
from smugkit.runtime.session import BatchedSession, load_onnx, make_session


@register_provider
class ExternalProvider(GradientProvider):
    """A user-supplied ONNX model that outputs the gradient, run batched through onnxruntime.

    ``gradient_output`` names the gradient output. The model takes points in the network's layout (batched
    along a leading 1 axis when possible) or stacks ``(S, *shape)``. With ``cotangent_input`` the model takes a cotangent on
    the network output (any target works; probability targets get the softmax chain rule applied with the
    IR's logits). Without it the model differentiates one fixed unit: give it as ``target`` (an index tuple
    into the output) and ``kind``; other targets are refused. Outputs (for completeness checks) come from
    the IR.
    """

    name = "external"
    precision = "float32"

    def __init__(
        self,
        net: Network,
        model=None,
        gradient_output: str | None = None,
        input_name: str | None = None,
        cotangent_input: str | None = None,
        target=None,
        kind: str = "logit",
        tensor: str | None = None,
        output: str | None = None,
    ) -> None:
        super().__init__(net)
        if model is None or not gradient_output:
            raise GradientError(
                "the external provider needs model=<ONNX gradient model> and gradient_output=<name>"
            )
        self.model = load_onnx(model, "external gradient model")
        self.tensor = tensor or net.input.name
        self.output = resolve_output(net, output)
        g = self.model.graph
        inits = {t.name for t in g.initializer}
        ins = [i.name for i in g.input if i.name not in inits]
        if gradient_output not in {o.name for o in g.output}:
            raise GradientError(
                f"external gradient model has no output {gradient_output!r}; outputs: "
                f"{[o.name for o in g.output]}"
            )
        if cotangent_input is not None and cotangent_input not in ins:
            raise GradientError(f"external gradient model has no input {cotangent_input!r}; inputs: {ins}")
        rest = [i for i in ins if i != cotangent_input]
        self.input_name = input_name or (
            self.tensor if self.tensor in rest else (rest[0] if len(rest) == 1 else None)
        )
        if self.input_name not in rest:
            raise GradientError(
                f"external gradient model: name the input that takes tensor {self.tensor!r} with "
                f"input_name=; inputs: {rest}"
            )
        self.gradient_output, self.cotangent_input = gradient_output, cotangent_input
        out_shape = net.tensor(self.output).shape
        self.fixed = None if target is None else target_index(out_shape, target)
        if cotangent_input is None and self.fixed is None:
            raise GradientError(
                "external gradient model without a cotangent input: give the unit it "
                "differentiates as target="
            )
        self.kind = target_kind(net, kind)
        shapes = {self.input_name: net.tensor(self.tensor).shape}
        if cotangent_input:
            shapes[cotangent_input] = out_shape
        declared = next(i for i in g.input if i.name == self.input_name).type.tensor_type.shape.dim
        # a model taking stacks (S, *shape), like the graphs `OnnxProvider.save` writes, is run as is
        self.stacked = len(declared) == len(shapes[self.input_name]) + 1
        self.session = (
            make_session(self.model, "the external gradient model")
            if self.stacked
            else BatchedSession(
                self.model, shapes, [gradient_output], {gradient_output: net.tensor(self.tensor).shape}
            )
        )

    def outputs(self, feeds, output):
        return self.net.run(feeds, [output])[output]

    def vjp(self, feeds, output, cotangent, wrt, softmax_axis=None):
        if wrt != self.tensor or set(feeds) != {wrt} or output != self.output:
            raise GradientError(
                f"the external gradient model gives d({self.output})/d({self.tensor}) from "
                f"{self.tensor!r} alone; asked for d({output})/d({wrt}) from {sorted(feeds)}"
            )
        run = {self.input_name: feeds[wrt]}
        if self.cotangent_input is None:
            want = one_hot(cotangent.shape[1:], [self.fixed] * cotangent.shape[0])
            kind = "logit" if softmax_axis is None else "probability"
            if kind != self.kind or not np.array_equal(cotangent, want):
                raise GradientError(
                    f"the external gradient model differentiates the {self.kind} of unit "
                    f"{self.fixed}; asked for another target ({kind})"
                )
        else:
            cot = cotangent
            if softmax_axis is not None:
                _, cot = softmax_cotangent(self.outputs(feeds, output), cotangent, softmax_axis + 1)
            run[self.cotangent_input] = cot
        if self.stacked:
            types = {i.name: i.type for i in self.session.get_inputs()}
            run = {k: np.asarray(v, np.int64 if "int64" in types[k] else np.float32) for k, v in run.items()}
            return np.asarray(self.session.run([self.gradient_output], run)[0], dtype=np.float64)
        return self.session.run(run)[self.gradient_output]
