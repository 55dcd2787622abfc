"""The environment of one command: its streams and terminal, in one object.

Each fact (is stdout a terminal? how wide? where is stdin? ``XENT_DEBUG``?) is read once,
when first needed: a command that writes ``-o FILE`` never asks about stdout. Tests make one
with fake streams and variables.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import BinaryIO, TextIO


class Env:
    """Streams and terminal facts; ``environ`` defaults to the process's variables.

    >>> Env(environ={"COLUMNS": "abc"}).columns, Env(environ={"COLUMNS": "120"}).columns
    (100, 120)
    """

    def __init__(
        self,
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        stdin: BinaryIO | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.stdin = getattr(sys.stdin, "buffer", None) if stdin is None else stdin
        self.environ = os.environ if environ is None else environ

    @cached_property
    def stdout_tty(self) -> bool:
        """Whether standard output is a terminal (tables by default)."""
        return self.stdout.isatty()

    @cached_property
    def stderr_tty(self) -> bool:
        """Whether standard error is a terminal (a progress bar for long runs)."""
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    @cached_property
    def columns(self) -> int:
        """``COLUMNS`` when it is a positive integer, else 100: the width of output that is
        not a terminal's (pipes, ``--export``)."""
        given = self.environ.get("COLUMNS", "")
        return int(given) if given.isdigit() and int(given) > 0 else 100

    @cached_property
    def debug(self) -> bool:
        """``XENT_DEBUG`` is set: an internal error shows its traceback."""
        return bool(self.environ.get("XENT_DEBUG"))
