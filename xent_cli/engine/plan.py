"""The one blocking scheme: an array cut into blocks of consecutive samples.

An input of any rank is viewed, without a copy, as ``(P, C, S)`` (the axes before the class
axis, the classes, the axes after it): sample ``m`` is ``(m // S, :, m % S)``. A block is a
run of consecutive samples, ``(p0:p1, :, s0:s1)``, taken as rows ``(R, C)`` or transposed
``(C, R)``. The passes, the scans and the analyses' blocks of rows (:func:`iter_rows`) all
cut arrays this way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ..core import as_float, as_numeric, compute_dtype, normalize_class_axis, row_log_probs
from ..limits import current
from . import kernels as kern

Block = tuple[int, int, int, int]  # samples (p0:p1, s0:s1) of the (P, C, S) view


class Plan(NamedTuple):
    """How an array is cut into blocks of samples."""

    x3: np.ndarray  # (P, C, S) view of the input
    col: bool  # blocks transposed to (C, R)
    rows: int  # most samples in a block
    blocks: tuple[Block, ...]  # (p0, p1, s0, s1)

    @property
    def n_classes(self) -> int:
        """C, the classes of each sample."""
        return int(self.x3.shape[1])

    @property
    def n_rows(self) -> int:
        """M, the samples of the array."""
        return int(self.x3.shape[0] * self.x3.shape[2])

    def span(self, block: Block) -> tuple[int, int]:
        """Samples ``m0:m1`` of a block."""
        p0, p1, s0, s1 = block
        s = self.x3.shape[2]
        return (p0 * s + s0, p0 * s + s0 + (p1 - p0) * (s1 - s0))

    def view(self, arr3: np.ndarray, block: Block) -> np.ndarray:
        """A block of a ``(P, C, S)`` array, as 3-D ``(pp, ss, C)`` rows or ``(C, pp, ss)``."""
        p0, p1, s0, s1 = block
        part = arr3[p0:p1, :, s0:s1]
        return part.transpose(1, 0, 2) if self.col else part.transpose(0, 2, 1)

    def shape2(self, n: int) -> tuple[int, int]:
        """The 2-D shape of a block of ``n`` samples in this plan's layout."""
        return (self.n_classes, n) if self.col else (n, self.n_classes)


def reshaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``a`` reshaped without a copy, or ``None`` when its strides do not allow it."""
    try:
        return np.reshape(a, shape, copy=False)  # type: ignore[call-overload,unused-ignore]
    except ValueError:
        return None
    except TypeError:  # older NumPy: no copy=; setting the shape of a view never copies
        view = a.view()
        try:
            view.shape = shape
        except AttributeError:
            return None
        return view


def view3(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` as ``(P, C, S)`` without copying when its strides allow (a copy otherwise)."""
    shape = (
        int(np.prod(x.shape[:axis], dtype=np.int64)),
        x.shape[axis],
        int(np.prod(x.shape[axis + 1 :], dtype=np.int64)),
    )
    view = reshaped(x, shape)
    if view is None:  # e.g. a Fortran-ordered array of 3+ axes: correct, but not bounded
        return np.ascontiguousarray(x).reshape(shape)
    return view


def sample_rows(
    x: np.ndarray, class_axis: int, start: int, stop: int, dtype: str | None = None
) -> np.ndarray:
    """Samples ``start:stop`` of ``x`` as ``(n, C)`` rows in the compute precision, read
    without touching the rest (what ``explain`` shows of a big input).

    >>> sample_rows(np.arange(24.0).reshape(2, 3, 4), 1, 3, 5).tolist()
    [[3.0, 7.0, 11.0], [12.0, 16.0, 20.0]]
    """
    arr = as_numeric(x)
    axis = normalize_class_axis(arr.ndim, class_axis)
    x3 = view3(arr, axis)
    m = np.arange(max(0, start), min(stop, x3.shape[0] * x3.shape[2]))
    rows = x3[m // x3.shape[2], :, m % x3.shape[2]]
    return rows.astype(compute_dtype(arr.dtype, dtype))


def make_plan(
    x: np.ndarray, axis: int, itemsize: int, block_rows: int | None = None, col: bool | None = None
) -> Plan:
    """Cut ``x`` (class axis ``axis``) into blocks of about ``block_bytes`` each (counted at
    ``itemsize`` bytes a value), or of ``block_rows`` samples; ``col`` forces the layout
    (``None``: transposed below ``col_classes`` classes)."""
    x3 = view3(x, axis)
    n_p, n_classes, n_s = x3.shape
    limits = current()
    if col is None:
        col = n_classes < limits.col_classes
    rows = block_rows or max(1, limits.block_bytes // max(1, n_classes * itemsize))
    if n_s > 1 and not col and block_rows is None:
        rows = max(rows, 16)  # strided reads: whole cache lines
    blocks: list[Block] = []
    if n_s <= rows:
        step = max(1, rows // max(1, n_s))
        blocks = [(p, min(p + step, n_p), 0, n_s) for p in range(0, n_p, step)]
        rows = step * n_s
    else:
        for p in range(n_p):
            blocks += [(p, p + 1, s, min(s + rows, n_s)) for s in range(0, n_s, rows)]
    return Plan(x3, bool(col), max(1, min(rows, n_p * n_s)), tuple(blocks))


def chunk(plan: Plan, w: kern.Work, block: Block, ct: np.dtype) -> np.ndarray:
    """The input of a block in the compute precision and the plan's 2-D layout.

    When the block is already in the compute precision and is a 2-D view with contiguous
    inner rows (a row block of a C-ordered array, say) it is used in place, without a copy;
    otherwise it is loaded (converted, transposed) into the work buffer ``w.a``."""
    m0, m1 = plan.span(block)
    n = m1 - m0
    src = plan.view(plan.x3, block)
    shape2 = plan.shape2(n)
    if src.dtype == ct:
        direct = reshaped(src, shape2)
        if direct is not None and (direct.strides[-1] == ct.itemsize or direct.shape[-1] == 1):
            return direct
    dst = w.a[: n * plan.n_classes].reshape(src.shape)
    kern.load(src, dst)
    return dst.reshape(shape2)


def input_rows(plan: Plan, block: Block) -> np.ndarray | None:
    """A block's samples as ``(n, C)`` rows of the input itself (a view, never a copy), or
    None when they are not laid out that way (samples along trailing axes: K-dim input)."""
    if plan.x3.shape[2] != 1:
        return None
    p0, p1, _, _ = block
    return plan.x3[p0:p1, :, 0]


def out_block(plan: Plan, out3: np.ndarray, block: Block) -> tuple[np.ndarray, np.ndarray | None]:
    """The output's view of a block (3-D), and the same as a 2-D view when one exists."""
    m0, m1 = plan.span(block)
    dst = plan.view(out3, block)
    return dst, reshaped(dst, plan.shape2(m1 - m0))


def row_plan(x: np.ndarray, class_axis: int = 1, block_bytes: int | None = None) -> Plan:
    """The row blocks of ``x``: at most ``block_bytes`` (default ``rows_bytes``) of float64
    rows each, at least one row.

    >>> row_plan(np.zeros((5, 4)), block_bytes=64).blocks
    ((0, 2, 0, 1), (2, 4, 0, 1), (4, 5, 0, 1))
    """
    axis = normalize_class_axis(x.ndim, class_axis)
    budget = max(1, (block_bytes or current().rows_bytes) // (8 * max(x.shape[axis], 1)))
    return make_plan(x, axis, 8, block_rows=budget, col=False)


def block_rows(plan: Plan, block: Block) -> tuple[int, np.ndarray]:
    """``(start, rows)``: the block's ``(n, C)`` rows as given (a view when the layout allows,
    else a copy) and the flat index of its first sample."""
    m0, m1 = plan.span(block)
    return m0, np.asarray(plan.view(plan.x3, block)).reshape(m1 - m0, plan.n_classes)


def iter_rows(
    x: np.ndarray, *, class_axis: int = 1, block_bytes: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, rows)`` for every block of :func:`row_plan`, in sample order.

    >>> [(s, r.shape) for s, r in iter_rows(np.zeros((5, 4)), block_bytes=64)]
    [(0, (2, 4)), (2, (2, 4)), (4, (1, 4))]
    >>> [r.tolist() for _, r in iter_rows(np.arange(4.0).reshape(2, 2), class_axis=0)]
    [[[0.0, 2.0], [1.0, 3.0]]]
    >>> [s for s, _ in iter_rows(np.zeros((2, 3, 5)), class_axis=-1, block_bytes=80)]
    [0, 2, 4]
    """
    plan = row_plan(x, class_axis, block_bytes)
    for block in plan.blocks:
        yield block_rows(plan, block)


def iter_log_probs(
    x: np.ndarray,
    *,
    class_axis: int = 1,
    input_kind: str = "logits",
    dtype: str | None = None,
    block_bytes: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`iter_rows`, with the rows' log-probabilities (computed as the core does).

    >>> [(s, lp.round(4).tolist()) for s, lp in iter_log_probs(np.array([[0.0, 0.0]]))]
    [(0, [[-0.6931, -0.6931]])]
    """
    for start, rows in iter_rows(x, class_axis=class_axis, block_bytes=block_bytes):
        yield start, row_log_probs(as_float(rows, dtype), input_kind)
