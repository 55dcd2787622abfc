"""A Rich progress bar on stderr for long blocked runs, drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["progress_bar"]

Progress = Callable[[int, int], None]


@contextmanager
def progress_bar(
    description: str, *, stream: TextIO | None = None, delay: float = 0.5
) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` callback that draws a Rich progress bar on ``stream``
    (stderr), or ``None`` when the stream is not a terminal. The bar appears only once a run
    has taken ``delay`` seconds (Rich is imported then, not before) and is removed at the end.

    >>> import io
    >>> with progress_bar("compute", stream=io.StringIO()) as progress:
    ...     progress is None
    True
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        yield None
        return
    start = time.monotonic()
    state: dict = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < delay or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(description, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()
