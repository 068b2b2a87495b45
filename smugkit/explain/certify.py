"""Re-check an explanation on the real model with onnxruntime: neuron thresholds and predictions."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import onnx

from smugkit.errors import ModelError
from smugkit.ir import Network

#: relative float32 tolerance for a threshold that the exact (float64) encoding meets with equality
FLOAT32_TOL = 1e-5


class OnnxRunner:
    """An onnxruntime session over the original model that also returns chosen internal tensors."""

    def __init__(self, net: Network, tensors: list[str]) -> None:
        import onnxruntime as ort

        original = net.origin.model
        if original is None:
            raise ModelError("network was not loaded from ONNX; cannot certify with onnxruntime")
        model = onnx.ModelProto()
        model.CopyFrom(original)
        present = {o.name for o in model.graph.output}
        for t in tensors:
            if t not in present:
                model.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as e:
            raise ModelError(f"onnxruntime cannot run {net.origin.source}: {e}") from e
        self.input = net.input
        self.names = [o.name for o in self.session.get_outputs()]

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run one model-shaped input; returns every output by name."""
        feed = {self.input.name: np.asarray(x, dtype=np.float32).reshape(self.input.shape)}
        return dict(zip(self.names, self.session.run(None, feed)))


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass
class Certificate:
    """What onnxruntime says about a mask: do the kept neurons stay above threshold, is the label kept."""

    holds: bool  # every constrained neuron meets its threshold (within float32 tolerance)
    min_margin: float  # smallest (pre-activation on masked input - threshold); >= 0 means all hold
    violations: int
    neuron_values: list[float]
    thresholds: list[float]
    label: int
    probability: float  # of ``label`` on the original input
    masked_label: int
    masked_probability: float  # of ``label`` on the masked input
    inverse_label: int
    inverse_probability: float  # of ``label`` on the inverse-masked input (the mask's complement kept)
    keeps_label: bool

    def to_dict(self) -> dict:
        return asdict(self)


def certify(
    runner: OnnxRunner,
    pre: str,
    scores: str,
    x: np.ndarray,
    masked: np.ndarray,
    inverse: np.ndarray,
    neurons: np.ndarray,
    thresholds: np.ndarray,
    label: int,
    probabilities: bool,
    logit_delta: float | None = None,
) -> Certificate:
    """Evaluate the masked, inverse-masked and original inputs with onnxruntime and compare to thresholds.

    With ``logit_delta`` (full-network encoding) the label's score must also beat every other by that much.
    """
    outs = [runner.run(v) for v in (x, masked, inverse)]
    to_p = (lambda s: softmax(s)) if probabilities else (lambda s: np.asarray(s, np.float64).reshape(-1))
    p0, pm, pi = (to_p(o[scores]) for o in outs)
    z = outs[1][pre].reshape(-1)[neurons].astype(np.float64)
    margin = z - thresholds
    tol = FLOAT32_TOL * np.maximum(1.0, np.abs(thresholds))
    ok = margin >= -tol
    holds = bool(np.all(ok))
    logit_margin = None
    if logit_delta is not None:
        s = np.asarray(outs[1][scores], np.float64).reshape(-1)
        logit_margin = float(s[label] - np.delete(s, label).max()) - logit_delta
        holds = holds and logit_margin >= -FLOAT32_TOL * max(1.0, abs(float(s[label])))
    return Certificate(
        holds=holds,
        min_margin=float(margin.min()) if margin.size else (logit_margin or 0.0),
        violations=int((~ok).sum()),
        neuron_values=z.tolist(),
        thresholds=np.asarray(thresholds).tolist(),
        label=int(label),
        probability=float(p0[label]),
        masked_label=int(pm.argmax()),
        masked_probability=float(pm[label]),
        inverse_label=int(pi.argmax()),
        inverse_probability=float(pi[label]),
        keeps_label=bool(pm.argmax() == label),
    )
