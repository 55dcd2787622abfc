"""Block-wise input checks: non-finite values and probability rows, in bounded memory.

The figures :mod:`xent_cli.diagnose` turns into warnings, computed one block at a time (on
threads) instead of through a full-size boolean array. NumPy and the standard library only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import _kernel as kern
from ._kernel_run import (
    BLOCK_BYTES,
    Block,
    Plan,
    Progress,
    chunk,
    make_plan,
    per_thread,
    reshaped,
    run,
    run_items,
)

__all__ = ["NonFiniteScan", "ProbabilityStats", "non_finite_stats", "probability_stats"]


def _pieces(x: np.ndarray, size: int, offset: int = 0) -> list[tuple[int, np.ndarray]]:
    """``x`` in C order as 1-D views of at most ``size`` values: ``(flat offset, view)``."""
    flat = reshaped(x, (x.size,))
    if flat is None:  # not addressable as one flat view: one piece list per leading index
        step = x[0].size if len(x) else 0
        out: list[tuple[int, np.ndarray]] = []
        for i in range(x.shape[0]):
            out += _pieces(x[i], size, offset + i * step)
        return out
    return [(offset + k, flat[k : k + size]) for k in range(0, flat.size, size)]


def non_finite_stats(
    x: np.ndarray, *, threads: int | None = None, progress: Progress | None = None
) -> tuple[int, int]:
    """``(count, first)``: how many values of ``x`` are NaN or ±inf, and the flat C-order
    index of the first one (``-1`` when there is none).

    >>> non_finite_stats(np.array([[0.0, 1.0], [np.inf, np.nan]]))
    (2, 2)
    """
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0, -1
    pieces = _pieces(arr, max(1, BLOCK_BYTES // arr.itemsize))
    found: list[tuple[int, int]] = [(0, -1)] * len(pieces)

    def work(i: int) -> None:
        offset, piece = pieces[i]
        if kern.finite_summary(piece):
            return
        bad = ~np.isfinite(piece)
        found[i] = (int(np.count_nonzero(bad)), offset + int(np.argmax(bad)))

    run_items(range(len(pieces)), work, lambda i: pieces[i][1].size, arr.size, threads, progress)
    count = sum(n for n, _ in found)
    first = next((f for n, f in found if n), -1)
    return count, first


class NonFiniteScan:
    """:func:`non_finite_stats` of an input, measured by a blocked pass while it computes.

    The loss, gradient and softmax passes of :mod:`xent_cli.blocks` take one as ``scan=``
    and call :meth:`update` with each block's chunk (the compute precision, the plan's
    layout) before the kernel overwrites it, so the input is read once, not once for the
    check and again for the result. A chunk that :func:`_kernel.finite_summary` finds finite
    costs two reductions (the input's values are finite whenever the chunk's are: converting
    keeps NaN and infinities); otherwise the block is counted exactly on the input's own
    values (a float64 input computed in float32 may overflow to inf: that is no NaN of the
    input's). :meth:`result` is the same as ``non_finite_stats(x)``: the count and the flat
    C-order index of the first, on any number of threads and whatever order the blocks run in.

    >>> from xent_cli.blocks import evaluate_blocked
    >>> x = np.array([[0.0, 1.0], [np.inf, np.nan], [2.0, -np.inf]])
    >>> scan = NonFiniteScan()
    >>> _ = evaluate_blocked(x, [0, 1, 1], block_rows=1, threads=2, scan=scan)
    >>> scan.result() == non_finite_stats(x) == (3, 2)
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._first = -1

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None:
        """Count the non-finite values of ``block`` of ``plan`` (``chunk``: its values in the
        compute precision, in the plan's layout). Thread-safe."""
        if kern.finite_summary(chunk):
            return
        p0, p1, s0, s1 = block
        src = plan.x3[p0:p1, :, s0:s1]  # the input's own values: (pp, C, ss)
        if src.dtype.kind != "f":
            return
        bad = ~np.isfinite(src)
        n = int(np.count_nonzero(bad))
        if not n:
            return
        # The first in C order of (pp, C, ss) is the block's lowest flat index of the input.
        p, c, s = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
        _, n_classes, n_s = plan.x3.shape
        flat = ((p0 + p) * n_classes + c) * n_s + s0 + s
        with self._lock:
            self._count += n
            if self._first < 0 or flat < self._first:
                self._first = flat

    def result(self) -> tuple[int, int]:
        """``(count, first)``, as :func:`non_finite_stats` gives them (``first`` -1: none)."""
        with self._lock:
            return self._count, self._first


@dataclass(frozen=True)
class ProbabilityStats:
    """What is wrong with rows of probabilities (sample index, class index, value)."""

    outside: tuple[int, int, float] | None  # first value outside [0, 1]
    n_off: int  # rows whose sum is off 1 by more than the tolerance
    first_off: tuple[int, float] | None  # first such row and its sum


def probability_stats(
    x: np.ndarray,
    class_axis: int,
    *,
    tol: float = 1e-6,
    threads: int | None = None,
    progress: Progress | None = None,
) -> ProbabilityStats:
    """Values outside [0, 1] and row sums off 1 (more than ``tol``) of probabilities whose
    classes lie along ``class_axis`` (non-negative); rows in the core's sample order.

    >>> probability_stats(np.array([[0.5, 0.6], [1.5, -0.5]]), 1)
    ProbabilityStats(outside=(1, 0, 1.5), n_off=1, first_off=(0, 1.1))
    """
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    ct = np.dtype(np.float64)
    plan = make_plan(arr, class_axis, ct.itemsize, col=False)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct))
    results: dict[int, tuple] = {}

    def work(block: tuple[int, int, int, int]) -> None:
        m0, _ = plan.span(block)
        rows = chunk(plan, work_of(), block, ct)
        outside = None
        low = np.fmin.reduce(rows, axis=None) if rows.size else 0.0  # NaN is not outside
        high = np.fmax.reduce(rows, axis=None) if rows.size else 0.0
        if low < 0 or high > 1:
            mask = (rows < 0) | (rows > 1)
            r, c = np.unravel_index(int(np.argmax(mask)), mask.shape)
            outside = (m0 + int(r), int(c), float(rows[r, c]))
        sums = np.add.reduce(rows, axis=1)
        off = np.abs(sums - 1.0) > tol
        n_off = int(np.count_nonzero(off))
        first = None
        if n_off:
            i = int(np.argmax(off))
            first = (m0 + i, float(sums[i]))
        results[m0] = (outside, n_off, first)

    run(plan, work, threads, progress)
    ordered = [results[k] for k in sorted(results)]
    outside = next((o for o, _, _ in ordered if o is not None), None)
    first_off = next((f for _, _, f in ordered if f is not None), None)
    return ProbabilityStats(outside, sum(n for _, n, _ in ordered), first_off)
