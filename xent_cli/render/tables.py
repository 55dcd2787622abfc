"""Results as Rich tables: the loss, and arrays of samples × classes. Nothing here prints;
Rich is imported inside the functions that draw, so plain, CSV and JSON never load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core import LossResult, position_label
from .numbers import compact, fmt

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.table import Table
    from rich.text import Text  # start-up: Rich only where a table is drawn

MAX_COLUMNS = 6  # classes shown in an array table (numbers like 5.2119e-05 are wide)


def num_text(value: float, digits: int = 4, truncate: bool = False, style: str = "") -> Text:
    """A number as a Rich ``Text`` (never parsed as markup)."""
    from rich.text import Text  # start-up: Rich only where a table is drawn

    return Text(fmt(value, digits, truncate), style=style)


def new_table(title: str | None = None) -> Table:
    """The table style of every xent table: a simple head rule, no outer edge."""
    from rich import box  # start-up: Rich only where a table is drawn
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


def loss_table(
    result: LossResult, *, digits: int = 4, truncate: bool = False, title: str | None = None
) -> Table:
    """The loss as a table: (quantity, value) for mean/sum, one row per sample for none.

    For ``none`` the rows are labelled by index, or by coordinates for K-dim input."""
    from rich.text import Text  # start-up: Rich only where a table is drawn

    table = new_table(title)
    if result.reduction == "none":
        per = np.asarray(result.loss, dtype=np.float64)
        table.add_column("sample" if per.ndim <= 1 else "position")
        table.add_column("loss", justify="right", overflow="fold")
        if per.ndim == 0:
            table.add_row("0", num_text(float(per), digits, truncate))
        for idx in np.ndindex(*per.shape) if per.ndim else ():
            label = position_label(idx if per.ndim > 1 else idx[0])
            table.add_row(Text(label), num_text(float(per[idx]), digits, truncate))
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

    1-D input is one row; for >2-D input the rows are the positions (coordinates)."""
    from rich.text import Text  # start-up: Rich only where a table is drawn

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
