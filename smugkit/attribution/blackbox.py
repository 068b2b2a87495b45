"""What the perturbation (black-box) methods share: the image they perturb and a batched target scorer.

A black-box method only evaluates the model on perturbed copies of the input. `TargetScorer` runs those
copies through onnxruntime on the original ONNX model (the IR's numpy forward for a network built in code),
in batches whose size is bounded by a memory budget, and keeps the target's logit or softmax probability.
Perturbed inputs are built batch by batch from a ``build(start, stop)`` callback, so a method never holds
all of them at once; random methods draw everything from a seeded generator up front, so batching never
changes a result. Long runs show a progress bar (tqdm; ``progress=None`` shows it on a terminal only).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from smugkit.attribution.base import Method
from smugkit.errors import InputError
from smugkit.model import KINDS, Model, softmax
from smugkit.runtime.session import BatchedSession, cut_model
from smugkit.units import ImageLayout, detect_layout, make_baseline

Array = np.ndarray
FILLS = ("zeros", "black", "white", "blur", "uniform")
DEFAULT_MEMORY_MB = 256.0  # perturbed inputs held per batch (float64 as built + float32 for onnxruntime)
_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Model -> (session, output) or None


@dataclass(frozen=True)
class BlackBoxOptions:
    """Options every black-box method has.

    ``kind``: explain the target's "probability" (softmax) or "logit"; ``fill``: what hidden parts become
    (a number, or "black", "white", "blur", "uniform" noise); ``internal_batch_size``: points per model call
    (Captum's name; default 256, lowered so a batch of inputs, 12 bytes per value as built in float64 and
    copied to float32, fits ``max_memory_mb``); ``progress``: a tqdm bar
    (None: on a terminal for runs longer than one batch); ``layout``: where the image is in the input.
    """

    kind: str = "probability"
    fill: float | str = 0.0
    internal_batch_size: int | None = None
    max_memory_mb: float = DEFAULT_MEMORY_MB
    progress: bool | None = None
    layout: str = "auto"

    def __post_init__(self) -> None:
        check_common(self)


class BlackBoxMethod(Method):
    """A method that only evaluates the model on perturbed inputs (no gradients)."""

    needs = frozenset({"scores"})

    def scorer(self, model: Model, target: int, label: str | None = None) -> TargetScorer:
        """The batched target scorer with this method's options."""
        o = self.options
        return TargetScorer(
            model,
            target,
            kind=o.kind,
            batch_size=o.internal_batch_size,
            max_memory_mb=o.max_memory_mb,
            progress=o.progress,
            label=label or self.name,
        )

    def layout(self, model: Model) -> ImageLayout:
        """The image layout of the model input (typed error when there is none)."""
        return image_layout(model, self.name, self.options.layout)

    @staticmethod
    def report(scorer: TargetScorer, t0: float, **extra) -> dict:
        """Diagnostics every black-box method returns: model calls, batch size, seconds."""
        return {
            "model_calls": scorer.calls,
            "batch_size": scorer.rows,
            "seconds": time.perf_counter() - t0,
            **extra,
        }


def check_number(name: str, value, low: float | None = None, high: float | None = None, *, integer=False):
    """A typed error unless ``value`` is a (integer) number with ``low <= value`` (and ``value < high``)."""
    ok_type = isinstance(value, int | np.integer) if integer else isinstance(value, int | float | np.number)
    if isinstance(value, bool) or not ok_type or not np.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise InputError(f"{name} must be {kind}, got {value!r}")
    if low is not None and value < low:
        raise InputError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and not value < high:
        raise InputError(f"{name} must be < {high}, got {value!r}")


def check_fraction(name: str, value) -> None:
    """A typed error unless ``value`` lies strictly inside (0, 1)."""
    check_number(name, value)
    if not 0.0 < value < 1.0:
        raise InputError(f"{name} must lie strictly between 0 and 1, got {value!r}")


def check_common(options) -> None:
    """Validate the options every black-box method has: kind, batch size, memory bound, fill."""
    if options.kind not in KINDS:
        raise InputError(f"kind must be one of {KINDS}, got {options.kind!r}")
    if options.internal_batch_size is not None:
        check_number("internal_batch_size", options.internal_batch_size, 1, integer=True)
    check_number("max_memory_mb", options.max_memory_mb)
    if not options.max_memory_mb > 0:
        raise InputError(f"max_memory_mb must be > 0, got {options.max_memory_mb!r}")
    fill = options.fill
    if isinstance(fill, str):
        if fill not in FILLS:
            raise InputError(f"fill must be a number or one of {FILLS}, got {fill!r}")
    else:
        check_number("fill", fill)


def image_layout(model: Model, method: str, layout: str = "auto") -> ImageLayout:
    """The image inside the model input, or a typed error saying the black-box method needs one."""
    net = model.network
    if len(net.inputs) != 1:
        raise InputError(
            f"{method} perturbs one image input; the model has inputs {[t.name for t in net.inputs]}"
        )
    if net.input.dtype.startswith(("int", "uint", "bool")):
        raise InputError(
            f"{method} perturbs an image, but input {net.input.name!r} holds {net.input.dtype} values "
            f"(ids, not pixels): the model has no image-like input"
        )
    try:
        return detect_layout(net, layout)
    except InputError as e:
        raise InputError(f"{method} needs a model with an image-like input: {e}") from e


def fill_values(fill, x: Array, layout: ImageLayout, *, seed: int = 0) -> Array:
    """The input-shaped values hidden parts take: a constant, or a baseline (black, white, blur, noise)."""
    if not isinstance(fill, str):
        return np.full(x.shape, float(fill))
    if fill == "blur":
        hwc = layout.to_hwc(x)
        sigma = 10.0 * max(layout.height, layout.width) / 224
        return layout.from_hwc(make_baseline("blur", hwc, blur_sigma=sigma, axes=(0, 1)))
    return make_baseline(fill, x, seed=seed)


class Blend:
    """Inputs from keep-planes: ``fill + (x - fill) * keep`` with ``keep`` a stack of ``(H, W)`` planes in [0, 1]."""

    def __init__(self, x: Array, fill: Array, layout: ImageLayout) -> None:
        # float32: what the ONNX model runs in, at half the memory traffic of float64
        self.x, self.fill = np.asarray(x, dtype=np.float32), np.asarray(fill, dtype=np.float32)
        self.pixel = layout.from_hw(
            np.arange(layout.height * layout.width).reshape(layout.height, layout.width)
        )
        self.hw = (layout.height, layout.width)

    def expand(self, planes: Array) -> Array:
        """``(k, H, W)`` planes as ``(k, *input_shape)`` (channels share their pixel's value)."""
        flat = np.asarray(planes, dtype=np.float32).reshape(-1, self.hw[0] * self.hw[1])
        return flat[:, self.pixel]

    def __call__(self, keep: Array) -> Array:
        """The perturbed inputs for a stack of keep-planes."""
        return self.fill + (self.x - self.fill) * self.expand(keep)


class TargetScorer:
    """The target's logit or probability on stacks of inputs, batched under a memory bound, via onnxruntime."""

    def __init__(
        self,
        model: Model,
        target: int,
        *,
        kind: str = "probability",
        batch_size: int | None = None,
        max_memory_mb: float = DEFAULT_MEMORY_MB,
        progress: bool | None = None,
        label: str = "perturbations",
    ) -> None:
        self.model, self.target, self.kind, self.progress, self.label = model, target, kind, progress, label
        shape = model.input.shape
        self.point_shape = tuple(shape)
        per_point = 12 * int(np.prod(shape))  # each input built in float64, then copied to float32
        cap = max(1, int(max_memory_mb * 2**20 // per_point))
        self.rows = max(1, min(batch_size or 256, cap))
        self.calls = 0
        if model not in _SESSIONS:
            _SESSIONS[model] = _session(model)
        self.session = _SESSIONS[model]

    def _scores(self, stack: Array) -> Array:
        """The output rows (logits) for a stack of model-shaped points."""
        if self.session is None:
            return np.asarray(self.model.scores(stack), dtype=np.float64).reshape(stack.shape[0], -1)
        sess, out = self.session
        self.model.calls["scores"] += stack.shape[0]
        return sess.run({self.model.input.name: stack})[out].reshape(stack.shape[0], -1)

    def __call__(
        self,
        n: int,
        build: Callable[[int, int], Array],
        consume: Callable[[int, int, Array], None] | None = None,
    ) -> Array:
        """Target values ``(n,)`` for the points ``build(start, stop)`` returns, batch by batch.

        ``consume(start, stop, values)``, when given, sees each batch's values right after the model call
        (so a method can fold them into its result while its batch of masks is still at hand).
        """
        from tqdm.auto import tqdm

        out = np.empty(n, dtype=np.float64)
        if self.progress is None:  # auto: on a terminal, for runs longer than one batch
            disable = True if n <= self.rows else None
        else:
            disable = not self.progress
        with tqdm(total=n, desc=self.label, unit="pt", disable=disable, leave=False) as bar:
            for start in range(0, n, self.rows):
                stop = min(n, start + self.rows)
                dtype = np.float64 if self.session is None else np.float32
                pts = np.asarray(build(start, stop), dtype=dtype).reshape((stop - start, *self.point_shape))
                rows = self._scores(pts)
                if self.kind == "probability":
                    rows = softmax(rows, axis=-1)
                out[start:stop] = rows[:, self.target]
                if consume is not None:
                    consume(start, stop, out[start:stop])
                self.calls += stop - start
                bar.update(stop - start)
        return out

    def one(self, x: Array) -> float:
        """The target value at one point."""
        return float(self(1, lambda a, b: np.asarray(x)[None])[0])


def _session(model: Model) -> tuple[BatchedSession, str] | None:
    """A batched onnxruntime session computing the logits from the input, or None (no ONNX original)."""
    net = model.network
    original = net.origin.model
    if original is None:
        return None
    out = net.origin.output_names.get(net.output.name, net.output.name)
    try:
        cut, reached = cut_model(original, [net.input.name], [out], str(net.origin.source))
    except Exception:  # noqa: BLE001  (an IR-renamed tensor: fall back to the exact numpy forward)
        return None
    if reached != [net.input.name]:
        return None
    sess = BatchedSession(cut, {net.input.name: net.input.shape}, [out], {out: net.output.shape}, rows=2**31)
    return sess, out
