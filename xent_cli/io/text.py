"""Delimited text (CSV/TSV/whitespace) and command-line literals -> numpy arrays, cell by
cell: the reference reader, whose errors name the row and column.

Rows are numbered as an editor numbers the lines (1-based, comment and blank lines
counted); columns from 1. Large plain tables go to :mod:`.text_bulk` first (:mod:`.sources`
decides); this module imports nothing of it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from ..errors import InputError, plural

#: Header names that mark the column of targets in a file of logits.
LABEL_COLUMNS = frozenset({"label", "labels", "target", "targets"})
#: A single header cell with one of these names is skipped in a file of targets.
TARGET_HEADERS = LABEL_COLUMNS | {"y", "class"}

#: The UTF-8 byte-order mark, dropped at the start of a text.
BOM = b"\xef\xbb\xbf"
_PATH_LIKE = re.compile(r"[/\\]|\.(csv|tsv|txt|dat|json|npy|npz)$", re.IGNORECASE)


class Parsed(NamedTuple):
    """What a parser yields: the main array, targets carried along, and class names."""

    array: np.ndarray
    targets: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None


def is_number(cell: str) -> bool:
    """Return True when ``float(cell)`` accepts the text (``nan``, ``inf`` and ``1e-3`` too).

    >>> is_number("1e-3"), is_number("-inf"), is_number("cat"), is_number("")
    (True, True, False, False)
    """
    try:
        float(cell)
    except ValueError:
        return False
    return True


def looks_like_path(text: str) -> bool:
    """True when ``text`` has a path separator or ends with a data-file extension.

    >>> looks_like_path("labels.csv"), looks_like_path("runs/a"), looks_like_path("cat,dog")
    (True, True, False)
    """
    return _PATH_LIKE.search(text.strip()) is not None


def refuse_binary(data: bytes, source: str) -> None:
    """Raise :class:`InputError` when the start of ``data`` is not UTF-8 text: UTF-16 (a
    byte-order mark) or binary (a NUL byte in the first 4 kB, which no text file holds).

    >>> refuse_binary(b"1,2\\n", "x.csv")
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{source}: UTF-16 text (it starts with a byte-order mark); save as UTF-8")
    nul = data.find(b"\x00", 0, 4096)
    if nul >= 0:
        raise InputError(
            f"{source}: binary data, not text (byte 0x00 at offset {nul}); expected CSV/TSV "
            "text, JSON, .npy or .npz"
        )


def decode(data: bytes, source: str) -> str:
    """Decode UTF-8 bytes (a leading BOM is dropped); name the row and byte offset if not UTF-8.

    >>> decode(b"\\xef\\xbb\\xbf1,2", "x.csv")
    '1,2'
    """
    refuse_binary(data, source)
    start = len(BOM) if data.startswith(BOM) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as err:
        offset = start + err.start
        row = len(re.split(rb"\r\n|\r|\n", data[:offset]))
        found = f"byte 0x{data[offset]:02x} at offset {offset}"
        raise InputError(
            f"{source}, row {row}: not UTF-8 text ({found}); save the file as UTF-8"
        ) from None


def sniff(line: str) -> str | None:
    """The delimiter of a data line: tab, comma or semicolon, else None for runs of whitespace."""
    for delimiter in ("\t", ",", ";"):
        if delimiter in line:
            return delimiter
    return None


Rows = list[tuple[int, list[str]]]  # (line number, cells)


def _split(line: str, delimiter: str | None, source: str, row: int) -> list[str]:
    if delimiter is None:
        return line.split()
    if '"' not in line:
        cells = line.split(delimiter)
        if " " in line or ("\t" in line and delimiter != "\t"):
            cells = [cell.strip() for cell in cells]
        return cells
    import csv  # start-up: only a line with quotes needs it (~0.5 ms to import)

    try:
        cells = next(csv.reader([line], delimiter=delimiter, strict=True, skipinitialspace=True))
    except csv.Error:
        raise InputError(f'{source}, row {row}: a quote (") that is not closed') from None
    return [cell.strip() for cell in cells]


def table_rows(text: str, source: str) -> Rows:
    """Split text into (row number, cells), dropping comments and blank lines."""
    rows: Rows = []
    delimiter: str | None = None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, 1):
        hash_at = line.find("#")
        if hash_at >= 0:
            line = line[:hash_at]
        line = line.strip()
        if not line:
            continue
        if not rows:
            delimiter = sniff(line)
        rows.append((number, _split(line, delimiter, source, number)))
    return rows


def _bad_cell(source: str, row: int, column: int, cell: str, what: str = "a number") -> InputError:
    if cell == "":
        return InputError(f"{source}, row {row}, column {column}: empty cell, expected {what}")
    return InputError(f"{source}, row {row}, column {column}: {cell!r} is not a number")


def _numbers(rows: Rows, columns: list[int], source: str) -> np.ndarray:
    """Parse the given columns of every row as float64, naming the first bad cell."""
    values = []
    every = len(columns) == len(rows[0][1])
    for number, cells in rows:
        try:
            values.append(list(map(float, cells if every else [cells[j] for j in columns])))
        except ValueError:
            bad = next(j for j in columns if not is_number(cells[j]))
            raise _bad_cell(source, number, bad + 1, cells[bad]) from None
    return np.array(values, dtype=np.float64).reshape(len(rows), len(columns))


def _labels(cells: list[str]) -> np.ndarray:
    """Float64 when every cell is a number, else the cell strings (a unicode array)."""
    if all(is_number(cell) for cell in cells):
        return np.array([float(cell) for cell in cells], dtype=np.float64)
    return np.array(cells, dtype=str)


def _check_width(rows: Rows, source: str) -> int:
    first_row, first = rows[0]
    width = len(first)
    for number, cells in rows:
        if len(cells) != width:
            raise InputError(
                f"{source}, row {number}: {plural(len(cells), 'value')}, expected {width} "
                f"(as in row {first_row})"
            )
    return width


class Layout(NamedTuple):
    """Where the numbers are in a table of logits, as told by its first row."""

    header: bool
    columns: list[int]
    label: int | None = None
    class_names: tuple[str, ...] | None = None


def logits_layout(rows: Rows, source: str, header_allowed: bool = True) -> Layout:
    """Tell from the first row whether it is a header, and where the logits and labels are.

    >>> logits_layout([(1, ["a", "label", "b"]), (2, ["1", "0", "2"])], "x.csv")
    Layout(header=True, columns=[0, 2], label=1, class_names=('a', 'b'))
    """
    first_row, first = rows[0]
    width = len(first)
    text_cells = [j for j, cell in enumerate(first) if not is_number(cell)]
    label_cols = [j for j in text_cells if first[j].lower() in LABEL_COLUMNS]
    # A header names every column, or has a label column (the other names may be numbers).
    if not (header_allowed and (len(text_cells) == width or bool(label_cols))):
        return Layout(False, list(range(width)))
    if len(rows) == 1:
        raise InputError(f"{source}: a header row but no data (expected rows of numbers after it)")
    if "" in first:
        raise InputError(
            f"{source}, row {first_row}, column {first.index('') + 1}: an empty header cell "
            "(an index column? save without it, e.g. pandas' to_csv(index=False))"
        )
    if len(label_cols) > 1:
        where = " and ".join(f"{first[j]!r} in column {j + 1}" for j in label_cols)
        raise InputError(f"{source}, row {first_row}: two target columns ({where}); keep one")
    columns = [j for j in range(width) if j not in label_cols]
    if not columns:
        raise InputError(
            f"{source}, row {first_row}: only a {first[label_cols[0]]!r} column "
            "(expected columns of logits too)"
        )
    names = [first[j] for j in columns]
    class_names = None if any(is_number(name) for name in names) else tuple(names)
    return Layout(True, columns, label_cols[0] if label_cols else None, class_names)


def _logits(rows: Rows, source: str, header_allowed: bool) -> Parsed:
    _check_width(rows, source)
    layout = logits_layout(rows, source, header_allowed)
    if not layout.header:
        return Parsed(_numbers(rows, layout.columns, source))
    data = rows[1:]
    targets = None
    if layout.label is not None:
        col = layout.label
        for number, cells in data:
            if cells[col] == "":
                raise _bad_cell(source, number, col + 1, "", "a label")
        targets = _labels([cells[col] for _, cells in data])
    return Parsed(_numbers(data, layout.columns, source), targets, layout.class_names)


def _targets(rows: Rows, source: str, header_allowed: bool) -> Parsed:
    width = _check_width(rows, source)
    first = rows[0][1]
    header = False
    class_names = None
    if header_allowed:
        if width == 1 and first[0].lower() in TARGET_HEADERS:
            header = True
        elif (
            len(rows) > 1
            and not any(is_number(cell) for cell in first)
            and all(is_number(cell) for _, cells in rows[1:] for cell in cells)
        ):
            header = True
            class_names = tuple(first) if width > 1 else None
    if header:
        rows = rows[1:]
        if not rows:
            raise InputError(f"{source}: a header row but no data (expected rows of targets)")
    for number, cells in rows:
        for j, cell in enumerate(cells):
            if cell == "":
                raise _bad_cell(source, number, j + 1, "", "a target")
    cells = [cell for _, row in rows for cell in row]
    return Parsed(_labels(cells).reshape(len(rows), width), None, class_names)


def parse_rows(rows: Rows, source: str, role: str, header_allowed: bool = True) -> Parsed:
    """Turn (row number, cells) pairs into ``(array, targets, class_names)``; always 2-D."""
    if not rows:
        what = "rows of numbers" if role == "logits" else "targets"
        raise InputError(f"{source}: no data (expected {what})")
    if role == "logits":
        return _logits(rows, source, header_allowed)
    return _targets(rows, source, header_allowed)


def parse_text(data: bytes, source: str, role: str) -> Parsed:
    """Parse CSV/TSV/whitespace text into ``(array, targets, class_names)``, cell by cell.

    The array is always 2-D ``(N, C)``; ``targets`` comes from a ``label``/``target`` column.

    >>> array, targets, names = parse_text(b"a,b,label\\n1,2,0\\n3,4,1\\n", "x.csv", "logits")
    >>> array.shape, targets.tolist(), names
    ((2, 2), [0.0, 1.0], ('a', 'b'))
    """
    return parse_rows(table_rows(decode(data, source), source), source, role)


def parse_literal(spec: str, role: str) -> np.ndarray | None:
    """Parse a literal such as ``1,2,3;4,5,6`` into a 2-D array, or None if it is not one.

    Text with a cell that is not a number is a literal only with two or more cells and no
    look of a path (a mistyped file name is a missing file): class names for ``targets``,
    an :class:`InputError` naming the cell for ``logits``.

    >>> parse_literal("1,2;3,4", "logits").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> parse_literal("foo.csv", "logits") is None
    True
    """
    rows: Rows = []
    for number, segment in enumerate(spec.strip().split(";"), 1):
        segment = segment.strip()
        if segment:
            cells = [c.strip() for c in segment.split(",")] if "," in segment else segment.split()
            rows.append((number, cells))
    cells = [cell for _, row in rows for cell in row]
    if not cells:
        return None
    has_text = not all(is_number(cell) for cell in cells if cell)
    if has_text and (len(cells) < 2 or looks_like_path(spec)):
        return None
    return parse_rows(rows, "literal", role, header_allowed=False)[0]
