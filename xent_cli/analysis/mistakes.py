"""The usual mistakes, caught: inputs that compute, but almost surely not as the user meant.

Each check looks for one bug torch users hit most (the README, "The usual mistakes") and
names the likely cause, the fix, and the loss the fix would give. It needs evidence: the
scores must fit the corrected targets far better (a mean ``-log p`` lower by more than
``ln 2``, over at least ``MIN_TARGETS`` targets). The checks run before the loss and read a
big input only as far as needed; the loss a fix would give takes a pass, only for a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np

from ..core import IndexTargets, Targets, normalize_class_axis, parts, prepare_targets
from ..engine import empty, iter_log_probs, iter_rows, on_disk
from ..errors import XentError
from ..spec import LossSpec

MIN_TARGETS = 10  # fewer targets are too little evidence for the fit-based checks
MARGIN = math.log(2)  # the corrected targets must be, on average, twice as likely
MARKER = 255  # the "void" label of segmentation masks (-1 is an error with a hint already)

#: The loss the fix would give: ``fixed(targets, spec)`` is the reduced loss of the input
#: against ``targets`` (class indices as given, checked by it; ``None``: the targets of the
#: call) with ``spec``; a fix that is not valid with the other options raises ``XentError``.
FixedLoss = Callable[[np.ndarray | None, LossSpec], float]


def _number(value: float) -> str:
    return f"{value:.6g}"


def _fixed_loss(
    fixed: FixedLoss | None, spec: LossSpec, target: np.ndarray | None = None, **change: object
) -> str:
    """``: the loss would be X`` with ``change`` applied to the call (mean for none)."""
    if fixed is None:
        return ""
    call = replace(spec, **change)  # type: ignore[arg-type]
    words = "the loss would be"
    if call.reduction == "none":
        call, words = replace(call, reduction="mean"), "the mean loss would be"
    try:
        loss = fixed(target, call)
    except XentError:  # the fix is not valid with the other options: say only the fix
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
    x: np.ndarray, t: IndexTargets, spec: LossSpec, shifts: tuple[int, ...] = (0,)
) -> list[tuple[float, float]]:
    """Mean ``-log p[y - shift]`` and accuracy over the targets used, classes on
    ``t.class_axis``, for each shift: one pass over ``x`` for all of them."""
    nll, hits = [0.0] * len(shifts), [0.0] * len(shifts)
    for start, logp in iter_log_probs(
        x, class_axis=t.class_axis, input_kind=spec.input_kind, dtype=spec.dtype
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


def _used(t: IndexTargets) -> Iterator[np.ndarray]:
    """The class indices of the targets that count (not ignored), a slice at a time (no
    copy of them all: big inputs)."""
    for start, part in parts(t.index):
        ok = t.valid[start : start + part.size]
        yield part if ok.all() else part[ok]


def _labels(t: IndexTargets) -> np.ndarray:
    """The class indices as the targets were given (the batch shape)."""
    return t.index.reshape(t.batch_shape)


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def one_based(x: np.ndarray, t: IndexTargets, spec: LossSpec, fixed: FixedLoss | None) -> list[str]:
    """Labels that count from 1: no label is 0 (and 0 is not the ignore index), and the
    scores fit ``label - 1`` far better than ``label``."""
    ignore = spec.ignore_index
    if int(np.count_nonzero(t.valid)) < MIN_TARGETS or 0 <= ignore < t.n_classes:
        return []
    if min(int(part.min()) for part in _used(t) if part.size) < 1:
        return []
    (nll, acc), (nll1, acc1) = _fit(x, t, spec, shifts=(0, 1))
    if not nll1 + MARGIN < nll:
        return []
    shifted = empty(t.n_rows, np.int64, "the shifted targets", spill=on_disk((x, t.index)))
    np.copyto(shifted, t.index)
    np.subtract(shifted, 1, out=shifted, where=t.valid)
    return [
        f"labels look 1-based: no label is 0, and the scores fit label − 1 far better "
        f"(mean −log p {_number(nll1)} instead of {_number(nll)}, accuracy {_pct(acc1)} instead "
        f"of {_pct(acc)}); if the labels count from 1, subtract 1 from them"
        + _fixed_loss(fixed, spec, shifted.reshape(t.batch_shape))
    ]


def wrong_class_axis(
    x: np.ndarray, t: IndexTargets, spec: LossSpec, fixed: FixedLoss | None
) -> list[str]:
    """A class axis that looks wrong: the targets' shape fits another axis too, and the
    scores fit the classes on that axis far better."""
    if x.ndim < 2 or int(np.count_nonzero(t.valid)) < MIN_TARGETS:
        return []
    axis, shape, tshape = t.class_axis, x.shape, t.batch_shape
    nll = None
    for other in range(x.ndim):
        if other == axis or shape[:other] + shape[other + 1 :] != tshape:
            continue
        if nll is None:
            nll = _fit(x, t, spec)[0][0]
        there = replace(spec, class_axis=other, targets_kind="index")
        t_other = prepare_targets(shape, _labels(t), there)
        assert isinstance(t_other, IndexTargets)
        alt = _fit(x, t_other, there)[0][0]
        if alt + MARGIN < nll:
            return [
                f"the class axis looks wrong: the targets' shape {tshape} fits classes on axis "
                f"{axis} and on axis {other}, and the scores fit axis {other} far better (mean "
                f"−log p {_number(alt)} instead of {_number(nll)}); if the classes lie on axis "
                f"{other}, pass --class-axis {other}"
                + _fixed_loss(fixed, spec, _labels(t), class_axis=other)
            ]
    return []


def unignored_marker(
    x: np.ndarray, t: IndexTargets, spec: LossSpec, fixed: FixedLoss | None
) -> list[str]:
    """Label 255 used as a "void" marker: present, not the ignore index, and isolated far
    above every other label (all below 128). With fewer than 256 classes, 255 is an
    out-of-range error instead; -1 is always one (with a hint)."""
    if spec.ignore_index == MARKER or t.n_classes <= MARKER:
        return []
    n = sum(int(np.count_nonzero(part == MARKER)) for part in _used(t))
    if not n or any(((part >= 128) & (part != MARKER)).any() for part in _used(t)):
        return []
    return [
        f"label {MARKER} looks like a missing-label marker: it appears {n} time"
        f"{'s' if n != 1 else ''} while every other label is below 128 (masks often mark "
        f"'void' pixels with {MARKER}); if it means 'no label', pass --ignore-index {MARKER}"
        + _fixed_loss(fixed, spec, _labels(t), ignore_index=MARKER)
    ]


def find_mistakes(
    x: np.ndarray, t: Targets | None, spec: LossSpec, fixed: FixedLoss | None = None
) -> list[str]:
    """Every usual-mistake warning for the loss of ``x`` against ``t`` with ``spec``
    (``fixed``: how to compute the loss a fix would give; ``None``: say only the fix).

    >>> probs = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]])
    >>> find_mistakes(probs, prepare_targets(probs.shape, [1, 0]), LossSpec())[0].split(":")[0]
    'LOGITS look like probabilities'
    >>> z = np.arange(1.0, 13.0).reshape(3, 4)
    >>> find_mistakes(z, prepare_targets(z.shape, [1, 2, 3]), LossSpec())
    []
    """
    out: list[str] = []
    if t is None:
        return out
    axis = normalize_class_axis(x.ndim, spec.class_axis)
    if looks_like_probabilities(x, class_axis=axis, input_kind=spec.input_kind):
        out.append(
            "LOGITS look like probabilities: every row is in [0, 1] and sums to 1 (a softmax "
            "applied twice?); cross-entropy applies log-softmax itself, so pass raw scores, or "
            "pass --input-kind probs" + _fixed_loss(fixed, spec, input_kind="probs")
        )
    if not isinstance(t, IndexTargets):
        return out
    for check in (one_based, wrong_class_axis, unignored_marker):
        out += check(x, t, spec, fixed)
    return out
