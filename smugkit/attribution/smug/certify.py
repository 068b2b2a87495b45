"""Re-check an explanation on the real model with onnxruntime: neuron thresholds and predictions."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from smugkit.errors import ModelError
from smugkit.ir import Network
from smugkit.model.targets import softmax
from smugkit.runtime.session import OutputRunner
from smugkit.threads import threads

#: relative float32 tolerance for a threshold that the exact (float64) encoding meets with equality
FLOAT32_TOL = 1e-5


_RUNNERS: dict[tuple, tuple] = {}  # (id of the ONNX model, tensors) -> (that model, its runner); a few kept


def model_runner(net: Network, tensors: list[str]) -> OutputRunner:
    """onnxruntime on the ONNX model the network was loaded from, also returning ``tensors``.

    The runner is kept for the next explanation of the same model (a new session costs about as much as
    certifying); the cache holds the model itself, so its id stays its own while cached.
    """
    original = net.origin.model
    if original is None:
        raise ModelError("network was not loaded from ONNX; cannot certify with onnxruntime")
    key = (id(original), net.input.name, tuple(net.input.shape), tuple(tensors), threads())
    hit = _RUNNERS.get(key)
    if hit is not None and hit[0] is original:
        return hit[1]
    runner = OutputRunner(original, net.input.name, net.input.shape, tensors, label=str(net.origin.source))
    while len(_RUNNERS) >= 4:
        _RUNNERS.pop(next(iter(_RUNNERS)))
    _RUNNERS[key] = (original, runner)
    return runner


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
    runner: OutputRunner,
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
    to_p = (
        (lambda s: softmax(np.reshape(s, -1)))
        if probabilities
        else (lambda s: np.asarray(s, np.float64).reshape(-1))
    )
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
