"""Results -> what a command shows, in each ``--format``; and ``-o`` paths.

Nothing here prints: each function returns a string (plain, csv, json) or a Rich renderable
(table), with a flag that says whether non-finite numbers were mapped to JSON ``null``.
Rich is imported only when a table is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .core import LossResult
from .inputs import BadUsageError

if TYPE_CHECKING:  # imported where used: a plain loss needs neither
    from .insight_types import Insight
    from .steps import Explanation

FORMATS = ("auto", "table", "plain", "json", "csv")


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


def _rows(arr: np.ndarray, axis: int) -> np.ndarray:
    """An array with the class axis last, as 2-D rows (one per sample)."""
    moved = np.moveaxis(arr, axis, -1) if arr.ndim > 1 else arr.reshape(1, -1)
    return moved.reshape(-1, moved.shape[-1])


def loss_output(
    res: LossResult,
    fmt: str,
    *,
    digits: int = 4,
    truncate: bool = False,
    insight: Insight | None = None,
    with_loss: bool = True,
) -> Any:
    """The output of ``compute`` in ``fmt`` (table, plain, json or csv), with the insight
    pieces asked for (``with_loss=False``: only those, when ``-o`` took the losses)."""
    from . import render

    extra = insight is not None and not insight.empty
    if fmt == "json":
        obj = {"loss": res.loss, "reduction": res.reduction} if with_loss else {}
        obj.update({"count": res.count, "weight_sum": res.weight_sum})
        if insight is not None:
            obj.update(insight.to_json())
        return render.json_dumps(obj)
    if fmt == "table":
        table = render.loss_table(res, digits=digits, truncate=truncate)
        if not extra:
            return table, False
        from rich.console import Group
        from rich.text import Text

        from .render_insight import tables

        parts: list[Any] = [table] if with_loss else []
        for t in tables(insight, digits=digits, truncate=truncate):
            parts.extend([Text(""), t] if parts else [t])
        return Group(*parts), False
    head = _loss_text(res, fmt) if with_loss else None
    if not extra:
        return head, False
    from .render_insight import csv_text, plain_text

    body = csv_text(insight) if fmt == "csv" else plain_text(insight)
    return (head + "\n\n" + body if head is not None else body), False


def _loss_text(res: LossResult, fmt: str) -> str:
    """The loss alone as plain or CSV text."""
    from . import render

    loss = res.loss
    if fmt == "csv":
        if res.reduction == "none":
            per = np.asarray(loss)
            body = per.reshape(-1, 1) if per.ndim <= 1 else per.reshape(per.shape[0], -1)
            return render.csv_array(body, header=["loss"] if per.ndim <= 1 else None)
        return "loss\n" + render.plain_scalar(loss)
    if res.reduction == "none":
        return render.plain_array(np.asarray(loss))
    return render.plain_scalar(loss)


def array_output(
    arr: np.ndarray,
    name: str,
    fmt: str,
    *,
    axis: int,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Any:
    """The output of ``softmax``/``grad``: rows are samples (class axis last) except in JSON,
    which keeps the input's layout."""
    from . import render

    if fmt == "json":
        return render.json_dumps({name: arr})
    if fmt == "table":
        moved = np.moveaxis(arr, axis, -1) if arr.ndim > 1 else arr
        return render.array_table(
            moved, digits=digits, truncate=truncate, title=name, class_names=class_names
        ), False
    rows = _rows(arr, axis)
    if fmt == "csv":
        return render.csv_array(rows, header=list(class_names) if class_names else None), False
    return render.plain_array(rows), False


TABLE_ROWS = 50  # rows of a big array shown in a table; the rest go to plain/csv/-o


def stream_array(
    arr: np.ndarray,
    name: str,
    fmt: str,
    *,
    axis: int,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
    chunk_rows: int = 4096,
) -> Iterator[tuple[Any, bool]]:
    """A big array's output in pieces, ``(text or renderable, had_non_finite)``: memory stays
    bounded (rows are read from ``arr``, e.g. a memory map, a chunk at a time). A table shows
    the first rows only and says how to get the rest.
    """
    from . import render

    if fmt == "json":
        yield f'{{"{name}": [', False
        for i in range(arr.shape[0]):
            text, bad = render.json_dumps(np.asarray(arr[i]))
            yield ("" if i == 0 else ", ") + text, bad
        yield "]}\n", False
        return
    moved = np.moveaxis(arr, axis, -1) if arr.ndim > 1 else arr.reshape(1, -1)
    rows = moved.reshape(-1, moved.shape[-1])  # a view for C-ordered input after the move
    if fmt == "table":
        head = np.asarray(rows[:TABLE_ROWS])
        table = render.array_table(
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
        yield render.csv_array(np.empty((0, len(class_names))), header=class_names) + "\n", False
    for start in range(0, rows.shape[0], chunk_rows):
        block = np.asarray(rows[start : start + chunk_rows], dtype=np.float64)
        text = render.csv_array(block) if fmt == "csv" else render.plain_array(block)
        yield text + "\n", False


def explain_output(
    e: Explanation,
    fmt: str,
    *,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Any:
    """``explain``: the steps as a Rich view (any non-JSON format), or as JSON data."""
    from . import render
    from .steps import torch_call

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
        return render.json_dumps(
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
    return render.explain_view(e, digits=digits, truncate=truncate, class_names=class_names), False


def check_array_output(path: str, inputs: Iterable[str | None]) -> None:
    """Check ``-o FILE`` before any work: a known extension, an existing folder, not an input."""
    from .writers import OUTPUT_EXTENSIONS

    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_EXTENSIONS:
        raise BadUsageError(
            f"-o {path}: unknown output format {extension or '(no extension)'!r}; "
            "use .npy, .csv, .txt or .json"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadUsageError(f"-o {path}: the folder {folder} does not exist")
    check_output_path(path, inputs)


def check_array_ndim(path: str, ndim: int) -> None:
    """Check that ``-o FILE`` can hold an ``ndim``-D result (``.csv``/``.txt``: at most 2-D),
    once the input's shape is known and before any work: the writer's own error
    (:func:`xent_cli.writers.check_fits`), not a failure after the whole pass."""
    from .writers import check_fits

    check_fits(path, ndim)


def check_output_path(path: str, inputs: Iterable[str | None]) -> None:
    """Refuse an ``-o`` path that is one of the command's input files (it would be lost)."""
    target = os.path.realpath(path)
    for spec in inputs:
        if spec and spec != "-" and os.path.exists(spec) and os.path.realpath(spec) == target:
            raise BadUsageError(f"-o {path} is one of the inputs; refusing to overwrite it")


__all__ = [
    "array_output",
    "check_array_ndim",
    "check_array_output",
    "check_output_path",
    "explain_output",
    "loss_output",
    "resolve_format",
    "stream_array",
]
