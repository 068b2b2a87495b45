"""Vectorised affine expressions: per variable a sparse coefficient matrix, plus a constant vector.

An ``Affine`` of shape ``s`` stands for ``sum_v M_v @ flat(v) + c`` reshaped to ``s``: building an
expression costs sparse-matrix work proportional to its non-zeros, never one Python object per scalar.
"""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from smugkit.errors import ProblemError

if TYPE_CHECKING:
    from smugkit.dsl.constraints import Constraint
    from smugkit.dsl.variables import Var

Terms = dict["Var", sp.csr_matrix]


def _finite(arr: np.ndarray, what: str) -> np.ndarray:
    """Reject NaN and infinite coefficients, naming where they came from."""
    if not np.all(np.isfinite(arr)):
        raise ProblemError(f"{what} of shape {np.shape(arr)} contains non-finite values")
    return arr


def _const_array(value: Any, what: str) -> np.ndarray:
    """A finite float64 array from a Python number or array-like."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProblemError(f"{what}: cannot use {type(value).__name__} as a numeric constant") from None
    return _finite(arr, what)


def _is_const(value: Any) -> bool:
    """True for numbers and numeric arrays (the operands an expression can be combined with)."""
    return isinstance(value, (Real, np.ndarray, np.number, list, tuple)) and not isinstance(value, bool)


class Affine:
    """An array of affine forms over variables, with numpy-like shape, indexing and arithmetic."""

    __array_ufunc__ = None  # make numpy defer to our reflected operators
    __array_priority__ = 1000

    def __init__(self, terms: Terms, const: np.ndarray, shape: tuple[int, ...]) -> None:
        self.terms = terms
        self.const = const
        self.shape = tuple(shape)

    # ----- basic properties ---------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of scalar entries."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def variables(self) -> list[Var]:
        """Variables with a coefficient in this expression (insertion order)."""
        return list(self.terms)

    @property
    def nnz(self) -> int:
        """Stored coefficients over all variables."""
        return sum(m.nnz for m in self.terms.values())

    def __repr__(self) -> str:
        names = ", ".join(v.name for v in self.terms)
        return f"Affine(shape={self.shape}, vars=[{names}], nnz={self.nnz})"

    def __bool__(self) -> bool:
        raise ProblemError("an expression has no truth value; add it to a Problem as a constraint")

    def __iter__(self):
        if not self.shape:
            raise ProblemError("cannot iterate over a scalar expression")
        for i in range(self.shape[0]):
            yield self[i]

    # ----- constructors -------------------------------------------------------------------
    @staticmethod
    def constant(value: Any) -> Affine:
        """An expression without variables."""
        arr = _const_array(value, "constant")
        return Affine({}, arr.ravel().copy(), arr.shape)

    @staticmethod
    def lift(value: Any, what: str = "operand") -> Affine:
        """An Affine from an Affine or a numeric constant."""
        if isinstance(value, Affine):
            return value
        if _is_const(value):
            return Affine.constant(value)
        raise ProblemError(f"{what}: cannot combine an expression with {type(value).__name__}")

    # ----- row selection (indexing, reshaping, broadcasting) ------------------------------
    def _select(self, rows: np.ndarray, shape: tuple[int, ...]) -> Affine:
        """The expression whose flat entries are ``self.flat[rows]``, with the given shape."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        terms = {v: m[rows] for v, m in self.terms.items()}
        return Affine(terms, self.const[rows], shape)

    def __getitem__(self, index: Any) -> Affine:
        if isinstance(index, Affine):
            raise ProblemError("cannot index an expression with an expression")
        grid = np.arange(self.size, dtype=np.int64).reshape(self.shape)
        try:
            picked = grid[index]
        except (IndexError, TypeError, ValueError) as exc:
            raise ProblemError(
                f"index {index!r} does not apply to an expression of shape {self.shape}: {exc}"
            ) from None
        picked = np.asarray(picked)
        return self._select(picked.ravel(), picked.shape)

    def reshape(self, *shape: Any) -> Affine:
        """Same entries, new shape (C order)."""
        if len(shape) == 1 and not np.isscalar(shape[0]):
            shape = tuple(shape[0])
        try:
            new = np.empty(self.shape, dtype=np.int8).reshape(shape).shape
        except ValueError:
            raise ProblemError(f"cannot reshape an expression of shape {self.shape} to {shape}") from None
        return Affine(self.terms, self.const, new)

    def ravel(self) -> Affine:
        """Flattened to one dimension (C order)."""
        return Affine(self.terms, self.const, (self.size,))

    flatten = ravel

    def broadcast_to(self, shape: tuple[int, ...]) -> Affine:
        """Numpy broadcasting of the entries to ``shape``."""
        shape = tuple(shape)
        if shape == self.shape:
            return self
        grid = np.arange(self.size, dtype=np.int64).reshape(self.shape)
        try:
            rows = np.broadcast_to(grid, shape)
        except ValueError:
            raise ProblemError(f"cannot broadcast an expression of shape {self.shape} to {shape}") from None
        return self._select(rows.ravel(), shape)

    def repeat(self, factors: int | tuple[int, ...]) -> Affine:
        """Each entry repeated ``factors[d]`` times along axis d (a block up-sampling, like np.kron)."""
        factors = (int(factors),) * self.ndim if np.isscalar(factors) else tuple(int(f) for f in factors)
        if len(factors) != self.ndim or any(f <= 0 for f in factors):
            raise ProblemError(f"repeat factors {factors} do not fit an expression of shape {self.shape}")
        grid = np.arange(self.size, dtype=np.int64).reshape(self.shape)
        for axis, f in enumerate(factors):
            grid = np.repeat(grid, f, axis=axis)
        return self._select(grid.ravel(), grid.shape)

    # ----- arithmetic ---------------------------------------------------------------------
    def _combine(self, other: Any, sign: float, what: str) -> Affine:
        """``self + sign * other`` with numpy broadcasting."""
        other = Affine.lift(other, what)
        try:
            shape = np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise ProblemError(f"{what}: shapes {self.shape} and {other.shape} do not broadcast") from None
        a, b = self.broadcast_to(shape), other.broadcast_to(shape)
        terms = dict(a.terms)
        for v, m in b.terms.items():
            terms[v] = (terms[v] + sign * m).tocsr() if v in terms else (sign * m).tocsr()
        return Affine(terms, a.const + sign * b.const, shape)

    def __add__(self, other: Any) -> Affine:
        return self._combine(other, 1.0, "addition")

    def __radd__(self, other: Any) -> Affine:
        return self._combine(other, 1.0, "addition")

    def __sub__(self, other: Any) -> Affine:
        return self._combine(other, -1.0, "subtraction")

    def __rsub__(self, other: Any) -> Affine:
        return (-self)._combine(other, 1.0, "subtraction")

    def __neg__(self) -> Affine:
        return Affine({v: -m for v, m in self.terms.items()}, -self.const, self.shape)

    def __pos__(self) -> Affine:
        return self

    def scale(self, coef: Any) -> Affine:
        """Element-wise product with a constant array (broadcast) or scalar."""
        c = _const_array(coef, "element-wise factor")
        if c.ndim == 0:
            s = float(c)
            return Affine({v: (s * m).tocsr() for v, m in self.terms.items()}, s * self.const, self.shape)
        try:
            shape = np.broadcast_shapes(self.shape, c.shape)
        except ValueError:
            raise ProblemError(
                f"element-wise product: shapes {c.shape} (constant) and {self.shape} (expression) do not broadcast"
            ) from None
        e = self.broadcast_to(shape)
        d = np.broadcast_to(c, shape).ravel()
        dm = sp.diags(d, format="csr")
        return Affine({v: (dm @ m).tocsr() for v, m in e.terms.items()}, d * e.const, shape)

    def __mul__(self, other: Any) -> Affine:
        if isinstance(other, Affine):
            raise ProblemError(
                f"product of two expressions (shapes {self.shape} and {other.shape}) is not linear"
            )
        return self.scale(other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Affine:
        if isinstance(other, Affine):
            raise ProblemError("division by an expression is not linear")
        c = _const_array(other, "divisor")
        if np.any(c == 0):
            raise ProblemError(f"division by zero (divisor of shape {c.shape})")
        return self.scale(1.0 / c)

    def __rmatmul__(self, mat: Any) -> Affine:
        """``mat @ self`` for a dense or scipy.sparse matrix (2-D) or a vector (1-D, giving a scalar)."""
        if self.ndim != 1:
            raise ProblemError(f"matrix product: the expression must be 1-D, got shape {self.shape}")
        if sp.issparse(mat):
            m = sp.csr_matrix(mat, dtype=np.float64)
            _finite(m.data, "sparse matrix")
        else:
            m = _const_array(mat, "matrix")
        one_d = m.ndim == 1
        m2 = m.reshape(1, -1) if one_d else m
        if m2.ndim != 2 or m2.shape[1] != self.size:
            raise ProblemError(
                f"matrix product: shapes {tuple(np.shape(m))} (matrix) and {self.shape} (expression) do not match"
            )
        if not sp.issparse(m2):
            m2 = sp.csr_matrix(m2)
        terms = {v: sp.csr_matrix(m2 @ t) for v, t in self.terms.items()}
        const = np.asarray(m2 @ self.const).ravel()
        return Affine(terms, const, () if one_d else (m2.shape[0],))

    def __matmul__(self, mat: Any) -> Affine:
        """``self @ mat``: a 1-D expression times a matrix (or vector)."""
        if isinstance(mat, Affine):
            raise ProblemError(
                f"product of two expressions (shapes {self.shape} and {mat.shape}) is not linear"
            )
        if sp.issparse(mat):
            return self.__rmatmul__(sp.csr_matrix(mat).T)
        m = _const_array(mat, "matrix")
        return self.__rmatmul__(m.T)

    def dot(self, coef: Any) -> Affine:
        """Scalar product with a constant vector of the same shape."""
        return self.scale(coef).sum()

    def sum(self) -> Affine:
        """Sum of all entries (a scalar expression)."""
        ones = np.ones((1, self.size))
        terms = {v: sp.csr_matrix(ones @ m) for v, m in self.terms.items()}
        return Affine(terms, np.array([self.const.sum()]), ())

    # ----- interval bounds ----------------------------------------------------------------
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Interval bounds of every entry from the variables' bounds (±inf when unbounded)."""
        lo = self.const.copy()
        hi = self.const.copy()
        for v, m in self.terms.items():
            pos, neg = m.maximum(0).tocsr(), m.minimum(0).tocsr()
            lo += _safe_dot(pos, v.lb.ravel()) + _safe_dot(neg, v.ub.ravel())
            hi += _safe_dot(pos, v.ub.ravel()) + _safe_dot(neg, v.lb.ravel())
        return lo.reshape(self.shape), hi.reshape(self.shape)

    # ----- comparisons build constraints --------------------------------------------------
    def _cmp(self, other: Any, sense: str) -> Constraint:
        from smugkit.dsl.constraints import Constraint

        return Constraint.build(self, other, sense)

    def __le__(self, other: Any) -> Constraint:
        return self._cmp(other, "<=")

    def __lt__(self, other: Any) -> Constraint:
        return self._cmp(other, "<")

    def __ge__(self, other: Any) -> Constraint:
        return self._cmp(other, ">=")

    def __gt__(self, other: Any) -> Constraint:
        return self._cmp(other, ">")

    def __eq__(self, other: object) -> Constraint:  # type: ignore[override]
        return self._cmp(other, "==")

    __hash__ = None  # type: ignore[assignment]


def _safe_dot(m: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """``m @ x`` where 0 * inf counts as 0 (structural zeros never touch the bound)."""
    if np.all(np.isfinite(x)):
        return m @ x
    coo = m.tocoo()
    prod = coo.data * x[coo.col]
    return np.bincount(coo.row, weights=prod, minlength=m.shape[0]) if prod.size else np.zeros(m.shape[0])


def as_expr(value: Any) -> Affine:
    """An Affine from an expression, a variable or a numeric constant."""
    return Affine.lift(value)


def expand(expr: Affine, factors: int | tuple[int, ...] | None = None, *, index: Any = None) -> Affine:
    """Spread mask bits over the inputs they cover: block repeat by ``factors``, or gather by ``index``.

    ``expand(m, (2, 2))`` up-samples a (14, 14) window mask to (28, 28) pixels; ``expand(m, index=w)``
    gives ``m[w]`` where ``w[p]`` is the window of input p (any shape).
    """
    if (factors is None) == (index is None):
        raise ProblemError("expand: give exactly one of factors or index")
    if index is not None:
        return expr[np.asarray(index, dtype=np.int64)]
    return expr.repeat(factors)


def dsum(items: Any) -> Affine:
    """Sum of an iterable of expressions/constants (or of all entries of one expression)."""
    if isinstance(items, Affine):
        return items.sum()
    out: Affine | None = None
    for it in items:
        out = Affine.lift(it) if out is None else out + it
    if out is None:
        raise ProblemError("sum of an empty sequence of expressions")
    return out
