"""Folding per-block results into a total in sample order, whatever order threads finish them.

Float sums depend on the order of their terms: to give the same bits on any number of
threads, per-block results are added in the order of their blocks, never in the order the
threads happen to finish them. Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

AHEAD = 64  # parts that may wait for an earlier block before their threads pause
PATIENCE = 0.25  # seconds a thread pauses at most (the buffer is a memory bound, not a lock)


class InOrder(Generic[T]):
    """``put(start, stop, part)`` from any thread, for consecutive spans ``start:stop`` of
    samples that together cover ``0:total``; ``fold(part)`` is called for them in span order
    (one at a time, under a lock), each as soon as it and every earlier span have arrived.

    Parts that arrive ahead of an earlier one wait in a buffer. A thread that finds ``ahead``
    parts waiting pauses (at most ``patience`` seconds per part, so that an error or an
    interrupt elsewhere never leaves it waiting) until the late one arrives: the buffer stays
    about ``ahead`` parts, whatever the number of blocks. Empty spans are ignored.

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
