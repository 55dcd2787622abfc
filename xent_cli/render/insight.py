"""Insight -> what ``compute`` shows: Rich tables (metrics, per class, worst samples), a
terminal histogram of the losses, and the same pieces as plain or CSV text. Nothing here
prints; Rich is imported inside the functions that draw.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from ..analysis.records import Insight, Metrics
from ..core import position_label
from .numbers import bar, fmt, plain_scalar
from .tables import new_table

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.console import Group
    from rich.table import Table

DASH = "—"
HIST_WIDTH = 40


def _num(value: Any, digits: int, truncate: bool) -> str:
    return DASH if value is None else fmt(value, digits, truncate)


def _label(value: Any) -> str:
    """A class (index or name), or a position (an int, or a list of coordinates).

    >>> _label(3), _label("cat"), _label([0, 2, 1])
    ('3', 'cat', '(0,2,1)')
    """
    if isinstance(value, (list, tuple)):
        return position_label(value, sep=",")
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
    from rich.text import Text  # start-up: Rich only where a table is drawn

    table = new_table("metrics")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, words, value in metric_rows(m):
        if value is None:
            continue
        shown = str(value) if key == "count" else fmt(value, digits, truncate)
        table.add_row(Text(words), Text(shown))
    return table


def per_class_table(
    rows: list[dict[str, Any]], *, digits: int = 4, truncate: bool = False
) -> Table:
    """One row per class: support, mean loss, accuracy (with a bar), mean p(true class)."""
    from rich.text import Text  # start-up: Rich only where a table is drawn

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


def worst_table(rows: list[dict[str, Any]], *, digits: int = 4, truncate: bool = False) -> Table:
    """The worst samples, highest loss first."""
    from rich.text import Text  # start-up: Rich only where a table is drawn

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


def histogram_view(h: dict[str, list[Any]], *, digits: int = 4, truncate: bool = False) -> Group:
    """The loss histogram: one line per bin (``[lo, hi)``, the last bin closed), its count
    and a bar; lines, not a table, so that no line ends in padding."""
    from rich.console import Group  # start-up: Rich only where a table is drawn
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
        drawn = bar(count / most if most > 0 else 0.0, HIST_WIDTH, track=False)
        lines.append(Text(row + ("  " + drawn if drawn else "")))
    return Group(*lines)


def tables(insight: Insight, *, digits: int = 4, truncate: bool = False) -> list[Table | Group]:
    """The Rich views of every piece asked for, in the order metrics, per class, worst,
    histogram."""
    out: list[Table | Group] = []
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

    >>> from xent_cli.analysis.records import Insight
    >>> s = sections(Insight(per_class=[
    ...     {"class": 2, "support": 0, "loss": None, "accuracy": None, "mean_p_true": None}]))
    >>> s[0][0], s[0][1][0]
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
