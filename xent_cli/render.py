"""Results -> text: numbers, plain/CSV/JSON strings, and Rich tables. Nothing here prints.

Every function *returns* a string or a Rich renderable; the CLI decides where it goes. Rich is
imported inside the functions that draw tables, so plain, CSV and JSON output never load it.
The ``explain`` view lives in :mod:`xent_cli._explain_view`; :func:`explain_view` is its door.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import TYPE_CHECKING, Any

import numpy as np

from .core import LossResult

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .steps import Explanation


def fmt(value: float, digits: int = 4, truncate: bool = False) -> str:
    """``value`` with ``digits`` decimals, rounded (as ``format``) or truncated.

    Magnitudes of 1e6 and more, or non-zero ones below ``10**-digits``, use scientific
    notation with ``digits`` decimals in the mantissa.

    >>> fmt(0.36552928931500245, 3), fmt(0.36552928931500245, 3, truncate=True)
    ('0.366', '0.365')
    >>> fmt(0.03205860328008499, 4, truncate=True), fmt(float("-inf")), fmt(1234567.0, 2)
    ('0.0320', '-inf', '1.23e+06')
    """
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    digits = max(0, int(digits))
    a = abs(v)
    sci = a >= 1e6 or (a != 0.0 and a < 10.0**-digits)
    if not truncate:
        return f"{v:.{digits}e}" if sci else f"{v:.{digits}f}"
    with localcontext() as ctx:
        ctx.prec = 400
        d = Decimal(repr(v))  # the shortest repr: 0.3 truncates to 0.3, not 0.2999
        step = Decimal(1).scaleb(-digits)
        if not sci:
            return f"{d.quantize(step, rounding=ROUND_DOWN):f}"
        exp = d.adjusted()
        mant = d.scaleb(-exp).quantize(step, rounding=ROUND_DOWN)
        return f"{mant:f}e{exp:+03d}"


def compact(value: float, digits: int = 4, truncate: bool = False) -> str:
    """:func:`fmt` without trailing zeros, for counts, weights and divisors.

    >>> compact(3.0), compact(0.5), compact(1 / 3), compact(2.5e-7)
    ('3', '0.5', '0.3333', '2.5000e-07')
    """
    s = fmt(value, digits, truncate)
    if "." in s and "e" not in s and s not in ("nan", "inf", "-inf"):
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def plain_scalar(value: float) -> str:
    """The full-precision ``repr`` of a float64.

    >>> plain_scalar(np.float64(1.4401896985611955)), plain_scalar(float("nan"))
    ('1.4401896985611955', 'nan')
    """
    return repr(float(value))


def _rows_of(arr: np.ndarray) -> list[list[str]]:
    a = np.asarray(arr)
    if a.ndim == 0:
        return [[plain_scalar(a)]]
    rows = a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])
    return [[plain_scalar(v) for v in row] for row in rows.tolist()]


def plain_array(arr: np.ndarray) -> str:
    """One line per row (1-D: one line; >2-D: rows of the last axis), full precision.

    >>> print(plain_array(np.array([[0.5, 1.0], [2.0, float("inf")]])))
    0.5 1.0
    2.0 inf
    """
    return "\n".join(" ".join(row) for row in _rows_of(arr))


def csv_array(arr: np.ndarray, header: Sequence[str] | None = None) -> str:
    """Like :func:`plain_array`, comma-separated, with an optional header line.

    >>> print(csv_array(np.array([[0.25, 0.75]]), header=["cat", "dog"]))
    cat,dog
    0.25,0.75
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow(list(header))
    writer.writerows(_rows_of(arr))
    return buf.getvalue().rstrip("\n")


def _jsonable(obj: Any, flag: list[bool]) -> Any:
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), flag)
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), flag)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        flag[0] = True
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, flag) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, flag) for v in obj]
    return obj


def json_dumps(obj: Any) -> tuple[str, bool]:
    """JSON text of ``obj`` (numpy mapped to Python, NaN/inf to ``null``) and whether any was.

    >>> json_dumps({"loss": np.float64("nan"), "v": np.array([1.0, np.inf])})
    ('{"loss": null, "v": [1.0, null]}', True)
    """
    flag = [False]
    mapped = _jsonable(obj, flag)
    return json.dumps(mapped, allow_nan=False), flag[0]


# --- Rich helpers shared with the explain view ---------------------------------------------


def position_label(pos: Any) -> str:
    """A sample's place: ``3`` or ``(0, 2, 1)`` for K-dim input.

    >>> position_label(3), position_label((0, 2))
    ('3', '(0, 2)')
    """
    if isinstance(pos, tuple):
        return "(" + ", ".join(str(int(c)) for c in pos) + ")"
    return str(int(pos))


def num_text(value: float, digits: int = 4, truncate: bool = False, style: str = "") -> Text:
    """A number as a Rich ``Text`` (never parsed as markup)."""
    from rich.text import Text

    return Text(fmt(value, digits, truncate), style=style)


def new_table(title: str | None = None) -> Table:
    """The table style of every xent table: a simple head rule, no outer edge."""
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)


def class_headers(n_classes: int, class_names: Sequence[str] | None) -> list[str]:
    """Column headers for the classes: the names if given, else ``0..C-1``."""
    if class_names is None:
        return [str(c) for c in range(n_classes)]
    names = [str(n) for n in class_names]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} class names given for {n_classes} classes")
    return names


BAR_WIDTH = 10
_EIGHTHS = "▏▎▍▌▋▊▉"
TRACK = "░"  # the empty part of a bar (spaces would be stripped by right-justification)


def bar(p: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of block characters, ``p`` of ``width`` cells, on a light track.

    >>> bar(0.25), bar(1.0), bar(float("nan"))
    ('██▌░░░░░░░', '██████████', '░░░░░░░░░░')
    """
    p = float(p)
    if not p > 0.0:  # also NaN
        return TRACK * width
    eighths = round(min(p, 1.0) * width * 8)
    full, rem = divmod(eighths, 8)
    s = "█" * full + (_EIGHTHS[rem - 1] if rem else "")
    return s.ljust(width, TRACK)


# --- tables --------------------------------------------------------------------------------


def loss_table(
    result: LossResult, *, digits: int = 4, truncate: bool = False, title: str | None = None
) -> Table:
    """The loss as a table: (quantity, value) for mean/sum, one row per sample for none.

    For ``none`` the rows are labelled by index, or by coordinates for K-dim input.
    """
    from rich.text import Text

    table = new_table(title)
    if result.reduction == "none":
        per = np.asarray(result.loss, dtype=np.float64)
        table.add_column("sample" if per.ndim <= 1 else "position")
        table.add_column("loss", justify="right", overflow="fold")
        if per.ndim == 0:
            table.add_row("0", num_text(per, digits, truncate))
        for idx in np.ndindex(*per.shape) if per.ndim else ():
            label = position_label(idx if per.ndim > 1 else idx[0])
            table.add_row(Text(label), num_text(per[idx], digits, truncate))
        return table
    table.add_column("quantity")
    table.add_column("value", justify="right", overflow="fold")
    table.add_row("loss", num_text(float(result.loss), digits, truncate, style="bold"))
    table.add_row("reduction", result.reduction)
    table.add_row("targets used", str(result.count))
    if result.reduction == "mean":
        table.add_row("divisor of the mean", compact(result.weight_sum, digits, truncate))
    return table


def array_table(
    arr: np.ndarray,
    *,
    digits: int = 4,
    truncate: bool = False,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
) -> Table:
    """Samples × classes (classes on the last axis): softmax, log-softmax or gradient rows.

    1-D input is one row; for >2-D input the rows are the positions (coordinates).
    """
    from rich.text import Text

    a = np.asarray(arr, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1)
    rows = a.reshape(-1, a.shape[-1])
    if row_labels is None:
        if a.ndim > 2:
            row_labels = [position_label(i) for i in np.ndindex(*a.shape[:-1])]
        else:
            row_labels = [str(i) for i in range(rows.shape[0])]
    if len(row_labels) != rows.shape[0]:
        raise ValueError(f"{len(row_labels)} row labels given for {rows.shape[0]} rows")
    table = new_table(title)
    table.add_column("position" if a.ndim > 2 else "sample")
    n_classes = rows.shape[1]
    headers = class_headers(n_classes, class_names)
    # Past MAX_COLUMNS classes a table is unreadable: the first ones, a count, and the last.
    cut = n_classes > MAX_COLUMNS
    keep = list(range(MAX_COLUMNS - 1)) + [n_classes - 1] if cut else list(range(n_classes))
    for k, c in enumerate(keep):
        if cut and k == MAX_COLUMNS - 1:
            table.add_column(f"… +{n_classes - MAX_COLUMNS}", justify="center")
        table.add_column(Text(headers[c]), justify="right", overflow="fold")
    for label, row in zip(row_labels, rows, strict=True):
        cells = [num_text(row[c], digits, truncate) for c in keep]
        if cut:
            cells.insert(MAX_COLUMNS - 1, Text("…"))
        table.add_row(Text(str(label)), *cells)
    if cut:
        table.caption = (
            f"{MAX_COLUMNS} of {n_classes} classes shown; --format plain, csv or json for all"
        )
    return table


MAX_COLUMNS = 6  # classes shown in an array table (numbers like 5.2119e-05 are wide)


def explain_view(
    e: Explanation,
    *,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Group:
    """Every step of the loss, as the post does it, ready for ``console.print``.

    See :mod:`xent_cli._explain_view` for the steps.
    """
    from ._explain_view import build_view

    return build_view(e, digits=digits, truncate=truncate, class_names=class_names)


__all__ = [
    "array_table",
    "bar",
    "compact",
    "csv_array",
    "explain_view",
    "fmt",
    "json_dumps",
    "loss_table",
    "plain_array",
    "plain_scalar",
]
