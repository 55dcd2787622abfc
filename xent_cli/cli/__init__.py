"""The command line: the only package that imports Click, reads argv and the environment,
and knows exit codes.

``app`` is the ``xent`` group; ``commands`` its commands, which read (:mod:`xent_cli.io`),
compute (:mod:`xent_cli.api`) and render (:mod:`xent_cli.render`); ``options`` the shared
options and the typed :class:`~.options.Options`; ``env`` the streams and terminal, read once;
``emit`` routes results; ``progress`` the bar; ``exits`` maps errors to exit codes (the one
translation point) and guards stdout and termination. It may import every layer.

:func:`main` is the ``xent`` console script: it imports the command line (most of start-up)
with Ctrl-C set to end the process at once, quietly, with 130, since the handlers that turn
Ctrl-C into exit 130 exist only afterwards. This module imports only ``signal`` at start.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

__all__ = ["main"]


def _quit(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while importing: nothing has started, so leave now (no exception that an
    import could swallow or report, no flush, nothing a second Ctrl-C could interrupt)."""
    os._exit(128 + signum)


def main(prog_name: str | None = None) -> None:
    """Import the command line, then run it (it ends with ``sys.exit`` and its exit code).

    Interrupted during the imports, xent exits 130 (128 + SIGINT), as for a Ctrl-C later on,
    and prints nothing; a closed output pipe exits 141, as later on. A Ctrl-C that the parent
    process set to be ignored stays ignored."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quit)
    try:
        from .app import cli  # start-up: imported under the guard
    except KeyboardInterrupt:  # only if the handler above could not be set
        os._exit(130)
    except BrokenPipeError:
        os._exit(141)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, previous)
    try:
        cli(prog_name=prog_name)
    except KeyboardInterrupt:  # in the moment before Click's own handling, or just after it
        sys.exit(130)
