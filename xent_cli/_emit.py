"""How a command's results reach the user: stdout in the chosen format, ``-o`` files,
``--export`` pictures and warnings on stderr. Support for :mod:`xent_cli.cli`, which holds the
commands; like it, this module may know Click and the terminal, and holds no math.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click
import numpy as np

from ._errors import InputError, os_reason
from .inputs import BadUsageError

__all__ = ["check_export", "emit_array", "export", "report", "show", "view", "write"]


def report(messages: list[str], *, strict: bool, quiet: bool) -> None:
    """Print warnings on stderr, or fail with the first one under --strict."""
    for msg in messages:
        if strict:
            raise click.ClickException(f"{msg} (--strict)")
        if not quiet:
            click.echo(f"Warning: {msg}", err=True)


def show(kw: dict[str, Any], produce: Callable[[str], Any]) -> None:
    """Resolve the format, build the output with ``produce(fmt)`` and print it (stdout)."""
    from .output import resolve_format

    fmt = resolve_format(kw["fmt"], kw["as_json"], sys.stdout.isatty())
    shown, had_non_finite = produce(fmt)
    if had_non_finite:
        _report_nulls(kw)
    if isinstance(shown, str):
        click.echo(shown)
        return
    from rich.console import Console

    terminal = sys.stdout.isatty()
    width = None if terminal else int(os.environ.get("COLUMNS", "100"))
    Console(file=sys.stdout, width=width, highlight=False).print(shown)


def write(kw: dict[str, Any], array: Any) -> bool:
    """Write ``array`` to ``-o FILE`` when given (nothing then goes to stdout). A ``.json``
    file that got ``null`` for NaN or infinities gets the same warning (``--strict``: error,
    the file left as it was) as JSON on stdout."""
    if not kw.get("output"):
        return False
    from .writers import write_array

    write_array(kw["output"], array, on_null=lambda: _report_nulls(kw))
    return True


def view(kw: dict[str, Any]) -> dict[str, Any]:
    """The view options every renderer takes (``--digits``, ``--truncate``)."""
    return {"digits": kw["digits"], "truncate": kw["truncate"]}


def check_export(kw: dict[str, Any]) -> None:
    """A bad ``--export`` name is a usage error, found before any work is done."""
    path = kw.get("export")
    if not path:
        return
    from .output import check_output_path
    from .render_insight import export_kind

    try:
        export_kind(path)
    except ValueError as err:
        raise BadUsageError(str(err)) from None
    check_output_path(path, [kw.get(k) for k in ("logits", "targets", "weight", "sample_weight")])


def export(kw: dict[str, Any], produce: Callable[[str], Any], title: str) -> None:
    """``--export FILE``: the table view, saved as SVG or HTML (stdout is unaffected)."""
    if not kw.get("export"):
        return
    from .render_insight import export as save

    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 100
    save(produce("table")[0], kw["export"], width=width, title=title)


def emit_array(
    kw: dict[str, Any],
    shape: tuple[int, ...],
    dtype: Any,
    fill: Callable[[Any, Any], Any],
    name: str,
    axis: int,
    class_names: Any,
    after: Callable[[], None] | None = None,
) -> None:
    """Compute an array result with ``fill(out, progress)`` and write or print it.

    Small results are held in memory. A big one (over the blocked-path size) is computed
    block by block into a memory map: straight into ``-o FILE.npy``, or into a temporary
    file that is then written or printed a chunk of rows at a time, so memory stays bounded.
    A result ``-o`` cannot hold (3-D into ``.csv``) fails before ``fill`` is called.
    ``after()`` runs once the result is computed (the progress bar gone) and before any of it
    is printed or ``-o`` is written: the warnings found by the pass, or under ``--strict``
    their error, which then leaves an existing ``-o`` file as it was.
    """
    from ._progress import progress_bar
    from .core import _BLOCKED_BYTES

    if kw.get("output"):  # a shape -o cannot hold: fail now, not after the pass
        from .output import check_array_ndim

        check_array_ndim(kw["output"], len(shape))
    opts = view(kw)
    if int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize <= _BLOCKED_BYTES:
        arr = fill(None, None)
        if after is not None:
            after()
        if not write(kw, arr):
            from .output import array_output

            show(
                kw,
                lambda fmt: array_output(
                    arr, name, fmt, axis=axis, class_names=class_names, **opts
                ),
            )
        return
    import tempfile

    from ._npy_stream import spool_directory
    from .writers import npy_output, result_map

    def compute(mm: np.ndarray) -> None:
        with progress_bar(f"xent {name}") as progress:
            fill(mm, progress)
        if after is not None:  # an error here leaves the file unwritten (npy_output)
            after()

    path = kw.get("output")
    if path and path.lower().endswith(".npy"):
        with npy_output(path, shape, dtype) as mm:
            compute(mm)
        return
    directory = spool_directory()  # $TMPDIR as given: never a silent fall-back to /tmp
    advice = "set TMPDIR to a directory with room, or write the result with -o FILE.npy"
    try:
        temporary = tempfile.TemporaryDirectory(prefix="xent-", dir=directory)
    except OSError as err:
        raise InputError(
            f"cannot make a temporary folder in {directory!r} for the result "
            f"({os_reason(err)}); {advice}"
        ) from None
    with temporary as folder:
        where = f"cannot write the result to a temporary file in {directory!r}"
        mm = result_map(os.path.join(folder, "result.npy"), shape, dtype, where, advice)
        compute(mm)
        if not write(kw, mm):
            _stream(kw, mm, name, axis, class_names)
        del mm


def _stream(kw: dict[str, Any], arr: Any, name: str, axis: int, class_names: Any) -> None:
    """Print a big array a chunk at a time (see :func:`xent_cli.output.stream_array`)."""
    from .output import resolve_format, stream_array

    fmt = resolve_format(kw["fmt"], kw["as_json"], sys.stdout.isatty())
    had_non_finite = False
    for piece, bad in stream_array(arr, name, fmt, axis=axis, class_names=class_names, **view(kw)):
        had_non_finite |= bad
        if isinstance(piece, str):
            click.echo(piece, nl=False)
        else:
            show(kw, lambda _fmt, piece=piece: (piece, False))
    if had_non_finite:
        _report_nulls(kw)


def _report_nulls(kw: dict[str, Any]) -> None:
    """The warning (``--strict``: the error) for JSON output that had NaN or infinities."""
    report(
        ["JSON has no NaN or Infinity: non-finite numbers are written as null"],
        strict=kw["strict"],
        quiet=kw["quiet"],
    )
