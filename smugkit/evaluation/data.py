"""Evaluation data: the inputs, their labels and (when known) their ground-truth regions.

Sources: a bundled zoo model's own test set (its default data), a ``.npz`` with ``x`` (N, ...) and optional
``y`` (N,), ``boxes`` (N, 4: top, left, bottom, right) and ``masks`` (N, H, W) or (N, *input shape)
boolean ground-truth regions, a ``.npy`` of inputs (N, ...), or a folder of images. Items are numbered in file order; ``n`` keeps the first ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smugkit.errors import InputError
from smugkit.ir import Network


@dataclass
class Dataset:
    """Inputs in the model's shape, with labels and ground-truth boxes when the data has them."""

    x: np.ndarray  # (N, *model input shape)
    labels: np.ndarray | None = None  # (N,) true classes
    boxes: np.ndarray | None = None  # (N, 4) top, left, bottom (exclusive), right (exclusive), in pixels
    source: str = ""
    masks: np.ndarray | None = None  # (N, H, W) or (N, *input shape) boolean ground-truth regions

    def __len__(self) -> int:
        return len(self.x)

    def truth(self, i: int):
        """The ground truth of item ``i`` for localisation metrics (its mask, else its box), or None."""
        if self.masks is not None:
            return np.asarray(self.masks[i], dtype=bool)
        return None if self.boxes is None else tuple(int(v) for v in self.boxes[i])


def zoo_data(name: str) -> Dataset | None:
    """The default data of a bundled model (its test split), or None when ``name`` is no zoo model."""
    from smugkit import zoo

    if name not in zoo.list_models():
        return None
    entry = zoo.manifest()["models"][name]
    loader = entry.get("test_set_loader")
    if loader:  # a model bundled with its own data (e.g. boxes and masks for localisation)
        x, y, *rest = getattr(zoo, loader)()
        boxes, masks = (None if r is None else np.asarray(r) for r in (list(rest) + [None, None])[:2])
        return Dataset(np.asarray(x), np.asarray(y), boxes, f"zoo:{name}", masks)
    x, y = zoo.test_set(int(entry["input_shape"][-1]))
    return Dataset(x, y, None, f"zoo:{name} test split")


def load_data(source: str | Path | None, net: Network, model_name: str | None = None, n: int | None = None):
    """The evaluation `Dataset` from ``source`` (see module docstring), each input in ``net``'s input shape."""
    if n is not None and n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if source is None:
        data = zoo_data(model_name) if model_name else None
        if data is None:
            raise InputError("no data given: pass --data (a .npz, .npy or a folder of images)")
    else:
        data = _read(Path(source), net)
    shape = tuple(net.input.shape)
    x = np.asarray(data.x, dtype=np.float64)
    if x.shape[1:] != shape:
        if x[0].size != int(np.prod(shape)):
            raise InputError(
                f"{data.source}: items of shape {list(x.shape[1:])} do not fit the model input {list(shape)}"
            )
        x = x.reshape((len(x), *shape))
    data.x = x
    if data.labels is not None and len(data.labels) != len(x):
        raise InputError(f"{data.source}: {len(data.labels)} labels for {len(x)} inputs")
    if data.boxes is not None and np.shape(data.boxes) != (len(x), 4):
        raise InputError(
            f"{data.source}: boxes must have shape [{len(x)}, 4], got {list(np.shape(data.boxes))}"
        )
    if data.masks is not None:
        _check_masks(data, net)
    if n is not None:
        data = Dataset(
            data.x[:n],
            *(None if a is None else a[:n] for a in (data.labels, data.boxes)),
            data.source,
            None if data.masks is None else data.masks[:n],
        )
    return data


def _read(path: Path, net: Network) -> Dataset:
    if path.is_dir():
        from smugkit.units.inputs import IMAGE_SUFFIXES, read_input

        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path}: no image files in the folder")
        return Dataset(np.stack([read_input(p, net, resize=True) for p in files]), source=str(path))
    if not path.is_file():
        raise InputError(f"data not found: {path}")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f:
                    raise InputError(f"{path}: a .npz of evaluation data needs an 'x' array; has {sorted(f)}")
                get = {k: f[k] for k in f}
            return Dataset(get["x"], get.get("y"), get.get("boxes"), str(path), get.get("masks"))
        if path.suffix == ".npy":
            return Dataset(np.load(path, allow_pickle=False), source=str(path))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the data: {e}") from e
    raise InputError(f"{path}: data must be a .npz, a .npy or a folder of images")


def _check_masks(data: Dataset, net: Network) -> None:
    """Masks: one per input, each ``(H, W)`` of the image or shaped like the model input."""
    from smugkit.units import detect_layout

    m = np.asarray(data.masks)
    shape = tuple(net.input.shape)
    try:
        layout = detect_layout(net)
        grid: tuple | None = (layout.height, layout.width)
    except InputError:
        grid = None
    ok = len(m) == len(data.x) and (m.shape[1:] == shape or (grid is not None and m.shape[1:] == grid))
    if not ok:
        hw = f"[{len(data.x)}, {grid[0]}, {grid[1]}] (the image grid) or " if grid else ""
        raise InputError(
            f"{data.source}: masks must have shape {hw}[{len(data.x)}, {', '.join(map(str, shape))}], "
            f"got {list(m.shape)}"
        )
    data.masks = m.astype(bool)
