"""How a command's results reach the user: stdout in the chosen format, ``-o`` files,
``--export`` pictures and warnings on stderr. Like the commands, it may know Click and the
terminal (through :class:`~xent_cli.cli.env.Env`), and holds no math.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
import numpy as np

from .. import api
from ..errors import StrictError
from ..render import Shown, array_pieces, export_kind, export_text
from .env import Env
from .options import Options
from .progress import progress_bar

NULL_WARNING = "JSON has no NaN or Infinity: non-finite numbers are written as null"


def report(messages: list[str], o: Options) -> None:
    """Print warnings on stderr, or fail with the first one under ``--strict``."""
    for msg in messages:
        if o.strict:
            raise StrictError(f"{msg} (--strict)")
        if not o.quiet:
            click.echo(f"Warning: {msg}", err=True)


def resolve_format(fmt: str, as_json: bool, is_terminal: bool) -> str:
    """``--json`` wins; ``auto`` is ``table`` on a terminal and ``plain`` when piped.

    >>> resolve_format("auto", False, False), resolve_format("auto", False, True)
    ('plain', 'table')
    """
    if as_json:
        return "json"
    if fmt == "auto":
        return "table" if is_terminal else "plain"
    return fmt


def _print(env: Env, shown: Any, nl: bool = True) -> None:
    """Text as it is, a Rich renderable drawn at the terminal's width (else ``COLUMNS``)."""
    if isinstance(shown, str):
        click.echo(shown, nl=nl)
        return
    from rich.console import Console  # start-up: only tables draw

    width = None if env.stdout_tty else env.columns
    Console(file=env.stdout, width=width, highlight=False).print(shown)


def show(env: Env, o: Options, produce: Callable[[str], Shown]) -> None:
    """Resolve the format, build the output with ``produce(fmt)`` and print it (stdout);
    the warning about JSON ``null`` comes first."""
    shown, had_non_finite = produce(resolve_format(o.fmt, o.as_json, env.stdout_tty))
    if had_non_finite:
        report([NULL_WARNING], o)
    _print(env, shown)


def write(o: Options, array: np.typing.ArrayLike) -> bool:
    """Write ``array`` to ``-o FILE`` when given (nothing then goes to stdout). A ``.json``
    file that got ``null`` for NaN or infinities gets the same warning (``--strict``: error,
    the file left as it was) as JSON on stdout."""
    if not o.output:
        return False
    from ..io.writers import write_array  # start-up: the writers load only for -o or --export

    write_array(o.output, array, on_null=lambda: report([NULL_WARNING], o))
    return True


def check_export(o: Options) -> None:
    """A bad ``--export`` name is a usage error, found before any work is done."""
    if o.export:
        from ..io.writers import check_output_path  # start-up: as write_array

        export_kind(o.export)
        check_output_path(o.export, (o.logits, o.targets, o.weight, o.sample_weight))


def export(env: Env, o: Options, produce: Callable[[str], Shown], title: str) -> None:
    """``--export FILE``: the table view, saved as SVG or HTML (stdout is unaffected)."""
    path = o.export
    if not path:
        return
    from ..io.writers import write_text  # start-up: as write_array

    text = export_text(produce("table")[0], export_kind(path), width=env.columns, title=title)
    write_text(path, text)


def emit_array(
    env: Env,
    o: Options,
    shape: tuple[int, ...],
    dtype: np.typing.DTypeLike,
    fill: Callable[..., np.ndarray],
    name: str,
    axis: int,
    class_names: Sequence[str] | None,
    after: Callable[[], None],
) -> None:
    """Compute an array result with ``fill(out=, progress=)`` where
    :func:`xent_cli.api.result_buffer` puts it, then write it to ``-o`` or print it a chunk at
    a time: the one path for every size. A result ``-o`` cannot hold fails before ``fill``.
    ``after()`` runs once it is computed, before any of it is printed or written: the pass's
    warnings, or under ``--strict`` their error (an existing ``-o`` file is left as it was)."""
    path = o.output
    if path:  # a shape -o cannot hold: fail now, not after the pass
        from ..io.writers import check_fits  # start-up: as write_array

        check_fits(path, len(shape))
    with api.result_buffer(shape, dtype, path) as (buffer, written):
        with progress_bar(f"xent {name}", env) as progress:
            arr = fill(out=buffer, progress=progress)
        after()
        if written or write(o, arr):
            return
        fmt = resolve_format(o.fmt, o.as_json, env.stdout_tty)
        pieces: Iterable[Shown] = array_pieces(
            arr,
            name,
            fmt,
            axis=axis,
            digits=o.digits,
            truncate=o.truncate,
            class_names=class_names,
            preview=buffer is not None,
        )
        if buffer is None:  # held in memory: all of it first, so a warning about it comes first
            pieces = list(pieces)
            if any(bad for _, bad in pieces):
                report([NULL_WARNING], o)
        had_non_finite = False
        for piece, bad in pieces:
            had_non_finite |= bad
            _print(env, piece, nl=False)
        if had_non_finite and buffer is not None:
            report([NULL_WARNING], o)


def check_outputs(o: Options, *inputs: str | None) -> None:
    """Check ``-o`` before any work (a known extension, an existing folder, not an input)."""
    if o.output:
        from ..io.writers import check_array_output  # start-up: as write_array

        check_array_output(o.output, inputs)
