"""Batch inputs: one path (a folder of images, a ``.npy``/``.npz`` of N inputs, a glob, a single file) as items.

Every item has a stable id (the file stem for files, ``<stem>-<index>`` for rows of an array), so a rerun with
the same inputs finds its finished results. An item that cannot be read (a non-image file in a folder, an
image of the wrong size without ``resize``) is kept with its error: it becomes a failed row, the others run.
"""

from __future__ import annotations

import glob as globmod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smugkit.errors import InputError, SmugkitError
from smugkit.ir import Network

ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass(frozen=True)
class Item:
    """One input of a batch: its id, the array in the model's input shape (None when unreadable), why not."""

    id: str
    x: np.ndarray | None
    label: int | None = None  # the true class when the data has one (an .npz's ``y``)
    source: str = ""
    error: str | None = None


def _shape_to(x: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    if x.shape == shape:
        return x.astype(np.float64)
    if x.size != int(np.prod(shape)):
        raise InputError(f"{where}: item of shape {list(x.shape)} does not fit the model input {list(shape)}")
    return x.reshape(shape).astype(np.float64)


def _array_items(path: Path, net: Network, scale: float | None) -> list[Item]:
    """Rows of a ``.npy`` (N, ...) or of an ``.npz``'s ``x`` (with ``y`` as labels); one input is one item."""
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f:
                    raise InputError(f"{path}: a .npz of inputs needs an 'x' array; it has {sorted(f)}")
                x, y = f["x"], f.get("y")
        else:
            x, y = np.load(path, allow_pickle=False), None
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable array file: {e}") from e
    shape = tuple(net.input.shape)
    size = int(np.prod(shape))
    if x.size == size:  # one input, maybe without a batch axis
        x = x.reshape((1, *shape))
    elif x.ndim == 0 or x[0].size != size:
        raise InputError(
            f"{path}: array of shape {list(x.shape)} does not fit the model input {net.input.name!r} of shape "
            f"{list(shape)}, as one input or as a batch of them"
        )
    if y is not None and len(y) != len(x):
        raise InputError(f"{path}: {len(y)} labels in 'y' for {len(x)} inputs in 'x'")
    x = x.reshape((len(x), *shape)).astype(np.float64) * (1.0 if scale is None else scale)
    width = max(4, len(str(len(x) - 1)))
    return [
        Item(f"{path.stem}-{i:0{width}d}", x[i], None if y is None else int(y[i]), f"{path}[{i}]")
        for i in range(len(x))
    ]


def _file_item(path: Path, net: Network, **read) -> Item:
    """One file as one item; a file that cannot be read is an item with its error."""
    from smugkit.units.inputs import read_input

    try:
        return Item(path.stem, read_input(path, net, **read), None, str(path))
    except SmugkitError as e:
        return Item(path.stem, None, None, str(path), str(e))


def read_items(
    source: str | Path,
    net: Network,
    *,
    resize: bool = False,
    scale: float | None = None,
    layout: str = "auto",
) -> list[Item]:
    """The items of ``source``: a folder (every file in name order), a glob, a ``.npy``/``.npz``, or one file.

    A folder's or glob's files are read one by one: a file that is no readable input of the model's shape
    becomes an item with its ``error``. An array file that does not fit the model is an `InputError`.
    """
    text = str(source)
    path = Path(source)
    read = {"resize": resize, "scale": scale, "layout": layout}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(f"{path}: the folder has no files")
    elif any(c in text for c in "*?[") and not path.exists():
        files = [Path(p) for p in sorted(globmod.glob(text)) if Path(p).is_file()]
        if not files:
            raise InputError(f"{text}: the pattern matches no files")
    elif not path.is_file():
        raise InputError(f"inputs not found: {path} (give a folder, a .npy/.npz, a glob or one input file)")
    elif path.suffix.lower() in ARRAY_SUFFIXES:
        return _array_items(path, net, scale)
    else:
        files = [path]
    items = [_file_item(p, net, **read) for p in files]
    return unique_ids(items)


def unique_ids(items: Iterable[Item]) -> list[Item]:
    """Items with ids made unique (``a.png`` and ``a.npy`` in one folder become ``a`` and ``a.npy``)."""
    out, seen = [], set()
    for it in items:
        iid = it.id
        if iid in seen:
            iid = Path(it.source).name if it.source else iid
            k = 1
            while iid in seen:
                iid, k = f"{it.id}-{k}", k + 1
            it = Item(iid, it.x, it.label, it.source, it.error)
        seen.add(iid)
        out.append(it)
    return out


def as_items(inputs, net: Network, **read) -> list[Item]:
    """Items from what the Python API accepts: a path (see `read_items`), an array (N, ...), or an iterable
    of arrays, paths or `Item` objects."""
    if isinstance(inputs, str | Path):
        return read_items(inputs, net, **read)
    if isinstance(inputs, np.ndarray):
        shape = tuple(net.input.shape)
        if inputs.size == int(np.prod(shape)):
            inputs = inputs.reshape((1, *shape))
        return [
            Item(f"item-{i:04d}", _shape_to(np.asarray(v), shape, f"item {i}")) for i, v in enumerate(inputs)
        ]
    items: list[Item] = []
    for i, v in enumerate(inputs):
        if isinstance(v, Item):
            items.append(v)
        elif isinstance(v, str | Path):
            items.append(_file_item(Path(v), net, **read))
        else:
            items.append(Item(f"item-{i:04d}", _shape_to(np.asarray(v), tuple(net.input.shape), f"item {i}")))
    if not items:
        raise InputError("no inputs given")
    return unique_ids(items)
