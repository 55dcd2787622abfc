"""What every step of the ``explain`` view is built from: the :class:`View` of an
explanation, paragraphs that wrap without trailing spaces, headings, notes, and the table of
samples × classes with the target's cell marked (styled *and* bracketed, so that it stays
visible without colour). Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import SupportsFloat

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ...analysis.explain import Explanation
from ...core import position_label
from ..numbers import bar, fmt
from ..tables import new_table

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

    def f(self, value: SupportsFloat) -> str:
        """A number with the view's digits."""
        return fmt(float(value), self.digits, self.truncate)

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

    ``at_y`` names the column that repeats the target's value when classes are clipped."""
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


def given(step: np.ndarray | None) -> np.ndarray:
    """A step the view is drawing, which the explanation has (for logits: shift and exp)."""
    if step is None:
        raise ValueError("the explanation has no such step")
    return step


def position_of(v: View, r: int) -> str:
    """Row ``r``'s label as a string."""
    return v.label(r).plain
