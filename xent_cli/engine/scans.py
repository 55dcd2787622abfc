"""Block-wise input checks: non-finite values and probability rows, in bounded memory.

The figures :mod:`xent_cli.analysis.diagnostics` turns into warnings, computed one block at
a time (on threads) instead of through a full-size boolean array: by a pass of their own
(:func:`non_finite_stats`, :func:`probability_stats`), or by the loss, gradient or softmax
pass itself (a scan given as its ``scan=``), which then reads the input once, not twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np

from ..core import normalize_class_axis
from . import kernels as kern
from .plan import Block, Plan, chunk, make_plan, reshaped
from .runner import Progress, per_thread, run


class Scan(Protocol):
    """A per-block hook of the passes (``scan=``): ``update(plan, block, chunk)`` sees each
    block's input (the compute precision, the plan's layout, a buffer: keep no reference)
    before the kernel overwrites it, on the block's thread, in any order. The fused loss pass
    makes no chunk: it calls :func:`finite_hook`'s hook instead."""

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None: ...


def non_finite_stats(
    x: np.ndarray,
    *,
    class_axis: int = -1,
    threads: int | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """``(count, first)``: how many values of ``x`` are NaN or ±inf, and the flat C-order
    index of the first one (``-1`` when there is none), block by block (the blocks of a
    pass with classes on ``class_axis``).

    >>> non_finite_stats(np.array([[0.0, 1.0], [np.inf, np.nan]]))
    (2, 2)
    """
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0, -1
    plan = make_plan(arr, normalize_class_axis(arr.ndim, class_axis), arr.itemsize)
    scan = NonFiniteScan()
    run(plan, lambda block: scan.update_finite(plan, block, None), threads, progress)
    return scan.result()


class NonFiniteScan:
    """:func:`non_finite_stats` of a pass's input (or of ``source``, another array of its
    shape seen as ``(P, C, S)``: probability targets), counted block by block as it goes.

    A chunk that :func:`.kernels.finite_summary` finds finite costs two reductions (converting
    keeps NaN and infinities); otherwise the block is counted exactly on the input's own values
    (a float64 input computed in float32 may overflow to inf: no NaN of the input's).
    :meth:`result` is ``non_finite_stats(x)``, on any number of threads, in any block order.

    >>> from xent_cli.core import prepare_targets
    >>> from xent_cli.engine.passes import evaluate
    >>> from xent_cli.spec import LossSpec
    >>> x = np.array([[0.0, 1.0], [np.inf, np.nan], [2.0, -np.inf]])
    >>> t = prepare_targets(x.shape, [0, 1, 1])
    >>> scan = NonFiniteScan()
    >>> _ = evaluate(x, t, LossSpec(), block_rows=1, threads=2, scan=scan)
    >>> scan.result() == non_finite_stats(x) == (3, 2)
    True
    """

    def __init__(self, source: np.ndarray | None = None) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._first = -1
        self._source = _source(source)

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None:
        """Count the non-finite values of ``block`` of ``plan`` (``chunk``: its values in the
        compute precision, in the plan's layout). Thread-safe."""
        finite = kern.finite_summary(chunk) if self._source is None else None
        self.update_finite(plan, block, finite)

    def update_finite(self, plan: Plan, block: Block, finite: bool | None) -> None:
        """:meth:`update` for a pass that tells, instead of a chunk, whether it found every
        input value of the block finite (``None``: not known, look). Thread-safe."""
        p0, p1, s0, s1 = block
        if self._source is None:
            src = plan.x3[p0:p1, :, s0:s1]  # the input's own values: (pp, C, ss)
            if finite or (finite is None and kern.finite_summary(src)):
                return
        else:  # another array of the input's shape (probability targets): its same block
            src = _check_source(self._source, plan)[p0:p1, :, s0:s1]
            if kern.finite_summary(src):
                return
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


_Figures = tuple[tuple[int, int, float] | None, int, tuple[int, float] | None]


class ProbabilityStats(NamedTuple):
    """What is wrong with rows of probabilities (sample index, class index, value)."""

    outside: tuple[int, int, float] | None  # first value outside [0, 1]
    n_off: int  # rows whose sum is off 1 by more than the tolerance
    first_off: tuple[int, float] | None  # first such row and its sum


def _probability_rows(rows: np.ndarray, m0: int, tol: float) -> _Figures:
    """One block's figures for :class:`ProbabilityStats`: its float64 ``(n, C)`` rows, samples
    ``m0:m0 + n``. ``(outside, n_off, first_off)``, in the fields' forms."""
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
    return outside, n_off, first


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
    scan = ProbabilityScan(tol=tol)  # the float64 rows of each block, as a pass would see them
    run(
        plan,
        lambda block: scan.update(plan, block, chunk(plan, work_of(), block, ct)),
        threads,
        progress,
    )
    return scan.result()


def _source(source: np.ndarray | None) -> np.ndarray | None:
    if source is not None and (source.ndim != 3 or source.dtype.kind not in "fiu"):
        raise ValueError(f"a scan's source is a numeric (P, C, S) view, got {source.shape}")
    return source


def _check_source(source: np.ndarray, plan: Plan) -> np.ndarray:
    if source.shape != plan.x3.shape:
        raise ValueError(f"the scan's source has shape {source.shape}, not {plan.x3.shape}")
    return source


class ProbabilityScan:
    """:func:`probability_stats` of a pass's input (or ``source``, as :class:`NonFiniteScan`).

    Each block is checked on the input's own values in float64: the pass's chunk when it
    holds them, else the block re-read (hot in cache) into a per-thread buffer, so a float64
    input computed in float32 gets the same verdict. The first value outside [0, 1] and the
    first row off 1 are the lowest in sample order, whatever order the blocks run in.

    >>> from xent_cli.core import prepare_targets
    >>> from xent_cli.engine.passes import evaluate
    >>> from xent_cli.spec import LossSpec
    >>> q = np.array([[0.5, 0.6], [1.5, -0.5], [0.25, 0.75]])
    >>> t = prepare_targets(q.shape, [0, 1, 1])
    >>> scan = ProbabilityScan()
    >>> _ = evaluate(q, t, LossSpec(input_kind="probs"), block_rows=1, threads=2, scan=scan)
    >>> scan.result() == probability_stats(q, 1)
    True
    """

    def __init__(self, source: np.ndarray | None = None, *, tol: float = 1e-6) -> None:
        self._source = _source(source)
        self._tol = tol
        self._lock = threading.Lock()
        self._local = threading.local()
        self._outside: tuple[int, int, float] | None = None
        self._n_off = 0
        self._first_off: tuple[int, float] | None = None

    def _rows(self, plan: Plan, block: Block, chunk: np.ndarray) -> np.ndarray:
        """The block's values as float64 ``(n, C)`` rows, as ``probability_stats`` reads them."""
        if self._source is None and chunk.dtype == np.float64 and not plan.col:
            return chunk  # the input's values, exactly (a float64 chunk converts exactly)
        x3 = plan.x3 if self._source is None else _check_source(self._source, plan)
        m0, m1 = plan.span(block)
        shape = (m1 - m0, plan.n_classes)
        p0, p1, s0, s1 = block
        src = x3[p0:p1, :, s0:s1].transpose(0, 2, 1)  # (pp, ss, C)
        if src.dtype == np.float64:
            direct = reshaped(src, shape)
            if direct is not None and (direct.strides[-1] == 8 or shape[1] == 1):
                return direct
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.size < src.size:
            buf = self._local.buf = np.empty(max(src.size, plan.rows * plan.n_classes))
        dst = buf[: src.size].reshape(src.shape)
        kern.load(src, dst)
        return dst.reshape(shape)

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None:
        """Check the probabilities of ``block`` of ``plan`` (``chunk``: as
        :meth:`NonFiniteScan.update`'s). Thread-safe."""
        m0, _ = plan.span(block)
        outside, n_off, first = _probability_rows(self._rows(plan, block, chunk), m0, self._tol)
        if outside is None and not n_off:
            return
        with self._lock:
            if outside is not None and (self._outside is None or outside < self._outside):
                self._outside = outside
            self._n_off += n_off
            if first is not None and (self._first_off is None or first < self._first_off):
                self._first_off = first

    def result(self) -> ProbabilityStats:
        """What :func:`probability_stats` gives for the input (or ``source``)."""
        with self._lock:
            return ProbabilityStats(self._outside, self._n_off, self._first_off)


class Scans:
    """Several scans as one ``scan=`` of a blocked pass: each one's ``update``, in turn."""

    def __init__(self, *scans: NonFiniteScan | ProbabilityScan) -> None:
        self.scans = scans

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None:
        for scan in self.scans:
            scan.update(plan, block, chunk)


FiniteHook = Callable[[Plan, Block, bool], None]


def finite_hook(scan: object | None) -> FiniteHook | None:
    """What a pass that sees no chunk (:func:`.kernels.fused_losses`) calls with each block's
    "all finite" instead of ``scan.update``: for a :class:`NonFiniteScan` (or :class:`Scans`
    of them), their ``update_finite``; None when the scan needs the chunk itself (or there
    is no scan: then a hook that does nothing)."""
    if scan is None:
        return lambda plan, block, finite: None
    given = scan.scans if isinstance(scan, Scans) else (scan,)
    parts = [part for part in given if isinstance(part, NonFiniteScan)]
    if len(parts) != len(given):
        return None

    def hook(plan: Plan, block: Block, finite: bool) -> None:
        for part in parts:
            part.update_finite(plan, block, finite)

    return hook
