"""The process around a command: standard output that never drops data, clean termination.

:class:`~xent_cli.cli.exits.XentGroup` turns what happens here into exit codes. Nothing here
knows Click.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind (``finally`` blocks remove temporary files), then exit.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def termination_cleans_up() -> Iterator[None]:
    """While the body runs, SIGTERM and SIGHUP raise :class:`Terminated` instead of killing
    the process on the spot (so ``-o`` leaves no temporary file behind).

    A signal that the parent set to be ignored (``nohup``) stays ignored; outside the main
    thread (where handlers cannot be set) nothing changes.
    """
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            if signal.getsignal(signum) == signal.SIG_DFL:
                previous[signum] = signal.signal(signum, _raise_terminated)
        except (ValueError, OSError):  # not the main thread
            continue
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


def buffered_stdout() -> None:
    """Give ``sys.stdout`` a buffered layer when it has none (``PYTHONUNBUFFERED=1``).

    An unbuffered ``sys.stdout`` passes each write to ``os.write`` once, and when a pipe takes
    only part of it (its reader quit, as ``head -1`` does) the rest is silently dropped: the
    output is cut short and no error is raised. A ``BufferedWriter`` writes everything or
    raises ``BrokenPipeError``. Click and Rich flush after each output, as before.
    """
    out = sys.stdout
    if not isinstance(getattr(out, "buffer", None), io.FileIO):
        return
    try:
        raw = io.FileIO(out.fileno(), "w", closefd=False)
    except (OSError, ValueError):
        return
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(raw),
        encoding=out.encoding,
        errors=out.errors,
        line_buffering=bool(out.line_buffering),
        write_through=True,
    )


def silence_stdout() -> None:
    """Point file descriptor 1 at ``/dev/null`` after a broken pipe, so that the flush at
    exit has nowhere to fail (and prints no ``Exception ignored`` message)."""
    try:
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return
    os.dup2(devnull, fd)
    os.close(devnull)
