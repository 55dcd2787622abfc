"""Exit codes, and the one place that maps what happened in a command to them.

:class:`XentCommand` turns the library's errors into Click's (``UsageError`` exits 2, any
other ``XentError`` 1); :class:`XentGroup` turns everything else into one line and an exit
code: an interruption, a closed pipe, no memory, and a bug in xent (exit 70). Around a
command, standard output never drops data and SIGTERM/SIGHUP unwind cleanly.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator
from enum import IntEnum
from types import FrameType
from typing import Any

import click

from ..errors import UsageError, XentError
from .env import Env


class ExitCode(IntEnum):
    """Exit statuses: scripts depend on them (SPEC: Exit codes)."""

    OK = 0
    DATA = 1
    USAGE = 2
    INTERNAL = 70  # EX_SOFTWARE: a bug in xent, not in the input
    INTERRUPTED = 130  # 128 + SIGINT
    BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for `seq 1e9 | head -1`


class XentCommand(click.Command):
    """A command whose library errors become Click's: bad usage exits 2, the rest 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating :class:`XentError` (the one translation point)."""
        try:
            return super().invoke(ctx)
        except UsageError as err:
            raise click.UsageError(str(err), ctx) from None
        except XentError as err:
            raise click.ClickException(str(err)) from None


class XentGroup(click.Group):
    """A group that turns unexpected failures into one line and a distinct exit code."""

    command_class = XentCommand

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with its :class:`~xent_cli.cli.env.Env` as ``ctx.obj`` (made here
        unless a caller gave one). Ctrl-C
        exits 130 (SIGTERM 143, SIGHUP 129), after ``finally`` blocks have removed any
        temporary file; a closed output pipe exits 141 quietly; running out of memory is one
        line and exit 1; an internal error is one line and exit 70 (the traceback with
        XENT_DEBUG=1)."""
        buffered_stdout()
        env = ctx.obj if isinstance(ctx.obj, Env) else Env()  # tests may pass their own
        ctx.obj = env
        try:
            with termination_cleans_up():
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except Terminated as stop:
            click.echo("Terminated.", err=True)
            raise click.exceptions.Exit(128 + stop.signum) from None
        except BrokenPipeError:
            # The reader went away (`xent softmax big.npy | head -1`): stop quietly.
            silence_stdout()
            raise click.exceptions.Exit(ExitCode.BROKEN_PIPE) from None
        except SystemExit as stop:
            # Rich's Console.on_broken_pipe raises SystemExit(1) inside its BrokenPipeError
            # handler: the same event as above, so the same exit status.
            if isinstance(stop.__context__, BrokenPipeError):
                raise click.exceptions.Exit(ExitCode.BROKEN_PIPE) from None
            raise
        except MemoryError:
            click.echo(
                "Error: out of memory. For big inputs use .npy files, which xent memory-maps "
                "and reads in blocks.",
                err=True,
            )
            raise click.exceptions.Exit(ExitCode.DATA) from None
        except Exception as err:  # the one place that catches everything: report, don't crash
            if env.debug:
                raise
            click.echo(
                f"xent: internal error ({type(err).__name__}: {err}). This is a bug in xent; "
                "please report it with the command line. Set XENT_DEBUG=1 to see the traceback.",
                err=True,
            )
            raise click.exceptions.Exit(ExitCode.INTERNAL) from None


# --- the process around a command: standard output that never drops data, clean exits ---


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind (``finally`` blocks remove temporary files), then exit.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""

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
    thread (where handlers cannot be set) nothing changes."""
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
    raises ``BrokenPipeError``. Click and Rich flush after each output, as before."""
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
