"""Warnings about inputs and results that compute, but probably not as the user meant.

Each check returns messages (one line each) and never raises: the CLI prints them on stderr,
or turns them into errors under ``--strict``. NumPy only.

Places are named as the tables name them, counting from 0: ``sample 1, class 2`` (the
``sample`` column and the class columns of a table; class 2 is label 2), ``position (0, 3)``
for a sample of a ``(N, C, d1, ...)`` input. Never "row" and "column": those are the 1-based
rows and columns of a text file, in the readers' errors (``logits.csv, row 3, column 2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._errors import plural
from .core import LossResult, _big
from .targets import normalize_class_axis

if TYPE_CHECKING:
    from ._kernel_checks import NonFiniteScan, ProbabilityStats


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _sample(coords: tuple[int, ...]) -> str:
    """A sample by its index in the batch shape: ``sample 3``, or ``position (0, 2)`` for
    ``(N, d1, ...)`` (the words of the tables' first column)."""
    if len(coords) == 1:
        return f"sample {coords[0]}"
    return f"position {coords}"


def _row(flat: int, shape: tuple[int, ...], class_axis: int) -> str:
    """Sample ``flat`` of the rows the checks see (class axis moved last, then flattened).

    >>> _row(5, (2, 4, 3), 1), _row(1, (3, 2), -1), _row(0, (3,), 0)
    ('position (1, 2)', 'sample 1', 'sample 0')
    """
    axis = class_axis % len(shape) if shape else 0
    batch = shape[:axis] + shape[axis + 1 :]
    return _sample(tuple(int(i) for i in np.unravel_index(flat, batch)) if batch else (0,))


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
    return f"{_sample(coords[:axis] + coords[axis + 1 :])}, class {coords[axis]}"


def _blocked(x: object, blocked: bool | None) -> bool:
    """Check block-wise: forced, or for the inputs the core computes block-wise."""
    return _big(x) if blocked is None else blocked


def non_finite_input(
    x: np.ndarray,
    what: str = "logits",
    *,
    class_axis: int = 1,
    threads: int | None = None,
    blocked: bool | None = None,
) -> list[str]:
    """A warning when ``x`` holds NaN or ±inf, with the count and the first place (sample and
    class, from 0, as the tables number them).

    Big (or memory-mapped) input is scanned block by block (``blocked=None``: by size).

    >>> non_finite_input(np.array([[0.0, 1.0], [1.0, np.nan]]))
    ['logits hold 1 non-finite value (first at sample 1, class 1: nan)']
    """
    if np.ndim(x) and _blocked(x, blocked):
        from .blocks import non_finite_stats

        return _non_finite(x, *non_finite_stats(x, threads=threads), what, class_axis)
    bad = ~np.isfinite(x)
    return _non_finite(x, int(np.count_nonzero(bad)), int(np.argmax(bad)), what, class_axis)


def _non_finite(x: np.ndarray, n: int, flat: int, what: str, class_axis: int) -> list[str]:
    """The warning for ``n`` non-finite values of ``x``, the first at flat C-order ``flat``."""
    if not n:
        return []
    first = tuple(int(i) for i in np.unravel_index(flat, np.shape(x)))
    where = _place(first, class_axis)
    return [f"{what} hold {plural(n, 'non-finite value')} (first at {where}: {x[first]})"]


def scan_in_pass(x: object) -> bool:
    """Whether the checks of ``x`` are left to the blocked pass that computes on it
    (a :class:`~xent_cli.blocks.NonFiniteScan`, or every check of a :class:`PassChecks`,
    given as its ``scan=``): for the inputs the core computes block by block, which are then
    read once, not twice. The warnings are then :func:`non_finite_after_pass`'s (or
    :meth:`PassChecks.messages`), the same words and figures as :func:`check_inputs`'."""
    return bool(np.ndim(x)) and _big(x)


def non_finite_after_pass(
    x: np.ndarray, scan: NonFiniteScan, what: str = "logits", *, class_axis: int = 1
) -> list[str]:
    """:func:`non_finite_input`'s warning, from what a blocked pass's ``scan`` counted.

    >>> from xent_cli.blocks import NonFiniteScan, softmax_blocked
    >>> x = np.array([[0.0, 1.0], [1.0, np.nan]])
    >>> scan = NonFiniteScan()
    >>> _ = softmax_blocked(x, 1, block_rows=1, scan=scan)
    >>> non_finite_after_pass(x, scan) == non_finite_input(x)
    True
    """
    n, flat = scan.result()
    return _non_finite(x, n, flat, what, class_axis)


def probabilities(
    x: np.ndarray,
    class_axis: int,
    what: str,
    *,
    threads: int | None = None,
    blocked: bool | None = None,
) -> list[str]:
    """Warnings for probabilities (``--input-kind probs`` input, or probability targets) that
    lie outside [0, 1] or whose rows do not sum to 1 (tolerance 1e-6); torch uses them as given.

    >>> probabilities(np.array([[0.5, 0.5], [0.5, 0.6]]), 1, "probability targets")
    ['probability targets of 1 sample do not sum to 1 (first: sample 1 sums to 1.1); \
they are used as given']
    """
    if np.ndim(x) and _blocked(x, blocked):
        return _probabilities_blocked(x, class_axis, what, threads)
    arr = np.asarray(x, dtype=np.float64)
    rows = np.moveaxis(arr, class_axis, -1).reshape(-1, arr.shape[class_axis])
    out = []
    with np.errstate(invalid="ignore"):
        outside = (rows < 0) | (rows > 1)
    if outside.any():
        r, c = _first(outside)
        where = f"{_row(r, arr.shape, class_axis)}, class {c}"
        out.append(f"{what} hold values outside [0, 1] (first at {where}: {rows[r, c]})")
    sums = rows.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        n = int(np.count_nonzero(off))
        first = int(np.argmax(off))
        out.append(
            f"{what} of {n} sample{'s' if n != 1 else ''} do not sum to 1 "
            f"(first: {_row(first, arr.shape, class_axis)} sums to {sums[first]:.6g}); "
            "they are used as given"
        )
    return out


def _probabilities_blocked(
    x: np.ndarray, class_axis: int, what: str, threads: int | None
) -> list[str]:
    from .blocks import probability_stats

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
    target: np.ndarray | None,
    *,
    input_kind: str = "logits",
    targets_kind: str | None = "index",
    class_axis: int = 1,
    threads: int | None = None,
    blocked: bool | None = None,
    in_pass: bool = False,
) -> list[str]:
    """Every input warning: non-finite logits, bad probabilities (input or targets).

    Big or memory-mapped arrays are checked block by block, in bounded memory, on
    ``threads`` threads (``blocked=None``: decided by size). ``in_pass=True`` leaves out every
    check a :class:`PassChecks` makes in the pass instead (its :meth:`~PassChecks.messages`),
    for a caller whose pass reads big ``x`` (:func:`scan_in_pass`).
    """
    axis = normalize_class_axis(np.ndim(x), class_axis)
    opts = {"threads": threads, "blocked": blocked}
    out = []
    if not in_pass:
        out += non_finite_input(x, input_name(input_kind), class_axis=axis, **opts)
    if input_kind == "probs" and not in_pass:
        out += probabilities(x, axis, "input probabilities", **opts)
    if in_pass and _targets_view(x, target, targets_kind, axis) is not None:
        return out
    if target is not None and targets_kind == "prob":
        out += non_finite_input(target, "probability targets", class_axis=axis, **opts)
        out += probabilities(target, axis, "probability targets", **opts)
    return out


def _targets_view(
    x: np.ndarray, target: object, targets_kind: str | None, axis: int
) -> np.ndarray | None:
    """Probability targets as the ``(P, C, S)`` view a pass over ``x`` reads, or ``None``:
    none, or not viewable so without a copy (their checks are then made before the pass)."""
    if targets_kind != "prob" or not isinstance(target, np.ndarray):
        return None
    if target.shape != np.shape(x) or target.dtype.kind not in "fiu":
        return None
    from ._kernel_run import reshaped

    shape = target.shape
    size = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    return reshaped(target, (int(np.prod(shape[:axis], dtype=np.int64)), shape[axis], size))


class PassChecks:
    """The input checks of :func:`check_inputs` made by the blocked pass that computes on big
    ``x`` (:func:`scan_in_pass`), so that the inputs are read once: NaN and ±inf in ``x``,
    and with ``input_kind="probs"`` its probabilities (values outside [0, 1], rows off 1);
    for probability targets, the same two checks of the targets. :attr:`scan` goes to the
    pass as ``scan=`` (``None``: nothing to check); :meth:`messages`, after the pass, are
    ``check_inputs``' warnings, the same words, figures and order (``check_inputs(...,
    in_pass=True)`` gives the others, before the pass).

    >>> from xent_cli.blocks import evaluate_blocked
    >>> q = np.array([[0.5, 0.6], [1.5, -0.5], [np.nan, 1.0]])
    >>> checks = PassChecks(q, np.array([0, 1, 1]), input_kind="probs")
    >>> _ = evaluate_blocked(q, [0, 1, 1], input_kind="probs", block_rows=1, scan=checks.scan)
    >>> checks.messages() == check_inputs(q, [0, 1, 1], input_kind="probs")
    True
    """

    def __init__(
        self,
        x: np.ndarray,
        target: np.ndarray | None,
        *,
        input_kind: str = "logits",
        targets_kind: str | None = "index",
        class_axis: int = 1,
    ) -> None:
        from ._kernel_checks import NonFiniteScan, ProbabilityScan

        self.x, self.target, self.input_kind = x, target, input_kind
        self.axis = axis = normalize_class_axis(np.ndim(x), class_axis)
        self.finite = NonFiniteScan() if x.dtype.kind == "f" else None
        self.probs = ProbabilityScan() if input_kind == "probs" else None
        t3 = _targets_view(x, target, targets_kind, axis)
        self.t_finite = NonFiniteScan(t3) if t3 is not None and t3.dtype.kind == "f" else None
        self.t_probs = ProbabilityScan(t3) if t3 is not None else None

    @property
    def scan(self) -> object | None:
        """The ``scan=`` of the pass: every check in one, or ``None`` when there is none."""
        from ._kernel_checks import Scans

        found = [s for s in (self.finite, self.probs, self.t_finite, self.t_probs) if s]
        return None if not found else found[0] if len(found) == 1 else Scans(*found)

    def messages(self) -> list[str]:
        """The warnings, once the pass has run (as :func:`check_inputs` orders them)."""
        x, t, axis = self.x, self.target, self.axis
        out = []
        if self.finite is not None:
            what = input_name(self.input_kind)
            out += non_finite_after_pass(x, self.finite, what, class_axis=axis)
        if self.probs is not None:
            out += _probability_words(self.probs.result(), x, axis, "input probabilities")
        if self.t_finite is not None:
            n, flat = self.t_finite.result()
            out += _non_finite(t, n, flat, "probability targets", axis)
        if self.t_probs is not None:
            out += _probability_words(self.t_probs.result(), t, axis, "probability targets")
        return out


def input_name(input_kind: str) -> str:
    """What the input's warnings call it: ``logits``, ``probabilities``, ``log-probabilities``."""
    return {"logits": "logits", "probs": "probabilities", "logprobs": "log-probabilities"}[
        input_kind
    ]


def _non_finite_count(flat: np.ndarray, part: int = 1 << 20) -> tuple[int, int]:
    """How many of ``flat`` are NaN or ±inf, and the first's position (-1: none), looked at
    a slice at a time (a big input's per-sample losses are on disk: no mask of them all)."""
    n, first = 0, -1
    for start in range(0, flat.size, part):
        bad = ~np.isfinite(flat[start : start + part])
        k = int(np.count_nonzero(bad))
        if k and first < 0:
            first = start + int(np.argmax(bad))
        n += k
    return n, first


def result(res: LossResult) -> list[str]:
    """Warnings for a non-finite loss: where the first bad sample is, or why a mean is NaN.

    >>> from xent_cli.core import evaluate
    >>> result(evaluate(np.array([[0.0, 1.0], [np.nan, 1.0]]), [0, 1], reduction="none"))
    ['the loss is not finite: 1 sample loss is nan or inf (first: sample 1 = nan)']
    """
    per = np.asarray(res.per_sample)
    n, flat_first = _non_finite_count(per.reshape(-1))
    if n:
        first = tuple(int(i) for i in np.unravel_index(flat_first, per.shape)) if per.ndim else ()
        where = _sample(first or (0,))  # 0-d: the one sample of a 1-D input
        value = per[first] if per.ndim else per
        return [
            f"the loss is not finite: {n} sample loss{'es are' if n != 1 else ' is'} "
            f"nan or inf (first: {where} = {value})"
        ]
    if res.reduction == "mean" and res.weight_sum == 0.0:
        if res.count == 0:
            return ["no targets to average (all ignored, or no samples): the mean is nan, as torch"]
        return ["the targets' weights sum to 0: the mean is 0/0 = nan, as torch"]
    return []


__all__ = [
    "PassChecks",
    "check_inputs",
    "input_name",
    "non_finite_after_pass",
    "non_finite_input",
    "probabilities",
    "result",
    "scan_in_pass",
]
