"""The one progress bar: Rich, on stderr, for long blocked runs, drawn only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .env import Env

Progress = Callable[[int, int], None]


@contextmanager
def progress_bar(description: str, env: Env, *, delay: float = 0.5) -> Iterator[Progress | None]:
    """A ``progress(done, total)`` callback that draws a Rich progress bar on ``env``'s
    stderr, or ``None`` when that is not a terminal. The bar appears only once a run has
    taken ``delay`` seconds (Rich is imported then, not before) and is removed at the end.

    >>> import io
    >>> with progress_bar("compute", Env(stderr=io.StringIO())) as progress:
    ...     progress is None
    True
    """
    if not env.stderr_tty:
        yield None
        return
    start = time.monotonic()
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            if time.monotonic() - start < delay or done >= total:
                return
            from rich.console import Console  # start-up: only a long run draws a bar
            from rich.progress import (
                BarColumn,
                Progress as Bar,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(file=env.stderr),
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
