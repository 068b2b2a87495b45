"""Attribution methods behind one interface: a `Method` base, the `Attribution` record and the registry.

A method sees the model only through `smugkit.model.Model` (``scores``, ``probs``, ``grad``) and declares
which of those it calls in ``needs`` (like PAIR saliency's ``expected_keys``), so a model that cannot give
gradients can be matched with methods that do not need them. Its options are a frozen dataclass, validated
once when the method is made and recorded with every result.

To add a method: one module in ``smugkit/attribution/`` with a `Method` subclass (``name``, ``Options``,
``needs``, ``compute``) decorated with `register_method`, plus its import line in
``smugkit/attribution/__init__.py``. `smugkit.attribute(model, x, method=NAME)` then runs it.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from smugkit.errors import InputError
from smugkit.model import Model
from smugkit.model.targets import model_input
from smugkit.records import plain, versions
from smugkit.run.records import stamped, unstamped

Array = np.ndarray
METHODS: dict[str, type[Method]] = {}
NEEDS = ("scores", "probs", "grad")


@dataclass
class Attribution:
    """An attribution: values shaped like the attributed tensor, and how they were made (JSON round trip)."""

    values: Array
    method: str
    target: int | list[int]
    tensor: str  # the tensor the values are over: the model input, or an internal tensor
    model: str
    options: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)  # method-specific checks (e.g. IG's completeness error)
    timings: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready record; ``values`` as nested lists with their shape."""
        d = asdict(self)
        d["values"] = np.asarray(self.values, dtype=np.float64).tolist()
        d["shape"] = list(np.shape(self.values))
        return plain(d)

    @classmethod
    def from_dict(cls, d: dict) -> Attribution:
        """The record `to_dict` wrote (the schema and host facts of a saved file left out)."""
        d = unstamped(d)
        shape = d.pop("shape", None)
        values = np.asarray(d.pop("values"), dtype=np.float64)
        return cls(values=values.reshape(shape) if shape is not None else values, **d)

    def save(self, path: str | Path, *, image: Array | None = None, pictures: bool = True) -> dict[str, Path]:
        """Write the record: one JSON file when ``path`` ends in ``.json``, else a folder.

        The folder holds ``attribution.json`` (the record, values by reference), ``attribution.npy`` (the
        values) and, when ``image`` (the input, ``(H, W, C)``) is given and ``pictures`` is set,
        ``attribution.png``: the values summed over channels as a heat-map over the image.
        """
        path = Path(path)
        if path.suffix == ".json":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stamped(self.to_dict())))
            return {"json": path}
        path.mkdir(parents=True, exist_ok=True)
        files = {"json": path / "attribution.json", "npy": path / "attribution.npy"}
        values = np.asarray(self.values, dtype=np.float64)
        np.save(files["npy"], values)
        record = self.to_dict()
        record["values"] = files["npy"].name
        files["json"].write_text(json.dumps(stamped(record)))
        if image is not None and pictures:
            from smugkit.attribution import visualize

            image = np.asarray(image, dtype=np.float64)
            plane = values.reshape(image.shape).sum(axis=-1)
            files["png"] = visualize.save_heatmap(path / "attribution.png", plane, image)
            files["panel"] = path / "panel.png"
            self.plot(image).savefig(files["panel"], dpi=100)
        return files

    def plot(self, image: Array | None = None):
        """input (when ``image``, ``(H, W, C)``, is given) | the values as a saliency map with a colorbar:
        a matplotlib ``Figure`` (a notebook shows it)."""
        from smugkit.attribution import panel

        return panel.figure(self, image)

    def __repr__(self) -> str:
        v = np.asarray(self.values, dtype=np.float64)
        return (
            f"Attribution(method={self.method!r}, target={self.target}, tensor={self.tensor!r}, "
            f"shape={list(v.shape)}, sum={v.sum():.6g}, max|v|={np.abs(v).max() if v.size else 0:.6g}, "
            f"model={self.model!r})"
        )

    def _repr_html_(self) -> str:
        from smugkit.attribution import panel

        return panel.html_block(self, repr(self))

    @classmethod
    def load(cls, path: str | Path) -> Attribution:
        """Read a record `save` wrote (a JSON file or a folder)."""
        path = Path(path)
        json_path = path / "attribution.json" if path.is_dir() else path
        try:
            d = json.loads(json_path.read_text())
            if isinstance(d.get("values"), str):
                d["values"] = np.load(json_path.parent / d["values"], allow_pickle=False)
            return cls.from_dict(d)
        except (OSError, ValueError, TypeError, KeyError) as e:
            raise InputError(f"cannot read an attribution from {path}: {e}") from e


def register_method(cls: type[Method]) -> type[Method]:
    """Add a method class to the registry under its ``name`` (checking its declaration)."""
    if not cls.name or not is_dataclass(cls.Options):
        raise TypeError(f"{cls.__name__}: a method needs a name and an Options dataclass")
    unknown = set(cls.needs) - set(NEEDS)
    if unknown:
        raise TypeError(f"{cls.__name__}: needs {sorted(unknown)} are not Model calls {NEEDS}")
    METHODS[cls.name] = cls
    return cls


def get_method(name: str, **options) -> Method:
    """A method of the registry, made with ``options`` (validated)."""
    cls = METHODS.get(name)
    if cls is None:
        raise InputError(f"unknown attribution method {name!r}; known methods: {sorted(METHODS)}")
    return cls(**options)


class Method(ABC):
    """One attribution method: options validated once, then ``attribute(model, x, target=...)``."""

    name: ClassVar[str] = ""
    Options: ClassVar[type]
    needs: ClassVar[frozenset[str]] = frozenset()
    #: without a provider named, `attribute` uses the fastest exact one (`fastest_provider`) for this method
    fast_gradients: ClassVar[bool] = False

    def __init__(self, **options) -> None:
        known = {f.name for f in fields(self.Options)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InputError(f"method {self.name!r} has no option(s) {unknown}; options: {sorted(known)}")
        self.options = self.Options(**options)

    def attribute(self, model, x, *, target: int | None = None) -> Attribution:
        """Attribute the target class's output at the one point ``x`` (default target: the predicted class)."""
        t0 = time.perf_counter()
        model = Model.of(model, example=x)
        x = model_input(model.network, x)
        if target is None:
            target = int(model.predict(x))
        elif isinstance(target, bool) or not isinstance(target, int | np.integer):
            raise InputError(f"target must be a class index, got {target!r}")
        elif not 0 <= int(target) < model.num_classes:
            raise InputError(f"target {target} is out of range for a model with {model.num_classes} classes")
        values, tensor, diagnostics = self.compute(model, x, int(target))
        return Attribution(
            values=np.asarray(values, dtype=np.float64),
            method=self.name,
            target=int(target),
            tensor=tensor,
            model=model.source,
            options=self.record(model),
            diagnostics=plain(diagnostics),
            timings={"total": time.perf_counter() - t0},
            versions=versions(),
        )

    def record(self, model: Model) -> dict:
        """The options, JSON-ready, with the gradient provider when the method uses gradients."""
        out = plain(asdict(self.options))
        return {**out, "gradients": model.gradients} if "grad" in self.needs else out

    @abstractmethod
    def compute(self, model: Model, x: Array, target: int) -> tuple[Array, str, dict]:
        """The attribution values, the tensor they are over, and diagnostics."""


def attribute(
    model,
    x,
    *,
    method: str = "integrated_gradients",
    target: int | None = None,
    gradients: str | None = None,
    **options,
) -> Attribution:
    """Run the registered ``method`` on ``model`` (a `Model`, `Network` or ONNX file) at the point ``x``.

    ``gradients`` picks the model's gradient provider (ir, onnx, fd); left out, a model that is not a `Model`
    yet gets "ir", or for the batched gradient methods the fastest exact provider (`fastest_provider`).
    Other keywords are the method's options.
    """
    m = get_method(method, **options)
    if gradients is None and m.fast_gradients and not isinstance(model, Model):
        from smugkit.model.gradient import fastest_provider

        net = Model.of(model, example=x).network
        return m.attribute(Model(net, gradients=fastest_provider(net)), x, target=target)
    model = Model.of(model, example=x, **({"gradients": gradients} if gradients is not None else {}))
    return m.attribute(model, x, target=target)
