"""Results -> what a command shows, in each ``--format`` (table, plain, json, csv).

Nothing here prints: each function returns (or yields, for an array of any size) a string or
a Rich renderable, with a flag that says whether non-finite numbers became JSON ``null``;
``--export`` makes the table view SVG or HTML text. Rich is imported only for tables.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core import LossResult
from ..errors import UsageError
from ..spec import EXPORT_EXTENSIONS
from .numbers import csv_array, json_dumps, plain_array
from .tables import array_table, loss_table

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.console import RenderableType

    from ..analysis.explain import Explanation
    from ..analysis.records import Insight

Shown = tuple["str | RenderableType", bool]  # the output, and whether it has JSON nulls
TABLE_ROWS = 50  # rows of a big array shown in a table; the rest go to plain/csv/-o


def loss_output(
    res: LossResult,
    fmt: str,
    *,
    digits: int = 4,
    truncate: bool = False,
    insight: Insight | None = None,
    with_loss: bool = True,
) -> Shown:
    """The output of ``compute`` in ``fmt`` (table, plain, json or csv), with the insight
    pieces asked for (``with_loss=False``: only those, when ``-o`` took the losses)."""
    if fmt == "json":
        obj: dict[str, Any] = {"loss": res.loss, "reduction": res.reduction} if with_loss else {}
        obj.update({"count": res.count, "weight_sum": res.weight_sum})
        if insight is not None:
            obj.update(insight.to_json())
        return json_dumps(obj)
    if fmt == "table":
        table = loss_table(res, digits=digits, truncate=truncate)
        if insight is None or insight.empty:
            return table, False
        from rich.console import Group  # start-up: Rich only where a table is drawn
        from rich.text import Text

        from .insight import tables  # start-up: insight's views load only when asked for

        parts: list[Any] = [table] if with_loss else []
        for t in tables(insight, digits=digits, truncate=truncate):
            parts.extend([Text(""), t] if parts else [t])
        return Group(*parts), False
    head = _loss_text(res, fmt) if with_loss else None
    if insight is None or insight.empty:
        return head or "", False
    from .insight import csv_text, plain_text  # start-up: as tables above

    body = csv_text(insight) if fmt == "csv" else plain_text(insight)
    return (head + "\n\n" + body if head is not None else body), False


def _loss_text(res: LossResult, fmt: str) -> str:
    """The loss alone as plain or CSV text."""
    loss = res.loss
    if res.reduction == "none":
        per = np.asarray(loss)
        if fmt != "csv":
            return plain_array(per)
        body = per.reshape(-1, 1) if per.ndim <= 1 else per.reshape(per.shape[0], -1)
        return csv_array(body, header=["loss"] if per.ndim <= 1 else None)
    value = repr(float(loss))
    return "loss\n" + value if fmt == "csv" else value


def array_pieces(
    arr: np.ndarray,
    name: str,
    fmt: str,
    *,
    axis: int,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
    preview: bool = False,
    chunk_rows: int = 4096,
) -> Iterator[Shown]:
    """The output of ``softmax``/``grad`` in pieces, ``(text or renderable, had_nulls)``: rows
    are samples (class axis last) except in JSON, which keeps the input's layout. Rows are
    read from ``arr`` (a memory map, for a big result) a chunk at a time, so memory stays
    bounded; text pieces end in a newline. A table shows every row, or with ``preview``
    (a result too big to hold) the first :data:`TABLE_ROWS`, and says how to get the rest."""
    if fmt == "json":
        yield f'{{"{name}": [', False
        for i in range(arr.shape[0]):
            text, bad = json_dumps(np.asarray(arr[i]))
            yield ("" if i == 0 else ", ") + text, bad
        yield "]}\n", False
        return
    moved = np.moveaxis(arr, axis, -1) if arr.ndim > 1 else arr.reshape(1, -1)
    rows = moved.reshape(-1, moved.shape[-1])  # a view for C-ordered input after the move
    if fmt == "table":
        if not preview:
            yield (
                array_table(
                    moved, digits=digits, truncate=truncate, title=name, class_names=class_names
                ),
                False,
            )
            return
        head = np.asarray(rows[:TABLE_ROWS])
        table = array_table(
            head, digits=digits, truncate=truncate, title=name, class_names=class_names
        )
        note = (
            f"first {len(head)} of {rows.shape[0]} rows; "
            "use --format plain or csv, or -o FILE, for all of them"
        )
        table.caption = f"{table.caption}\n{note}" if table.caption else note
        yield table, False
        return
    if fmt == "csv" and class_names:
        yield csv_array(np.empty((0, len(class_names))), header=class_names) + "\n", False
    for start in range(0, rows.shape[0], chunk_rows):
        block = np.asarray(rows[start : start + chunk_rows], dtype=np.float64)
        yield (csv_array(block) if fmt == "csv" else plain_array(block)) + "\n", False


def explain_output(
    e: Explanation,
    fmt: str,
    *,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Shown:
    """``explain``: the steps as a Rich view (any non-JSON format), or as JSON data."""
    from ..analysis.explain import torch_call  # start-up: only explain needs it

    if fmt == "json":
        steps = {
            name: getattr(e, name)
            for name in (
                "logits",
                "row_max",
                "shifted",
                "exp",
                "exp_sum",
                "softmax",
                "target",
                "ignored",
                "p_target",
                "nll",
                "smooth_term",
                "class_weight",
                "sample_weight",
                "loss",
                "grad",
            )
        }
        return json_dumps(
            {
                "loss": e.result.loss,
                "reduction": e.result.reduction,
                "count": e.result.count,
                "weight_sum": e.result.weight_sum,
                "n_samples": e.n_samples,
                "n_classes": e.n_classes,
                "shown": e.positions,
                "steps": steps,
                "pytorch": torch_call(e.options),
            }
        )
    from .explain import explain_view  # start-up: only explain's tables need it

    return explain_view(e, digits=digits, truncate=truncate, class_names=class_names), False


def export_kind(path: str) -> str:
    """``svg`` or ``html`` by the file's extension; anything else is a :class:`UsageError`.

    >>> export_kind("out/loss.SVG"), export_kind("page.html")
    ('svg', 'html')
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXPORT_EXTENSIONS:
        raise UsageError(f"--export {path}: expected a .svg or .html file name")
    return ext[1:]


def export_text(
    renderable: RenderableType, kind: str, *, width: int = 100, title: str = "xent"
) -> str:
    """``renderable`` as Rich draws it at ``width`` columns, as an SVG picture (``kind``
    ``svg``, titled ``title``) or an HTML page (``html``)."""
    from rich.console import Console  # start-up: only an export draws

    console = Console(
        record=True,
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
    )
    console.print(renderable)
    return console.export_svg(title=title) if kind == "svg" else console.export_html()
