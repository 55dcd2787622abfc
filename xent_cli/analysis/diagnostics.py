"""Warnings about inputs and results that compute, but probably not as the user meant.

Each check returns messages (one line each) and never raises. The figures come from the
engine's block-wise scans whatever the input's size: by a pass of their own
(:func:`check_inputs`), or by the pass that computes the result (:class:`PassChecks`).
Places are named as the tables name them, from 0: ``sample 1, class 2``, ``position (0, 3)``;
never "row" and "column", the 1-based places of a text file in the readers' errors.
"""

from __future__ import annotations

import numpy as np

from ..core import (
    LossResult,
    ProbTargets,
    Targets,
    normalize_class_axis,
    parts,
    position,
    position_label,
)
from ..engine import (
    NonFiniteScan,
    ProbabilityScan,
    ProbabilityStats,
    Scan,
    Scans,
    non_finite_stats,
    probability_stats,
    reshaped,
)
from ..errors import plural
from ..spec import LossSpec


def _sample(pos: int | tuple[int, ...]) -> str:
    """A sample by its position: ``sample 3``, or ``position (0, 2)`` for ``(N, d1, ...)``
    (the words of the tables' first column)."""
    if isinstance(pos, int):
        return f"sample {pos}"
    return f"position {position_label(pos)}"


def _row(flat: int, shape: tuple[int, ...], class_axis: int) -> str:
    """Sample ``flat`` of the rows the checks see (class axis moved last, then flattened).

    >>> _row(5, (2, 4, 3), 1), _row(1, (3, 2), -1), _row(0, (3,), 0)
    ('position (1, 2)', 'sample 1', 'sample 0')
    """
    axis = class_axis % len(shape) if shape else 0
    return _sample(position(flat, shape[:axis] + shape[axis + 1 :]))


def _place(coords: tuple[int, ...], class_axis: int) -> str:
    """A value by its index: ``sample 1, class 2`` (1-D input is sample 0, as in the tables).

    >>> _place((1, 2), 1), _place((2,), 1), _place((0, 2, 3), 1), _place((4, 0), 0)
    ('sample 1, class 2', 'sample 0, class 2', 'position (0, 3), class 2', 'sample 0, class 4')
    """
    if not coords:
        return "position ()"
    if len(coords) == 1:
        return f"sample 0, class {coords[0]}"
    axis = class_axis % len(coords)
    batch = coords[:axis] + coords[axis + 1 :]
    return f"{_sample(batch[0] if len(batch) == 1 else batch)}, class {coords[axis]}"


def non_finite_input(
    x: np.ndarray, what: str = "logits", *, class_axis: int = 1, threads: int | None = None
) -> list[str]:
    """A warning when ``x`` holds NaN or ±inf, with the count and the first place (sample and
    class, from 0, as the tables number them).

    >>> non_finite_input(np.array([[0.0, 1.0], [1.0, np.nan]]))
    ['logits hold 1 non-finite value (first at sample 1, class 1: nan)']
    """
    if not np.ndim(x):
        return _non_finite(x, 0 if np.isfinite(x) else 1, 0, what, class_axis)
    axis = normalize_class_axis(np.ndim(x), class_axis)
    return _non_finite(x, *non_finite_stats(x, class_axis=axis, threads=threads), what, axis)


def _non_finite(x: np.ndarray, n: int, flat: int, what: str, class_axis: int) -> list[str]:
    """The warning for ``n`` non-finite values of ``x``, the first at flat C-order ``flat``."""
    if not n:
        return []
    first = tuple(int(i) for i in np.unravel_index(flat, np.shape(x)))
    where = _place(first, class_axis)
    return [f"{what} hold {plural(n, 'non-finite value')} (first at {where}: {x[first]})"]


def non_finite_after_pass(
    x: np.ndarray, scan: NonFiniteScan, what: str = "logits", *, class_axis: int = 1
) -> list[str]:
    """:func:`non_finite_input`'s warning, from what a blocked pass's ``scan`` counted.

    >>> from xent_cli.engine.passes import softmax
    >>> x = np.array([[0.0, 1.0], [1.0, np.nan]])
    >>> scan = NonFiniteScan()
    >>> _ = softmax(x, 1, block_rows=1, scan=scan)
    >>> non_finite_after_pass(x, scan) == non_finite_input(x)
    True
    """
    return _non_finite(x, *scan.result(), what, class_axis)


def probabilities(
    x: np.ndarray, class_axis: int, what: str, *, threads: int | None = None
) -> list[str]:
    """Warnings for probabilities (``--input-kind probs`` input, or probability targets) that
    lie outside [0, 1] or whose rows do not sum to 1 (tolerance 1e-6); torch uses them as given.

    >>> probabilities(np.array([[0.5, 0.5], [0.5, 0.6]]), 1, "probability targets")
    ['probability targets of 1 sample do not sum to 1 (first: sample 1 sums to 1.1); \
they are used as given']
    """
    stats = probability_stats(x, class_axis, threads=threads)
    return _probability_words(stats, x, class_axis, what)


def _probability_words(
    stats: ProbabilityStats, x: np.ndarray, class_axis: int, what: str
) -> list[str]:
    """:func:`probabilities`' warnings from the figures of a block-wise check of ``x``."""
    out = []
    shape = np.shape(x)
    if stats.outside is not None:
        r, c, v = stats.outside
        where = f"{_row(r, shape, class_axis)}, class {c}"
        out.append(f"{what} hold values outside [0, 1] (first at {where}: {v})")
    if stats.first_off is not None:
        n = stats.n_off
        first, total = stats.first_off
        out.append(
            f"{what} of {n} sample{'s' if n != 1 else ''} do not sum to 1 "
            f"(first: {_row(first, shape, class_axis)} sums to {total:.6g}); "
            "they are used as given"
        )
    return out


def check_inputs(
    x: np.ndarray,
    t: Targets | None,
    spec: LossSpec,
    *,
    in_pass: bool = False,
    threads: int | None = None,
) -> list[str]:
    """Every input warning: non-finite logits, bad probabilities (input or targets).

    ``in_pass=True`` leaves out every check a :class:`PassChecks` makes in the pass instead
    (its :meth:`~PassChecks.messages`), for a caller whose pass reads big ``x``."""
    axis = normalize_class_axis(np.ndim(x), spec.class_axis)
    out = []
    if not in_pass:
        out += non_finite_input(x, input_name(spec.input_kind), class_axis=axis, threads=threads)
        if spec.input_kind == "probs":
            out += probabilities(x, axis, "input probabilities", threads=threads)
    if isinstance(t, ProbTargets) and not (in_pass and _targets_view(x, t) is not None):
        what = "probability targets"
        out += non_finite_input(t.array, what, class_axis=axis, threads=threads)
        out += probabilities(t.array, axis, what, threads=threads)
    return out


def _targets_view(x: np.ndarray, t: Targets | None) -> np.ndarray | None:
    """Probability targets as the ``(P, C, S)`` view a pass over ``x`` reads, or ``None``:
    none, or not viewable so without a copy (their checks are then made before the pass)."""
    if not isinstance(t, ProbTargets) or t.array.dtype.kind not in "fiu":
        return None
    shape, axis = t.array.shape, t.class_axis
    size = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return reshaped(t.array, (int(np.prod(shape[:axis], dtype=np.int64)), shape[axis], size))


class PassChecks:
    """The checks of :func:`check_inputs` made by the pass over big ``x`` (read once):
    :attr:`scan` goes to the pass, :meth:`messages` are the same warnings, after it.

    >>> from xent_cli.core import prepare_targets
    >>> from xent_cli.engine.passes import evaluate
    >>> q = np.array([[0.5, 0.6], [1.5, -0.5], [np.nan, 1.0]])
    >>> t, spec = prepare_targets(q.shape, [0, 1, 1]), LossSpec(input_kind="probs")
    >>> checks = PassChecks(q, t, spec)
    >>> _ = evaluate(q, t, spec, block_rows=1, scan=checks.scan)
    >>> checks.messages() == check_inputs(q, t, spec)
    True
    """

    def __init__(self, x: np.ndarray, t: Targets | None, spec: LossSpec) -> None:
        self.x, self.t, self.input_kind = x, t, spec.input_kind
        self.axis = normalize_class_axis(np.ndim(x), spec.class_axis)
        self.finite = NonFiniteScan() if x.dtype.kind == "f" else None
        self.probs = ProbabilityScan() if spec.input_kind == "probs" else None
        t3 = _targets_view(x, t)
        self.t_finite = NonFiniteScan(t3) if t3 is not None and t3.dtype.kind == "f" else None
        self.t_probs = ProbabilityScan(t3) if t3 is not None else None

    @property
    def scan(self) -> Scan | None:
        """The ``scan=`` of the pass: every check in one, or ``None`` when there is none."""
        found = [s for s in (self.finite, self.probs, self.t_finite, self.t_probs) if s]
        return None if not found else found[0] if len(found) == 1 else Scans(*found)

    def messages(self) -> list[str]:
        """The warnings, once the pass has run (as :func:`check_inputs` orders them)."""
        x, axis = self.x, self.axis
        out = []
        if self.finite is not None:
            what = input_name(self.input_kind)
            out += non_finite_after_pass(x, self.finite, what, class_axis=axis)
        if self.probs is not None:
            out += _probability_words(self.probs.result(), x, axis, "input probabilities")
        if isinstance(self.t, ProbTargets):
            target = self.t.array
            what = "probability targets"
            if self.t_finite is not None:
                out += non_finite_after_pass(target, self.t_finite, what, class_axis=axis)
            if self.t_probs is not None:
                out += _probability_words(self.t_probs.result(), target, axis, what)
        return out


def input_name(input_kind: str) -> str:
    """What the input's warnings call it: ``logits``, ``probabilities``, ``log-probabilities``."""
    return {"logits": "logits", "probs": "probabilities", "logprobs": "log-probabilities"}[
        input_kind
    ]


def _non_finite_count(flat: np.ndarray) -> tuple[int, int]:
    """How many of ``flat`` are NaN or ±inf, and the first's position (-1: none), looked at
    a slice at a time (a big input's per-sample losses are on disk: no mask of them all)."""
    n, first = 0, -1
    for start, part in parts(flat):
        bad = ~np.isfinite(part)
        k = int(np.count_nonzero(bad))
        if k and first < 0:
            first = start + int(np.argmax(bad))
        n += k
    return n, first


def result(res: LossResult) -> list[str]:
    """Warnings for a non-finite loss: where the first bad sample is, or why a mean is NaN.

    >>> from xent_cli.core import evaluate, prepare_targets
    >>> x = np.array([[0.0, 1.0], [np.nan, 1.0]])
    >>> result(evaluate(x, prepare_targets(x.shape, [0, 1]), LossSpec(reduction="none")))
    ['the loss is not finite: 1 sample loss is nan or inf (first: sample 1 = nan)']
    """
    per = np.asarray(res.per_sample)
    n, flat_first = _non_finite_count(per.reshape(-1))
    if n:
        first = position(flat_first, per.shape)
        value = per[first] if per.ndim else per
        return [
            f"the loss is not finite: {n} sample loss{'es are' if n != 1 else ' is'} "
            f"nan or inf (first: {_sample(first)} = {value})"
        ]
    if res.reduction == "mean" and res.weight_sum == 0.0:
        if res.count == 0:
            return ["no targets to average (all ignored, or no samples): the mean is nan, as torch"]
        return ["the targets' weights sum to 0: the mean is 0/0 = nan, as torch"]
    return []
