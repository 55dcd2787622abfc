"""Step 7 of the ``explain`` view (``explain --grad``): the gradient d loss / d input, written
out the way step 4 writes the softmax.

For logits each sample's gradient is ``s·(p·Σa − a)``: ``a`` the target the loss pulls ``p``
towards (``onehot(y)``, or ``(1 − ε)·w[y]·onehot(y) + ε/C·w``, ``w·((1 − ε)q + ε/C)``, times
the sample weight), ``s`` the reduction's scale. Without weights or smoothing it is the
familiar ``p − onehot(y)``. Nothing here prints.
"""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType
from rich.text import Text

from ..numbers import compact
from .common import MAX_LIST, Para, View, class_table, given, heading, note


def target_weights(v: View) -> np.ndarray:
    """``a``, the effective target of each shown row (0 for ignored rows)."""
    e, o = v.e, v.e.options
    c = e.n_classes
    w = o.weight if o.weight is not None else np.ones(c)
    eps = o.label_smoothing
    if v.index_targets:
        a = np.zeros((len(e.shown), c))
        for r in range(len(e.shown)):
            if not e.ignored[r]:
                y = int(e.target[r])
                a[r, y] = (1.0 - eps) * w[y]
                a[r] += eps / c * w
    else:
        a = (np.asarray(e.target, dtype=np.float64) * (1.0 - eps) + eps / c) * w
    if e.sample_weight is not None:
        a = a * np.asarray(e.sample_weight)[:, None]
    return a


def _simple(v: View) -> bool:
    """No class weights, smoothing or sample weights: ``a`` is onehot(y) (or q)."""
    o = v.e.options
    return o.weight is None and not o.label_smoothing and not o.sample_weight


def _scale(v: View) -> tuple[str, str]:
    """(the scale as written in the formula, words for it)."""
    res = v.e.result
    if res.reduction == "mean":
        d = compact(res.weight_sum, v.digits, v.truncate)
        return f" / {d}", f"mean: divided by {d}, the divisor of the mean"
    if res.reduction == "sum":
        return "", "sum: each sample's gradient as it is"
    return "", "none: the gradient of the sum of the per-sample losses (as loss.sum().backward())"


def _formula(v: View, div: str) -> str:
    kind = v.e.options.input_kind
    if kind == "probs":
        return f"∂loss/∂p = −a / p{div}"
    if kind == "logprobs":
        return f"∂loss/∂(log p) = −a{div}"
    if _simple(v):
        what = "onehot(y)" if v.index_targets else "q"
        core = f"p − {what}"
        return f"∂loss/∂z = ({core}){div}" if div else f"∂loss/∂z = {core}"
    return f"∂loss/∂z = (p·Σa − a){div}" if div else "∂loss/∂z = p·Σa − a"


def _written_out(v: View, div: str) -> Para | None:
    """Sample r's row written out, ``(p0, p1 − 1, …) / 3 = (…)``, in the plain case."""
    e = v.e
    if not (_simple(v) and v.index_targets and e.options.input_kind == "logits"):
        return None
    rows = [r for r in range(len(e.shown)) if not e.ignored[r]]
    if not rows or e.n_classes > MAX_LIST:
        return None
    r = rows[0]
    y = int(e.target[r])
    terms = [v.f(e.softmax[r, c]) + (" − 1" if c == y else "") for c in range(e.n_classes)]
    values = ", ".join(v.f(g) for g in given(e.grad)[r])
    return note(f"sample {v.label(r).plain}: ({', '.join(terms)}){div} = ({values})")


def _a_formula(v: View) -> str:
    """``a`` in symbols, with only the terms the options use."""
    o = v.e.options
    w = o.weight is not None
    smooth = bool(o.label_smoothing)
    if v.index_targets:
        head = ("(1 − ε)·" if smooth else "") + ("w[y]·" if w else "") + "onehot(y)"
        formula = head + (" + ε/C" + ("·w" if w else "") if smooth else "")
    else:
        q = "((1 − ε)q + ε/C)" if smooth else "q"
        formula = f"w·{q}" if w else (q[1:-1] if smooth else q)
    return f"sample weight × ({formula})" if o.sample_weight else formula


def step7(v: View) -> list[RenderableType]:
    """The gradient rows, with the effective targets ``a`` when they are not plain."""
    e = v.e
    if e.grad is None:
        return []
    div, words = _scale(v)
    out: list[RenderableType] = [
        heading("7", f"gradient  {_formula(v, div)}", "(what loss.backward() puts in .grad)")
    ]
    out.append(note(f"reduction {words}"))
    simple = _simple(v)
    if not simple or e.options.input_kind != "logits":
        a = target_weights(v)
        if not simple:
            out.append(note(f"a = {_a_formula(v)}: the target the loss pulls p towards"))
        out.append(class_table(v, a, after=[("Σa", lambda r: Text(v.f(a[r].sum())))], at_y="a[y]"))
    line = _written_out(v, div)
    if line is not None:
        out.append(line)
    out.append(class_table(v, e.grad, at_y="∂/∂z[y]"))
    if e.options.input_kind == "logits":
        out.append(note("each row sums to 0: adding a constant to a row's logits changes nothing"))
    if e.ignored.any():
        out.append(note("ignored samples: gradient 0"))
    return out
