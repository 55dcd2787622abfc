"""Steps 1-4 of the ``explain`` view: the input and the targets, the max shift, exp and the
row sums, and the softmax, as tables of samples × classes. Nothing here prints.
"""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType
from rich.text import Text

from ...analysis.explain import Explanation
from .common import MAX_LIST, View, class_table, given, heading, note


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
                given(e.shifted),
                before=[("max z", lambda r: Text(v.f(given(e.row_max)[r])))],
                at_y="z[y]−max",
            )
        )
        out.append(heading("3", "exp, and the row sums"))
        out.append(
            class_table(
                v,
                given(e.exp),
                after=[("sum", lambda r: Text(v.f(given(e.exp_sum)[r])))],
                at_y="exp[y]",
            )
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
