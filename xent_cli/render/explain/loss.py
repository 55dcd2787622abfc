"""Steps 5 and 6 of the ``explain`` view, and its last line, the PyTorch call.

Step 5 is one row per sample: the target, p[y], −log p[y] and, when used, the smoothing term,
the class weight and the sample weight, then the loss. Step 6 writes the reduction out with
its numbers, and says plainly how many terms it did not write. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rich.console import RenderableType
from rich.text import Text

from ...analysis.explain import torch_call
from ..numbers import compact
from ..tables import new_table
from .common import MAX_LIST, Para, View, given, heading, note, position_of

DASH = "—"


def _log_p(v: View) -> np.ndarray:
    """log p of the shown rows, computed the stable way from the steps."""
    e = v.e
    with np.errstate(divide="ignore", invalid="ignore"):
        if e.options.input_kind == "logprobs":
            return e.logits
        logp: np.ndarray
        if e.options.input_kind == "logits":
            logp = given(e.shifted) - np.log(given(e.exp_sum))[:, None]
        else:
            logp = np.log(e.softmax)
    return logp


def _formula(v: View) -> tuple[str, str]:
    """(the heading's formula for −log p, the full per-sample loss when options add to it)."""
    o = v.e.options
    w = o.weight is not None
    if v.index_targets:
        head = "−log p[y]" + (" = logsumexp(z) − z[y]" if o.input_kind == "logits" else "")
        core = "w[y]·(−log p[y])" if w else "−log p[y]"
    else:
        head = "−Σ_c q_c log p_c"
        core = "−Σ_c w_c q_c log p_c" if w else head
    full = core
    if o.label_smoothing:
        first = f"({core})" if core.startswith("−") else core
        full = f"(1 − ε)·{first} + ε/C·Σ_c {'w_c' if w else ''}(−log p_c)"
    if o.sample_weight:
        wrap = "+" in full or full.startswith("−")
        full = f"sample weight × ({full})" if wrap else f"sample weight × {full}"
    return head, full if full != core or w else ""


def step5(v: View) -> list[RenderableType]:
    """Each shown sample's loss, with its parts."""
    e, o = v.e, v.e.options
    head, full = _formula(v)
    out: list[RenderableType] = [heading("5", f"loss per sample  {head}")]
    if full:
        out.append(note(f"loss = {full}"))
    if o.label_smoothing:
        out.append(note(f"with ε = {o.label_smoothing!r} (label smoothing) and C = {e.n_classes}"))
    cols: list[tuple[str, list[Text]]] = []
    rows = range(len(e.shown))
    ign = e.ignored

    def col(
        name: str, values: Sequence[float] | np.ndarray, fn: Callable[[float], str] | None = None
    ) -> None:
        show = fn or v.f
        cols.append((name, [Text(DASH) if ign[r] else Text(show(values[r])) for r in rows]))

    weighted_prob = not v.index_targets and o.weight is not None
    if v.index_targets:
        cols.append(("y", [Text(v.class_name(r), style="dim" if ign[r] else "bold") for r in rows]))
        if o.input_kind == "logits" and not o.label_smoothing:  # else too wide: see heading
            lse = given(e.row_max) + np.log(given(e.exp_sum))
            zy = [e.logits[r, int(e.target[r])] if not ign[r] else 0.0 for r in rows]
            col("logsumexp(z)", lse)
            col("z[y]", zy)
        cols.append(
            (
                "p[y]",
                [
                    Text("ignored", style="dim") if ign[r] else Text(v.f(given(e.p_target)[r]))
                    for r in rows
                ],
            )
        )
        col("−log p[y]", e.nll)
    elif weighted_prob:
        lp = _log_p(v)
        with np.errstate(invalid="ignore"):
            wnll = -np.einsum("nc,nc->n", np.asarray(e.target) * o.weight, lp)
        col("−Σ w_c q_c log p_c", wnll)
    else:
        col("−Σ q log p", e.nll)
    if e.smooth_term is not None:
        name = "ε/C·Σ w_c(−log p_c)" if o.weight is not None else "ε/C·Σ(−log p_c)"
        col(name, e.smooth_term * (o.label_smoothing / e.n_classes))
    if e.class_weight is not None:
        col("w[y]", e.class_weight, lambda x: compact(x, v.digits, v.truncate))
    if e.sample_weight is not None:
        col("sample w", e.sample_weight, lambda x: compact(x, v.digits, v.truncate))
    if full:
        cols.append(("loss", [Text("0" if ign[r] else v.f(e.loss[r]), style="bold") for r in rows]))
    table = new_table()
    table.add_column(v.sample_header)
    for name, _ in cols:
        table.add_column(Text(name), justify="right", overflow="fold")
    for r in rows:
        table.add_row(v.label(r), *(cells[r] for _, cells in cols))
    out.append(table)
    if ign.any():
        which = [position_of(v, r) for r in rows if ign[r]]
        out.append(
            note(
                f"ignored (target = {o.ignore_index}), loss 0: "
                f"sample{'s' if len(which) > 1 else ''} {', '.join(which)}; "
                "left out of the sum and of the mean's divisor"
            )
        )
    return out


def _terms(v: View) -> tuple[list[str], int]:
    """The written terms of the sum (used, shown samples) and how many are left unwritten."""
    e = v.e
    used = [r for r in range(len(e.shown)) if not e.ignored[r]]
    written = [v.f(e.loss[r]) for r in used[:MAX_LIST]]
    return written, e.result.count - len(written)


def _sum_expr(written: list[str], more: int) -> str:
    parts = list(written)
    if more > 0:
        parts.append(f"… ({more} more)" if parts else f"… ({more} terms)")
    return " + ".join(parts)


def _divisor(v: View, more: int) -> str:
    """The mean's divisor: written as a sum of weights when short, else its value."""
    e, o = v.e, v.e.options
    total = compact(e.result.weight_sum, v.digits, v.truncate)
    weighted = o.sample_weight or (v.index_targets and o.weight is not None)
    if not weighted or more > 0:
        return total
    eff = np.ones(len(e.shown))
    if e.class_weight is not None:
        eff = eff * e.class_weight
    if e.sample_weight is not None:
        eff = eff * e.sample_weight
    ws = [compact(eff[r], v.digits, v.truncate) for r in range(len(e.shown)) if not e.ignored[r]]
    if len(ws) <= 1:
        return total
    return "(" + " + ".join(ws) + ")"


def _divisor_words(v: View) -> str:
    o = v.e.options
    if not v.index_targets:
        what = "the sum of the sample weights" if o.sample_weight else "the number of samples"
        return f"divisor: {what} (probability targets; as torch)"
    if o.weight is None and not o.sample_weight:
        return "divisor: the number of targets used"
    each = " × ".join(
        x for x, on in (("w[y]", o.weight is not None), ("sample weight", o.sample_weight)) if on
    )
    return f"divisor: Σ {each} over the targets used (a weighted mean, as torch)"


def step6(v: View) -> list[RenderableType]:
    """The reduction written out with its numbers."""
    e = v.e
    res = e.result
    red = res.reduction
    written, more = _terms(v)
    total = float(np.sum(res.per_sample, dtype=np.float64))
    if red == "none":
        shape = np.shape(res.per_sample)
        where = f", shape {tuple(shape)} (the input without axis {e.options.class_axis})"
        words = "the per-sample losses, unreduced" + (where if len(shape) > 1 else "")
        return [heading("6", f"reduction none: {words}"), note(_vector(v))]
    if res.count == 0:
        expr = (
            "sum of no targets = 0" if red == "sum" else "mean of no targets: 0/0 = nan (as torch)"
        )
        return [heading("6", f"reduction {red}: {expr}")]
    num = _sum_expr(written, more)
    if red == "sum":
        return [heading("6", f"reduction sum: {num} = {v.f(res.loss)}")]
    den = _divisor(v, more)
    value = compact(res.weight_sum, v.digits, v.truncate)
    num = f"({num})" if len(written) > 1 or more > 0 else num
    expr = f"{num} / {den}"
    if more > 0 or den != value:
        expr += f" = {v.f(total)} / {value}"
    tail = " (as torch: the divisor is 0)" if res.weight_sum == 0 else ""
    return [
        heading("6", f"reduction mean: {expr} = {v.f(res.loss)}{tail}"),
        note(_divisor_words(v)),
    ]


def _vector(v: View, limit: int = MAX_LIST) -> str:
    flat = np.ravel(v.e.result.per_sample)
    vals = [v.f(x) for x in flat[:limit]]
    if flat.size > limit:
        vals.append(f"… ({flat.size - limit} more)")
    return "[" + ", ".join(vals) + "]"


def _tensor(v: View) -> str:
    res = v.e.result
    if res.reduction != "none":
        return f"tensor({v.f(res.loss)})"
    per = np.asarray(res.per_sample)
    if per.ndim == 0:
        return f"tensor({v.f(per)})"
    if per.size <= MAX_LIST:

        def nest(a: np.ndarray) -> str:
            if a.ndim == 1:
                return "[" + ", ".join(v.f(x) for x in a) + "]"
            return "[" + ", ".join(nest(x) for x in a) + "]"

        return f"tensor({nest(per)})"
    flat = per.ravel()
    head = ", ".join(v.f(x) for x in flat[: MAX_LIST - 2])
    shape = f"  (shape {tuple(per.shape)})" if per.ndim > 1 else ""
    return f"tensor([{head}, …, {v.f(flat[-1])}]){shape}"


def torch_line(v: View) -> Para:
    """``PyTorch: <call> → tensor(<value>)``."""
    return Para(Text.assemble(("PyTorch: ", "bold"), torch_call(v.e.options), " → ", _tensor(v)))
