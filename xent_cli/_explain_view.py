"""The ``explain`` view: every step of the loss as the post walks through it, as Rich renderables.

Steps 1-4 (the input, the max shift, exp and the row sums, the softmax) are tables of samples ×
classes built here; steps 5-6 (each sample's loss, the reduction) and the PyTorch line are in
:mod:`xent_cli.render_reduce`. The target's cell is styled *and* bracketed, so that it stays
visible without colour. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from .render import bar, class_headers, fmt, new_table, position_label
from .steps import Explanation

MAX_CLASS_COLUMNS = 6  # more classes: the first ones, "…", and a column for the target's value
MAX_LIST = 8  # values written out in one line (y = [...], the reduction's terms)
MARK = "bold reverse"


@dataclass(frozen=True)
class View:
    """What every step needs: the explanation, number format and class columns."""

    e: Explanation
    digits: int
    truncate: bool
    headers: list[str]

    def f(self, value: float) -> str:
        """A number with the view's digits."""
        return fmt(value, self.digits, self.truncate)

    @property
    def index_targets(self) -> bool:
        """Class-index targets (else probabilities)."""
        return self.e.options.targets_kind == "index"

    @property
    def visible(self) -> list[int]:
        """The class columns drawn: all, or the first ones when there are many."""
        c = self.e.n_classes
        return list(range(c if c <= MAX_CLASS_COLUMNS else MAX_CLASS_COLUMNS - 1))

    @property
    def clipped(self) -> bool:
        """Whether some class columns are left out (then the target gets its own column)."""
        return self.e.n_classes > MAX_CLASS_COLUMNS

    def target_of(self, r: int) -> int | None:
        """Row ``r``'s class index, or None (ignored, or probability targets)."""
        if not self.index_targets or self.e.ignored[r]:
            return None
        return int(self.e.target[r])

    def class_name(self, r: int) -> str:
        """Row ``r``'s target as written in ``y = [...]``: its class name, or the ignore index."""
        t = int(self.e.target[r])
        return self.headers[t] if not self.e.ignored[r] else str(t)

    def label(self, r: int) -> Text:
        """Row ``r``'s sample number, or coordinates for K-dim input."""
        return Text(position_label(self.e.positions[r]))

    @property
    def sample_header(self) -> str:
        """``sample``, or ``position`` for K-dim input."""
        return "position" if len(self.e.input_shape) > 2 else "sample"


class Para:
    """A paragraph: wrapped to the console's width, continuation lines indented by ``hang``,
    and no trailing spaces (Rich keeps them at a wrap, and pads Padding to the full width)."""

    def __init__(self, text: Text, indent: int = 0, hang: int = 8) -> None:
        self.text, self.indent, self.hang = text, indent, hang

    @property
    def plain(self) -> str:
        """The text without styles or wrapping."""
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """One ``Text`` per wrapped line."""
        first = self.text.wrap(console, max(options.max_width - self.indent, 20))[0]
        rest = self.text[len(first.plain) :]
        first.rstrip()
        yield Text.assemble(" " * self.indent, first)
        if rest.plain.strip():
            for line in rest.wrap(console, max(options.max_width - self.hang, 20)):
                line.rstrip()
                yield Text.assemble(" " * self.hang, line)


def heading(number: str, text: str, extra: str = "") -> Para:
    """``Step N  text`` with the step number in bold; ``extra`` is added after a gap."""
    t = Text.assemble((f"Step {number}", "bold"), "  ", text)
    if extra:
        t.append("      " + extra)
    return Para(t)


def note(text: str) -> Para:
    """An indented explanatory line (wrapped lines keep the indent)."""
    return Para(Text(text, style="italic"), indent=8)


def class_table(
    v: View,
    values: np.ndarray,
    *,
    before: Sequence[tuple[str, Callable[[int], Text]]] = (),
    after: Sequence[tuple[str, Callable[[int], Text]]] = (),
    bars: bool = False,
    at_y: str = "",
) -> Table:
    """Samples × classes of ``values``, the target's cell marked, with extra columns.

    ``at_y`` names the column that repeats the target's value when classes are clipped.
    """
    table = new_table()
    table.add_column(v.sample_header)
    for name, _ in before:
        table.add_column(Text(name), justify="right", overflow="fold")
    for c in v.visible:
        table.add_column(Text(v.headers[c]), justify="right", overflow="fold")
    if v.clipped:
        table.add_column(Text(f"… +{v.e.n_classes - len(v.visible)}"), justify="center")
    show_at_y = v.clipped and v.index_targets and at_y
    if show_at_y:
        table.add_column(Text(at_y), justify="right", overflow="fold")
    for name, _ in after:
        table.add_column(Text(name), justify="right", overflow="fold")
    for r in range(len(v.e.shown)):
        y = v.target_of(r)
        cells = [v.label(r), *(fn(r) for _, fn in before)]
        for c in v.visible:
            cells.append(_cell(v, values[r, c], c == y, bars and not v.clipped))
        if v.clipped:
            cells.append(Text("…"))
        if show_at_y:
            cells.append(_cell(v, values[r, y], True, bars) if y is not None else Text("—"))
        cells.extend(fn(r) for _, fn in after)
        table.add_row(*cells)
    return table


def _cell(v: View, value: float, marked: bool, with_bar: bool) -> Text:
    s = v.f(value)
    t = Text()  # the style on a span, so that the cell's padding is not reversed
    if marked:
        t.append(f"[{s}]", style=MARK)
    else:
        t.append(f"{s} " if v.index_targets else s)
    if with_bar:
        t.append("\n" + bar(value), style="bold" if marked else "")
    return t


def _shape_words(e: Explanation) -> str:
    n, c = e.n_samples, e.n_classes
    return f"{n} sample{'s' if n != 1 else ''} × {c} class{'es' if c != 1 else ''}"


def _y_list(v: View) -> str:
    names = [v.class_name(r) for r in range(min(len(v.e.shown), MAX_LIST))]
    if v.e.n_samples > len(names):
        names.append("…")
    return "y = [" + ", ".join(names) + "]"


def step1(v: View) -> list[RenderableType]:
    """The input rows and the targets."""
    e = v.e
    what = {"logits": "logits z", "probs": "probabilities p", "logprobs": "log-probabilities log p"}
    tgt = "targets y" if v.index_targets else "target probabilities q"
    out: list[RenderableType] = [
        heading(
            "1",
            f"{what[e.options.input_kind]} ({_shape_words(e)}) and {tgt}",
            _y_list(v) if v.index_targets else "",
        )
    ]
    if len(e.input_shape) > 2:
        batch = [s for i, s in enumerate(e.input_shape) if i != e.options.class_axis]
        out.append(
            note(
                f"input shape {tuple(e.input_shape)}, classes on axis {e.options.class_axis}: "
                f"each of the {' × '.join(map(str, batch))} = {e.n_samples} positions is a "
                "sample, labelled by its coordinates"
            )
        )
    if e.n_samples > len(e.shown):
        out.append(
            note(
                f"showing {len(e.shown)} of {e.n_samples} samples; "
                f"the reduction below uses all {e.n_samples}"
            )
        )
    if v.clipped:
        out.append(
            note(
                f"showing classes {v.headers[0]}…{v.headers[len(v.visible) - 1]} of "
                f"{e.n_classes}"
                + ("; the target's value has its own column" if v.index_targets else "")
            )
        )
    if v.index_targets:

        def ycell(r: int) -> Text:
            if e.ignored[r]:
                return Text(f"{int(e.target[r])} (ignored)", style="dim")
            return Text(v.class_name(r), style="bold")

        out.append(class_table(v, e.logits, after=[("y", ycell)], at_y="z[y]"))
    else:
        out.append(class_table(v, e.logits))
        out.append(note("target probabilities q"))
        out.append(class_table(v, np.asarray(e.target)))
    return out


def steps2to4(v: View) -> list[RenderableType]:
    """The max shift, exp with the row sums, and the softmax with a bar per probability."""
    e = v.e
    out: list[RenderableType] = []
    kind = e.options.input_kind
    if kind == "logits":
        out.append(
            heading(
                "2",
                "shift by the row max: z − max(z)   (exp cannot overflow; softmax is unchanged)",
            )
        )
        out.append(
            class_table(
                v,
                e.shifted,
                before=[("max z", lambda r: Text(v.f(e.row_max[r])))],
                at_y="z[y]−max",
            )
        )
        out.append(heading("3", "exp, and the row sums"))
        out.append(
            class_table(v, e.exp, after=[("sum", lambda r: Text(v.f(e.exp_sum[r])))], at_y="exp[y]")
        )
        title = "softmax p = exp / sum   (each row sums to 1)"
    elif kind == "probs":
        out.append(heading("2–3", "skipped: input is probabilities: p is given (no shift, no exp)"))
        title = "probabilities p, as given"
    else:
        out.append(
            heading("2–3", "skipped: input is log-probabilities: p = exp(log p) (no shift, no sum)")
        )
        title = "probabilities p = exp(log p)"
    out.append(heading("4", title))
    out.append(class_table(v, e.softmax, bars=True, at_y="p[y]"))
    if v.clipped and v.index_targets:
        out.append(note("the bar shows p[y], the target's probability"))
    return out


def build_view(
    e: Explanation,
    *,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Group:
    """Steps 1-6 (7, the gradient, when ``e.grad`` is set) and the equivalent PyTorch call,
    as one Rich ``Group``."""
    from ._explain_grad import step7
    from .render_reduce import step5, step6, torch_line

    v = View(e, digits, truncate, class_headers(e.n_classes, class_names))
    parts: list[RenderableType] = []
    for part in (step1(v), steps2to4(v), step5(v), step6(v), step7(v), [torch_line(v)]):
        for item in part:
            if isinstance(item, Para) and item.indent == 0 and parts:
                parts.append(Text(""))
            parts.append(item)
    return Group(*parts)


__all__ = ["Para", "View", "build_view", "class_table", "heading", "note"]
