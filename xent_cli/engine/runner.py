"""The one thread pool: a function run over items (a plan's blocks) on every core.

Threads take the next item from a shared counter (a slow core gets fewer); NumPy and the
native helper release the GIL in their loops. :class:`InOrder` folds per-block results in
block order, never in the order threads finish: the same float sums on any number of them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from ..system import available_threads
from .plan import Block, Plan

Progress = Callable[[int, int], None]
T = TypeVar("T")


def run(
    plan: Plan, work: Callable[[Block], None], threads: int | None, progress: Progress | None = None
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
    progress: Progress | None = None,
) -> None:
    """Call ``work(item)`` for every item, on ``threads`` threads (the caller's included).

    ``progress(done, total)`` (``done``: the ``size`` of the items finished) is called from the
    calling thread at most 20 times a second, and at the end. The first error (or Ctrl-C)
    stops the others after their current item and is raised. NaN and infinities are results
    here: every thread computes under ``np.errstate(all="ignore")``."""
    n_items = len(items)
    n_threads = min(available_threads(threads), max(1, n_items))
    counter = itertools.count()
    stop = threading.Event()
    lock = threading.Lock()
    done = [0]
    last = [time.monotonic()]
    errors: list[BaseException] = []

    def report() -> None:
        now = time.monotonic()
        if progress is not None and now - last[0] >= 0.05:
            last[0] = now
            progress(done[0], total)

    def loop(on_item: Callable[[], None] | None) -> None:
        with np.errstate(all="ignore"):  # errstate is per thread
            while not stop.is_set():
                i = next(counter)
                if i >= n_items:
                    return
                work(items[i])
                with lock:
                    done[0] += size(items[i])
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
        progress(done[0], total)


def per_thread(factory: Callable[[], T]) -> Callable[[], T]:
    """A getter for one object per thread (buffers), made by ``factory`` on first use."""
    local = threading.local()

    def get() -> T:
        if not hasattr(local, "value"):
            local.value = factory()
        value: T = local.value
        return value

    return get


AHEAD = 64  # parts that may wait for an earlier block before their threads pause
PATIENCE = 0.25  # seconds a thread pauses at most (the buffer is a memory bound, not a lock)


class InOrder(Generic[T]):
    """``put(start, stop, part)`` from any thread, for consecutive spans of samples;
    ``fold(part)`` is called in span order (under a lock), as soon as every earlier span is in.
    A thread that finds ``ahead`` parts waiting pauses (at most ``patience`` seconds a part)
    until the late one arrives: the buffer stays about ``ahead`` parts. Empty spans are ignored.

    >>> seen = []
    >>> order = InOrder(seen.append)
    >>> order.put(2, 5, "b"); order.put(5, 6, "c"); seen
    []
    >>> order.put(0, 2, "a"); seen, order.stop
    (['a', 'b', 'c'], 6)
    """

    def __init__(
        self, fold: Callable[[T], None], *, ahead: int = AHEAD, patience: float = PATIENCE
    ) -> None:
        self._fold = fold
        self._ahead = max(1, int(ahead))
        self._patience = float(patience)
        self._pending: dict[int, tuple[int, T]] = {}
        self._next = 0
        self._cond = threading.Condition()

    @property
    def stop(self) -> int:
        """The end of the samples folded so far (``total`` once every part is in)."""
        return self._next

    @property
    def waiting(self) -> int:
        """How many parts wait for an earlier one."""
        return len(self._pending)

    def put(self, start: int, stop: int, part: T) -> None:
        """Hand in the part of samples ``start:stop`` (folded now or once its turn comes)."""
        if stop <= start:
            return
        with self._cond:
            if start < self._next or start in self._pending:
                raise ValueError(f"samples {start}:{stop} were handed in twice")
            self._pending[start] = (stop, part)
            while self._next in self._pending:
                end, ready = self._pending.pop(self._next)
                self._fold(ready)
                self._next = end
            self._cond.notify_all()
            deadline = time.monotonic() + self._patience
            while len(self._pending) > self._ahead and start in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
