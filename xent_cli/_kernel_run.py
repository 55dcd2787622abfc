"""Cutting arrays into blocks of samples, and running a function over them on threads.

Support for :mod:`xent_cli.blocks` (see there). An input of any rank is viewed, without a
copy, as ``(P, C, S)``: the axes before the class axis, the classes, the axes after it; sample
``m`` of the core's ``(M, C)`` rows is ``(m // S, :, m % S)``. A block is a run of consecutive
samples, ``(p0:p1, :, s0:s1)``, taken as rows ``(R, C)`` or transposed ``(C, R)``.
NumPy and the standard library only.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from . import _kernel as kern
from .core import _BLOCKED_BYTES as MIN_BYTES
from .core import _big

__all__ = ["BLOCK_BYTES", "MIN_BYTES", "Plan", "available_threads", "make_plan", "run"]

BLOCK_BYTES = 1 << 20  # ~1 MiB of compute-precision input per block (fits in L2)
COL_CLASSES = 64  # below this many classes, blocks are transposed to (C, R)
Progress = Callable[[int, int], None]
Block = tuple[int, int, int, int]  # samples (p0:p1, s0:s1) of the (P, C, S) view
T = TypeVar("T")


def should_block(x: object) -> bool:
    """Whether an input is big enough (or on disk) for the blocked path: a ``np.memmap``, or
    an array of more than ``MIN_BYTES``. The core's functions dispatch on the same test."""
    return _big(x)


def available_threads(threads: int | None = None) -> int:
    """``threads``, or every core this process may run on."""
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return int(threads)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def as_numeric(x: npt.ArrayLike) -> np.ndarray:
    """The input as an array (a memmap stays one), checked as core's ``_as_float`` does."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"expected a real numeric array, got dtype {arr.dtype}")
    return arr


@dataclass(frozen=True)
class Plan:
    """How an array is cut into blocks of samples."""

    x3: np.ndarray  # (P, C, S) view of the input
    col: bool  # blocks transposed to (C, R)
    rows: int  # most samples in a block
    blocks: tuple[Block, ...]  # (p0, p1, s0, s1)

    @property
    def n_classes(self) -> int:
        return self.x3.shape[1]

    @property
    def n_rows(self) -> int:
        return self.x3.shape[0] * self.x3.shape[2]

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
        return (self.n_classes, n) if self.col else (n, self.n_classes)


def reshaped(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``a`` reshaped without a copy, or ``None`` when its strides do not allow it."""
    try:
        return np.reshape(a, shape, copy=False)  # NumPy >= 2.1
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


def make_plan(
    x: np.ndarray, axis: int, itemsize: int, block_rows: int | None = None, col: bool | None = None
) -> Plan:
    """Cut ``x`` (class axis ``axis``) into blocks of about ``BLOCK_BYTES`` each."""
    x3 = view3(x, axis)
    n_p, n_classes, n_s = x3.shape
    if col is None:
        col = n_classes < COL_CLASSES
    rows = block_rows or max(1, BLOCK_BYTES // max(1, n_classes * itemsize))
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


def run(
    plan: Plan,
    work: Callable[[Block], None],
    threads: int | None,
    progress: Progress | None,
) -> None:
    """Call ``work(block)`` for every block of ``plan`` on ``threads`` workers."""

    def size(block: Block) -> int:
        m0, m1 = plan.span(block)
        return m1 - m0

    run_items(plan.blocks, work, size, plan.n_rows, threads, progress)


def run_items(
    items: Sequence[T],
    work: Callable[[T], None],
    size: Callable[[T], int],
    total: int,
    threads: int | None,
    progress: Progress | None,
) -> None:
    """Call ``work(item)`` for every item, on ``threads`` threads (the caller's included).

    Threads take the next item from a shared counter, so a slow core (a shared machine) gets
    fewer items. ``progress(done, total)`` (``done`` = sum of ``size(item)`` finished) is
    called from the calling thread, between its own items, at most 20 times a second, and
    once at the end. The first error (or Ctrl-C in the caller) stops the others after
    their current item and is raised once all have stopped.
    """
    n_items = len(items)
    n_threads = min(available_threads(threads), max(1, n_items))
    counter = itertools.count()
    stop = threading.Event()
    lock = threading.Lock()
    state = {"done": 0, "last": time.monotonic()}
    errors: list[BaseException] = []

    def report() -> None:
        now = time.monotonic()
        if progress is not None and now - state["last"] >= 0.05:
            state["last"] = now
            progress(state["done"], total)

    def loop(on_item: Callable[[], None] | None) -> None:
        with np.errstate(all="ignore"):  # NaN/inf are results here (errstate is per thread)
            while not stop.is_set():
                i = next(counter)
                if i >= n_items:
                    return
                work(items[i])
                with lock:
                    state["done"] += size(items[i])
                if on_item is not None:
                    on_item()

    def worker() -> None:
        try:
            loop(None)
        except BaseException as err:  # handed to the calling thread, raised there
            errors.append(err)
            stop.set()

    helpers = [
        threading.Thread(target=worker, name=f"xent-{k}", daemon=True) for k in range(n_threads - 1)
    ]
    for thread in helpers:
        thread.start()
    try:
        loop(report)
    except BaseException:
        stop.set()
        raise
    finally:
        for thread in helpers:
            thread.join()
    if errors:
        raise errors[0]
    if progress is not None:
        progress(state["done"], total)


def per_thread(factory: Callable[[], kern.Work]) -> Callable[[], kern.Work]:
    """A getter for one ``Work`` per thread, made on first use."""
    local = threading.local()

    def get() -> kern.Work:
        w = getattr(local, "w", None)
        if w is None:
            w = local.w = factory()
        return w

    return get


def chunk(plan: Plan, w: kern.Work, block: Block, ct: np.dtype) -> np.ndarray:
    """The input of a block in the compute precision and the plan's 2-D layout.

    When the block is already in the compute precision and is a 2-D view with contiguous
    inner rows (a row block of a C-ordered array, say) it is used in place, without a copy;
    otherwise it is loaded (converted, transposed) into the work buffer ``w.a``.
    """
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
