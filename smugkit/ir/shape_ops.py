"""Ops that only move entries: Reshape, Transpose, and index maps (Slice, Pad, Gather, Concat, Split).

None of them creates solver variables: a lowering follows their index maps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from smugkit.ir.base import Op, register


@register
@dataclass
class Reshape(Op):
    """Reshape to the static model shape ``attrs['shape']`` (also Flatten, Squeeze, Unsqueeze)."""

    op_type = "Reshape"
    affine = True
    shape_only = True

    def forward(self, x):
        return x.reshape((x.shape[0],) + tuple(self.attrs["shape"]))

    def vjp(self, xs, y, gy):
        return [gy.reshape(xs[0].shape)]

    def bounds(self, los, his):
        return self.forward(los[0]), self.forward(his[0])

    def describe(self) -> str:
        return f"-> {list(self.attrs['shape'])}"


@register
@dataclass
class Transpose(Op):
    """Permute the model axes by ``attrs['perm']``."""

    op_type = "Transpose"
    affine = True
    shape_only = True

    def _perm(self):
        return (0,) + tuple(p + 1 for p in self.attrs["perm"])

    def forward(self, x):
        return np.transpose(x, self._perm())

    def vjp(self, xs, y, gy):
        return [np.transpose(gy, np.argsort(self._perm()))]

    def bounds(self, los, his):
        return self.forward(los[0]), self.forward(his[0])

    def describe(self) -> str:
        return f"perm={list(self.attrs['perm'])}"


@register
@dataclass
class IndexMap(Op):
    """``y.flat[i] = source[index[i]]`` where source concatenates the flattened variable inputs and
    ``params['fill']`` (constants folded in, pad values); Slice, Pad, Gather, Concat and Split lower to it.

    attrs: ``shape`` (output model shape), ``sizes`` (flat size of each variable input), ``kind`` (ONNX op).
    """

    op_type = "IndexMap"
    affine = True
    shape_only = True

    def _source(self, xs):
        s = xs[0].shape[0] if xs else 1
        parts = [x.reshape(s, -1) for x in xs]
        fill = self.params.get("fill")
        if fill is not None and fill.size:
            parts.append(np.broadcast_to(fill.reshape(1, -1), (s, fill.size)))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def forward(self, *xs):
        src = self._source(xs)
        return src[:, self.params["index"]].reshape((src.shape[0],) + tuple(self.attrs["shape"]))

    @functools.cached_property
    def _gather_matrix(self) -> sp.csr_matrix:
        """Sparse 0/1 matrix ``P`` with ``y = P @ source`` restricted to the variable part of the source."""
        total = sum(self.attrs["sizes"])
        idx = self.params["index"]
        rows = np.flatnonzero(idx < total)
        return sp.csr_matrix((np.ones(rows.size), (rows, idx[rows])), shape=(idx.size, total))

    def vjp(self, xs, y, gy):
        g = (self._gather_matrix.T @ gy.reshape(gy.shape[0], -1).T).T
        out, start = [], 0
        for x, n in zip(xs, self.attrs["sizes"]):
            out.append(np.asarray(g[:, start : start + n]).reshape(x.shape))
            start += n
        return out

    def bounds(self, los, his):
        return self.forward(*los), self.forward(*his)

    def describe(self) -> str:
        return f"{self.attrs.get('kind', 'index')} -> {list(self.attrs['shape'])}"


@register
@dataclass
class Embedding(Op):
    """Row look-up ``y = table[ids]`` (ONNX Gather on a constant table with integer token ids)."""

    op_type = "Embedding"

    def forward(self, ids):
        table = self.params["table"]
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            if np.any(ids != np.round(ids)):
                raise ValueError("token ids must be whole numbers")
            ids = ids.astype(np.int64)
        return table[np.where(ids < 0, ids + table.shape[0], ids)]

    def vjp(self, xs, y, gy):
        return [None]

    def bounds(self, los, his):
        if np.any(los[0] != his[0]):
            t = self.params["table"]
            shape = los[0].shape + t.shape[1:]
            return np.broadcast_to(t.min(axis=0), shape), np.broadcast_to(t.max(axis=0), shape)
        y = self.forward(los[0])
        return y, y

    def describe(self) -> str:
        return f"table{list(self.params['table'].shape)}"
