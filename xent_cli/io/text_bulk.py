"""A large, plain table of logits parsed whole: polars (the ``fast`` extra), else NumPy.

:mod:`.text`'s cell-by-cell parser stays the reference: the first two data lines go through
it (header, label column, delimiter), the rest to a bulk parser that rounds as ``float()``
does, to the bit. Anything it cannot take as it is (a quote, an empty cell, a ragged row, a
label that is not a number) makes :func:`bulk_logits` return None, and the caller parses cell
by cell, naming the row and column of any error. Polars: ~250-340 MB/s (``bench/parse.py``)
after an import of ~0.15 s, paid back from ``text_fast_bytes`` on; ``np.loadtxt`` ~55 MB/s.
"""

from __future__ import annotations

import re
import sys
from types import ModuleType

import numpy as np

from ..errors import InputError
from ..limits import current
from .text import BOM, Layout, Parsed, decode, logits_layout, refuse_binary, sniff, table_rows

_EOL = re.compile(r"\r\n|\r|\n")


def polars_engine() -> ModuleType | None:
    """The ``polars`` module when it can be imported (``pip install "xent-cli[fast]"``).

    >>> polars_engine() is None or polars_engine().__name__ == "polars"
    True
    """
    if "polars" in sys.modules and sys.modules["polars"] is None:
        return None  # import blocked (tests do this to take the NumPy path)
    try:
        import polars  # optional: the fast extra
    except ImportError:
        return None
    return polars


def _head(text: str, count: int = 2) -> tuple[int, list[int]]:
    """The end of the first ``count`` data lines (not blank, not only a comment) and their
    start offsets."""
    starts: list[int] = []
    pos = 0
    while len(starts) < count and pos < len(text):
        match = _EOL.search(text, pos)
        end = match.start() if match else len(text)
        line = text[pos:end]
        hash_at = line.find("#")
        if (line[:hash_at] if hash_at >= 0 else line).strip():
            starts.append(pos)
        pos = match.end() if match else len(text)
    return pos, starts


def _ascii_head(data: bytes) -> str:
    """Enough of ASCII ``data``, decoded, to hold its first two data lines whole."""
    size = 1 << 16
    while True:
        prefix = data[:size].decode("ascii")
        end, starts = _head(prefix)
        complete = end < len(prefix) or prefix.endswith(("\n", "\r"))
        if size >= len(data) or (len(starts) == 2 and complete):
            return prefix
        size *= 4


def _result(array: np.ndarray, targets: np.ndarray | None, layout: Layout) -> Parsed:
    """The arrays as the cell-by-cell parser makes them: C order, writable, owning their data."""
    array = np.array(array, dtype=np.float64, order="C", copy=not array.flags.writeable)
    if targets is not None:
        targets = np.array(targets, dtype=np.float64, order="C")
    return Parsed(array, targets, layout.class_names)


def _with_polars(
    polars: ModuleType, data: bytes, skip: int, delimiter: str, width: int, layout: Layout
) -> Parsed | None:
    names = [f"c{j}" for j in range(width)]
    try:
        frame = polars.read_csv(
            data,
            has_header=False,
            skip_lines=skip,
            separator=delimiter,
            comment_prefix="#",
            quote_char=None,
            schema=dict.fromkeys(names, polars.Float64),
            raise_if_empty=True,
        )
        if not frame.height or sum(frame.null_count().row(0)):
            return None  # an empty cell, a short row or a blank line
        array = frame.select([names[j] for j in layout.columns]).to_numpy(order="c")
        label = None if layout.label is None else frame.get_column(names[layout.label])
        return _result(array, None if label is None else label.to_numpy(), layout)
    except (polars.exceptions.PolarsError, ValueError, TypeError, polars.exceptions.PanicException):
        return None


def _with_numpy(text: str, delimiter: str | None, width: int, layout: Layout) -> Parsed | None:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        table = np.loadtxt(
            text.split("\n"), delimiter=delimiter, comments="#", dtype=np.float64, ndmin=2
        )
    except ValueError:
        return None
    if table.ndim != 2 or table.shape[1] != width or not len(table):
        return None
    if layout.label is None:
        return _result(table, None, layout)
    first, last = layout.columns[0], layout.columns[-1]
    contiguous = layout.columns == list(range(first, last + 1))
    values = table[:, first : last + 1] if contiguous else table[:, layout.columns]
    return _result(np.ascontiguousarray(values), table[:, layout.label], layout)


def bulk_logits(data: bytes, source: str) -> Parsed | None:
    """Parse a table of logits whole, or return None to have it parsed cell by cell.

    The result is the cell-by-cell parser's, to the bit. Polars reads large comma, tab or
    semicolon tables, NumPy the rest; raises only what that parser raises first (not UTF-8).

    >>> array, targets, names = bulk_logits(b"a,b,label\\n1,2,0\\n3,4,1\\n", "x.csv")
    >>> array.tolist(), targets.tolist(), names
    ([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0], ('a', 'b'))
    """
    if data.isascii():  # the common case: decode only the head, and only if polars fails
        refuse_binary(data, source)
        text = None
        head = _ascii_head(data)
    else:
        text = head = decode(data, source)
    end, starts = _head(head)
    if len(starts) < 2:
        return None
    try:
        rows = table_rows(head[:end], source)
        layout = logits_layout(rows, source)
    except InputError:
        return None  # the cell-by-cell parser says it, after checking every row's width
    width = len(rows[0][1])
    if len(rows) != 2 or len(rows[1][1]) != width:
        return None
    delimiter = sniff(_EOL.split(head[starts[0] :], 1)[0].split("#", 1)[0].strip())
    start = starts[1] if layout.header else 0
    skipped = head[:start]
    if (
        delimiter is not None
        and len(data) >= current().text_fast_bytes
        and skipped.count("\r") == skipped.count("\r\n")  # polars counts "\n" as lines
        and not (start == 0 and data.startswith(BOM))
    ):
        polars = polars_engine()
        if polars is not None:
            parsed = _with_polars(polars, data, skipped.count("\n"), delimiter, width, layout)
            if parsed is not None:
                return parsed
    if text is None:
        text = data.decode("ascii")
    return _with_numpy(text[start:], delimiter, width, layout)
