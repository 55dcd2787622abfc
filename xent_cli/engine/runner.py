"""The one thread pool: a function run over items (a plan's blocks) on every core.

Threads take the next item from a shared counter, so a slow core (a shared machine) gets
fewer items; progress is reported from the calling thread; the first error stops the rest.
NumPy releases the GIL in its loops (and the native helper in its own), so blocks on other
threads proceed meanwhile.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from ..system import available_threads
from .plan import Block, Plan

Progress = Callable[[int, int], None]
T = TypeVar("T")


def run(
    plan: Plan,
    work: Callable[[Block], None],
    threads: int | None,
    progress: Progress | None = None,
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
    """Call ``work(item)`` for every item, on ``threads`` threads (the caller's included;
    ``None``: every core).

    ``progress(done, total)`` (``done`` = sum of ``size(item)`` finished) is called from the
    calling thread, between its own items, at most 20 times a second, and once at the end.
    The first error (or Ctrl-C in the caller) stops the others after their current item and
    is raised once all have stopped. NaN and infinities are results here: every thread
    computes under ``np.errstate(all="ignore")``.
    """
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
