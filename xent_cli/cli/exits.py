"""Exit codes, and the one place that maps what happened in a command to them.

:class:`XentCommand` turns the library's errors into Click's (a
:class:`~xent_cli.errors.UsageError` exits 2 with the usage line; any other
:class:`~xent_cli.errors.XentError` exits 1 with ``Error: ...``); :class:`XentGroup` turns
everything else into one line and a distinct exit code: an interruption, a closed pipe,
running out of memory, and any other exception, which is a bug in xent (exit 70).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import click

from ..errors import UsageError, XentError
from .env import Env
from .process import Terminated, buffered_stdout, silence_stdout, termination_cleans_up


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
