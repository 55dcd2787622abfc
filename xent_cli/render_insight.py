"""Insight -> what ``compute`` shows: Rich tables (metrics, per class, worst samples), a
terminal histogram of the losses, the same pieces as plain or CSV text; and ``--export``,
which saves a Rich view as an SVG picture or an HTML page.

Rich is imported inside the functions that draw; nothing here prints.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from typing import TYPE_CHECKING, Any

from .insight import Insight, Metrics
from .render import fmt, new_table, plain_scalar, position_label

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.console import RenderableType
    from rich.table import Table

DASH = "—"
HIST_WIDTH = 40
_EIGHTHS = "▏▎▍▌▋▊▉"
EXPORT_KINDS = (".svg", ".html")


def _num(value: Any, digits: int, truncate: bool) -> str:
    return DASH if value is None else fmt(value, digits, truncate)


def _label(value: Any) -> str:
    """A class (index or name), or a position (an int, or a list of coordinates).

    >>> _label(3), _label("cat"), _label([0, 2, 1])
    ('3', 'cat', '(0,2,1)')
    """
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(str(int(v)) for v in value) + ")"
    return str(value)


def metric_rows(m: Metrics) -> list[tuple[str, str, Any]]:
    """(JSON-ish key, words, value) for each metric, in display order."""
    top = f"top_{m.topk}_accuracy"
    return [
        ("accuracy", "accuracy", m.accuracy),
        (top, f"top-{m.topk} accuracy", m.top_k_accuracy),
        ("perplexity", "perplexity", m.perplexity),
        ("bits_per_sample", "bits per sample", m.bits_per_sample),
        ("mean_entropy", "mean entropy (nats)", m.mean_entropy),
        ("ece", "ECE (15 bins)", m.ece),
        ("count", "targets used", m.count),
    ]


def metrics_table(m: Metrics, *, digits: int = 4, truncate: bool = False) -> Table:
    """The metrics as (metric, value); top-k is left out when C <= k."""
    from rich.text import Text

    table = new_table("metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, words, value in metric_rows(m):
        if value is None:
            continue
        shown = str(value) if key == "count" else fmt(value, digits, truncate)
        table.add_row(Text(words), Text(shown))
    return table


def per_class_table(rows: list[dict[str, Any]], *, digits: int = 4, truncate: bool = False):
    """One row per class: support, mean loss, accuracy (with a bar), mean p(true class)."""
    from rich.text import Text

    from .render import bar

    table = new_table("per class")
    for name, justify in (
        ("class", "left"),
        ("support", "right"),
        ("loss", "right"),
        ("accuracy", "right"),
        ("", "left"),
        ("mean p[y]", "right"),
    ):
        table.add_column(Text(name), justify=justify)  # type: ignore[arg-type]
    for r in rows:
        acc = r["accuracy"]
        table.add_row(
            Text(_label(r["class"])),
            Text(str(r["support"])),
            Text(_num(r["loss"], digits, truncate)),
            Text(_num(acc, digits, truncate)),
            Text("" if acc is None else bar(acc)),
            Text(_num(r["mean_p_true"], digits, truncate)),
        )
    return table


def worst_table(rows: list[dict[str, Any]], *, digits: int = 4, truncate: bool = False):
    """The worst samples, highest loss first."""
    from rich.text import Text

    kdim = any(isinstance(r["index"], list) for r in rows)
    table = new_table(f"worst {len(rows)} sample{'s' if len(rows) != 1 else ''}")
    table.add_column("position" if kdim else "sample")
    for name in ("target", "predicted", "p[target]", "loss"):
        table.add_column(Text(name), justify="right")
    for r in rows:
        table.add_row(
            Text(position_label(tuple(r["index"]) if kdim else r["index"])),
            Text(_label(r["target"]), style="bold"),
            Text(_label(r["predicted"])),
            Text(_num(r["p_target"], digits, truncate)),
            Text(_num(r["loss"], digits, truncate), style="bold"),
        )
    return table


def hist_bar(count: int, most: int, width: int = HIST_WIDTH) -> str:
    """A bar of ``count / most`` of ``width`` cells, in eighths; at least a sliver if > 0.

    >>> hist_bar(1, 4, 8), hist_bar(0, 4, 8), hist_bar(1, 1000, 8)
    ('██', '', '▏')
    """
    if count <= 0 or most <= 0:
        return ""
    eighths = max(1, round(count / most * width * 8))
    full, rem = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rem - 1] if rem else "")


def histogram_view(h: dict[str, list[Any]], *, digits: int = 4, truncate: bool = False):
    """The loss histogram: one line per bin (``[lo, hi)``, the last bin closed), its count
    and a bar; lines, not a table, so that no line ends in padding."""
    from rich.console import Group
    from rich.text import Text

    edges, counts = h["edges"], h["counts"]
    d = min(digits, 2)
    cells = [
        (fmt(edges[i], d, truncate), fmt(edges[i + 1], d, truncate), str(n))
        for i, n in enumerate(counts)
    ]
    head = ("loss from", "to", "count")
    w = [max(len(head[k]), *(len(c[k]) for c in cells)) for k in range(3)]
    total = sum(counts)
    lines = [
        Text(
            f"loss histogram ({total} loss{'es' if total != 1 else ''}, {len(counts)} bins)",
            style="italic",
        ),
        Text("   ".join(h.rjust(w[k]) for k, h in enumerate(head)), style="bold"),
        Text("─" * (sum(w) + 6 + 2 + HIST_WIDTH)),
    ]
    most = max(counts) if counts else 0
    for (lo, hi, n), count in zip(cells, counts, strict=True):
        row = f"{lo.rjust(w[0])}   {hi.rjust(w[1])}   {n.rjust(w[2])}"
        bar = hist_bar(count, most)
        lines.append(Text(row + ("  " + bar if bar else "")))
    return Group(*lines)


def tables(insight: Insight, *, digits: int = 4, truncate: bool = False) -> list[Any]:
    """The Rich views of every piece asked for, in the order metrics, per class, worst,
    histogram."""
    out = []
    if insight.metrics is not None:
        out.append(metrics_table(insight.metrics, digits=digits, truncate=truncate))
    if insight.per_class is not None:
        out.append(per_class_table(insight.per_class, digits=digits, truncate=truncate))
    if insight.worst is not None:
        out.append(worst_table(insight.worst, digits=digits, truncate=truncate))
    if insight.histogram is not None:
        out.append(histogram_view(insight.histogram, digits=digits, truncate=truncate))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float):
        return plain_scalar(value)
    return _label(value)


def sections(insight: Insight) -> list[tuple[list[str], list[list[str]]]]:
    """Each piece as (header, rows) of strings, in full precision (``nan`` for null).

    >>> from xent_cli.insight import analyze
    >>> import numpy as np
    >>> s = sections(analyze(np.eye(3), [0, 1, 1], per_class=True))
    >>> s[0][0], s[0][1][2]
    (['class', 'support', 'loss', 'accuracy', 'mean_p_true'], ['2', '0', 'nan', 'nan', 'nan'])
    """
    out = []
    if insight.metrics is not None:
        rows = [[key, _cell(v)] for key, _, v in metric_rows(insight.metrics)]
        out.append((["metric", "value"], rows))
    keys = {
        "per_class": ["class", "support", "loss", "accuracy", "mean_p_true"],
        "worst": ["index", "target", "predicted", "p_target", "loss"],
    }
    for name, header in keys.items():
        items = getattr(insight, name)
        if items is not None:
            out.append((header, [[_cell(r[k]) for k in header] for r in items]))
    if insight.histogram is not None:
        e, c = insight.histogram["edges"], insight.histogram["counts"]
        rows = [[_cell(e[i]), _cell(e[i + 1]), str(n)] for i, n in enumerate(c)]
        out.append((["lo", "hi", "count"], rows))
    return out


def plain_text(insight: Insight) -> str:
    """The pieces as whitespace-separated blocks (a header line, then rows), separated by
    blank lines."""
    blocks = [[" ".join(h), *(" ".join(r) for r in rows)] for h, rows in sections(insight)]
    return "\n\n".join("\n".join(b) for b in blocks)


def csv_text(insight: Insight) -> str:
    """The pieces as CSV blocks (a header row, then rows), separated by blank lines."""
    blocks = []
    for header, rows in sections(insight):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        blocks.append(buf.getvalue().rstrip("\n"))
    return "\n\n".join(blocks)


def export_kind(path: str) -> str:
    """``svg`` or ``html`` by the file's extension; anything else is a ``ValueError``.

    >>> export_kind("out/loss.SVG"), export_kind("page.html")
    ('svg', 'html')
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXPORT_KINDS:
        raise ValueError(f"--export {path}: expected a .svg or .html file name")
    return ext[1:]


def export(renderable: RenderableType, path: str, *, width: int = 100, title: str = "xent") -> None:
    """Save ``renderable`` as Rich draws it, as an SVG picture or an HTML page (by the
    extension), written to a temporary file beside ``path`` and renamed over it."""
    from rich.console import Console

    kind = export_kind(path)
    console = Console(
        record=True,
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
    )
    console.print(renderable)
    text = console.export_svg(title=title) if kind == "svg" else console.export_html()
    save_atomically(path, text)


def save_atomically(path: str, text: str) -> None:
    """Write ``text`` to a new temporary file beside ``path``, then rename it over ``path``
    (readers never see half a file); the temporary file is removed on failure. An ``OSError``
    becomes an :class:`~xent_cli._errors.InputError` naming the file."""
    from ._errors import InputError

    temp = os.path.join(
        os.path.dirname(path) or ".", f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp"
    )
    done = False
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temp, path)
        done = True
    except OSError as err:
        raise InputError(f"cannot write {path!r}: {err.strerror or err}") from None
    finally:
        if not done and os.path.exists(temp):
            os.unlink(temp)


__all__ = [
    "csv_text",
    "export",
    "export_kind",
    "hist_bar",
    "histogram_view",
    "metric_rows",
    "metrics_table",
    "per_class_table",
    "plain_text",
    "save_atomically",
    "sections",
    "tables",
    "worst_table",
]
