"""The usual mistakes, caught: inputs that compute, but almost surely not as the user meant.

Each check looks for one bug torch users hit most (see the README, "The usual mistakes") and
returns warning lines that name the likely cause, the fix, and the loss the fix would give.
The checks need evidence, not a coincidence: labels count as 1-based, or the class axis as
wrong, only when the scores fit the corrected targets far better (a mean ``-log p`` lower by
more than ``ln 2``, over at least ``MIN_TARGETS`` targets), so that a correct input, even an
untrained model's, does not trigger them. NumPy only; nothing here prints or raises.

What they read: the checks run before the loss (so that ``--strict`` stops before any
work), and read the scores of a big input only as far as they need to. The double-softmax
check stops at the first block that is not probabilities (the first one, for real logits);
the fit-based checks read the scores only once the targets show the mistake's sign (no
label is 0: one pass fits both labellings; the targets' shape fits another axis: a pass for
each axis); the loss a fix would give takes a pass of its own, only when a warning is given.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ._rows import iter_log_probs, iter_rows
from .targets import Targets, normalize_class_axis, prepare_targets

MIN_TARGETS = 10  # fewer targets are too little evidence for the fit-based checks
MARGIN = math.log(2)  # the corrected targets must be, on average, twice as likely
MARKER = 255  # the "void" label of segmentation masks (-1 is an error with a hint already)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _fixed_loss(x: np.ndarray, target: npt.ArrayLike, kw: dict[str, Any], **change: Any) -> str:
    """``: the loss would be X`` with ``change`` applied to the call (mean for none)."""
    from .core import evaluate

    call = {**kw, **change}
    words = "the loss would be"
    if call.get("reduction", "mean") == "none":
        call["reduction"], words = "mean", "the mean loss would be"
    call.pop("class_names", None)
    try:
        loss = evaluate(x, target, **call).loss
    except ValueError:  # the fix is not valid with the other options: say only the fix
        return ""
    return f": {words} {_number(loss)}"


def looks_like_probabilities(
    x: np.ndarray, *, class_axis: int = 1, input_kind: str = "logits"
) -> bool:
    """Whether logits look like probabilities: every value in [0, 1], every row summing to 1
    (within 1e-5, 1e-3 for float16), and more than one class.

    >>> looks_like_probabilities(np.array([[0.2, 0.8], [0.5, 0.5]]))
    True
    >>> looks_like_probabilities(np.array([[0.2, 0.8], [0.5, 0.4]]))
    False
    """
    if input_kind != "logits" or x.size == 0:
        return False
    axis = normalize_class_axis(x.ndim, class_axis)
    if x.shape[axis] < 2 or x.dtype.kind not in "fiu":
        return False
    tol = 1e-3 if x.dtype == np.float16 else 1e-5
    for _, rows in iter_rows(x, class_axis=axis):
        r = rows.astype(np.float64)
        with np.errstate(invalid="ignore"):
            if not ((r >= 0) & (r <= 1)).all():
                return False
            if not (np.abs(r.sum(axis=1) - 1.0) <= tol).all():
                return False
    return True


def _fit(
    x: np.ndarray, t: Targets, kw: dict[str, Any], axis: int, shifts: tuple[int, ...] = (0,)
) -> list[tuple[float, float]]:
    """Mean ``-log p[y - shift]`` and accuracy over the targets used, classes on ``axis``,
    for each shift: one pass over ``x`` for all of them."""
    nll, hits = [0.0] * len(shifts), [0.0] * len(shifts)
    for start, logp in iter_log_probs(
        x, class_axis=axis, input_kind=kw.get("input_kind", "logits"), dtype=kw.get("dtype")
    ):
        stop = start + logp.shape[0]
        ok = t.valid[start:stop]
        lp = logp[ok].astype(np.float64)
        pred = np.argmax(lp, axis=1)
        for k, shift in enumerate(shifts):
            y = t.index[start:stop][ok] - shift
            nll[k] -= float(np.sum(lp[np.arange(y.size), y]))
            hits[k] += float(np.sum(pred == y))
    n = int(np.count_nonzero(t.valid))
    return [(a / n, b / n) for a, b in zip(nll, hits, strict=True)]


_PART = 1 << 20  # targets looked at a time: no copy of them all (big inputs)


def _used(t: Targets) -> Iterator[np.ndarray]:
    """The class indices of the targets that count (not ignored), a slice at a time."""
    for start in range(0, t.n_rows, _PART):
        part, ok = t.index[start : start + _PART], t.valid[start : start + _PART]
        yield part if ok.all() else part[ok]


def _targets(x: np.ndarray, target: npt.ArrayLike, kw: dict[str, Any], axis: int) -> Targets:
    return prepare_targets(
        x.shape,
        target,
        class_axis=axis,
        ignore_index=kw.get("ignore_index", -100),
        targets_kind="index",
    )


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def one_based(x: np.ndarray, target: np.ndarray, kw: dict[str, Any]) -> list[str]:
    """Labels that count from 1: no label is 0 (and 0 is not the ignore index), and the
    scores fit ``label - 1`` far better than ``label``."""
    axis = normalize_class_axis(x.ndim, kw.get("class_axis", 1))
    t = _targets(x, target, kw, axis)
    ignore = kw.get("ignore_index", -100)
    if int(np.count_nonzero(t.valid)) < MIN_TARGETS or 0 <= ignore < t.n_classes:
        return []
    if min(int(part.min()) for part in _used(t) if part.size) < 1:
        return []
    (nll, acc), (nll1, acc1) = _fit(x, t, kw, axis, shifts=(0, 1))
    if not nll1 + MARGIN < nll:
        return []
    from . import _spill

    spill = _spill.on_disk(x) or _spill.on_disk(t.index)
    shifted = _spill.empty(t.n_rows, np.int64, "the shifted targets", spill=spill)
    np.copyto(shifted, t.index)
    np.subtract(shifted, 1, out=shifted, where=t.valid)
    shifted = shifted.reshape(np.shape(target))
    return [
        f"labels look 1-based: no label is 0, and the scores fit label − 1 far better "
        f"(mean −log p {_number(nll1)} instead of {_number(nll)}, accuracy {_pct(acc1)} instead "
        f"of {_pct(acc)}); if the labels count from 1, subtract 1 from them"
        + _fixed_loss(x, shifted, kw)
    ]


def wrong_class_axis(x: np.ndarray, target: np.ndarray, kw: dict[str, Any]) -> list[str]:
    """A class axis that looks wrong: the targets' shape fits another axis too, and the
    scores fit the classes on that axis far better."""
    if x.ndim < 2:
        return []
    axis = normalize_class_axis(x.ndim, kw.get("class_axis", 1))
    t = _targets(x, target, kw, axis)
    if int(np.count_nonzero(t.valid)) < MIN_TARGETS:
        return []
    shape, tshape = x.shape, np.shape(target)
    nll = None
    for other in range(x.ndim):
        if other == axis or shape[:other] + shape[other + 1 :] != tshape:
            continue
        if nll is None:
            nll = _fit(x, t, kw, axis)[0][0]
        alt = _fit(x, _targets(x, target, kw, other), kw, other)[0][0]
        if alt + MARGIN < nll:
            return [
                f"the class axis looks wrong: the targets' shape {tshape} fits classes on axis "
                f"{axis} and on axis {other}, and the scores fit axis {other} far better (mean "
                f"−log p {_number(alt)} instead of {_number(nll)}); if the classes lie on axis "
                f"{other}, pass --class-axis {other}" + _fixed_loss(x, target, kw, class_axis=other)
            ]
    return []


def unignored_marker(x: np.ndarray, target: np.ndarray, kw: dict[str, Any]) -> list[str]:
    """Label 255 used as a "void" marker: present, not the ignore index, and isolated far
    above every other label (all below 128). With fewer than 256 classes, 255 is an
    out-of-range error instead; -1 is always one (with a hint)."""
    ignore = kw.get("ignore_index", -100)
    axis = normalize_class_axis(x.ndim, kw.get("class_axis", 1))
    if ignore == MARKER or x.shape[axis] <= MARKER:
        return []
    t = _targets(x, target, kw, axis)
    n = sum(int(np.count_nonzero(part == MARKER)) for part in _used(t))
    if not n or any(((part >= 128) & (part != MARKER)).any() for part in _used(t)):
        return []
    return [
        f"label {MARKER} looks like a missing-label marker: it appears {n} time"
        f"{'s' if n != 1 else ''} while every other label is below 128 (masks often mark "
        f"'void' pixels with {MARKER}); if it means 'no label', pass --ignore-index {MARKER}"
        + _fixed_loss(x, target, kw, ignore_index=MARKER)
    ]


def find_mistakes(
    input: np.ndarray,
    target: np.ndarray | None,
    *,
    targets_kind: str | None = "index",
    **kw: Any,
) -> list[str]:
    """Every usual-mistake warning for a loss call (``kw``: ``cross_entropy``'s arguments).

    >>> probs = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]])
    >>> find_mistakes(probs, np.array([1, 0]))[0].split(":")[0]
    'LOGITS look like probabilities'
    >>> find_mistakes(np.arange(1.0, 13.0).reshape(3, 4), np.array([1, 2, 3]))
    []
    """
    x = input if isinstance(input, np.ndarray) else np.asarray(input)
    kw = {**kw, "targets_kind": targets_kind or "auto"}
    out: list[str] = []
    if target is not None and looks_like_probabilities(
        x, class_axis=kw.get("class_axis", 1), input_kind=kw.get("input_kind", "logits")
    ):
        out.append(
            "LOGITS look like probabilities: every row is in [0, 1] and sums to 1 (a softmax "
            "applied twice?); cross-entropy applies log-softmax itself, so pass raw scores, or "
            "pass --input-kind probs" + _fixed_loss(x, target, kw, input_kind="probs")
        )
    if target is None or targets_kind != "index":
        return out
    for check in (one_based, wrong_class_axis, unignored_marker):
        out += check(x, target, kw)
    return out


__all__ = [
    "find_mistakes",
    "looks_like_probabilities",
    "one_based",
    "unignored_marker",
    "wrong_class_axis",
]
