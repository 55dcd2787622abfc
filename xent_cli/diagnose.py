"""Warnings about inputs and results that compute, but probably not as the user meant.

Each check returns messages (one line each) and never raises: the CLI prints them on stderr,
or turns them into errors under ``--strict``. NumPy only.
"""

from __future__ import annotations

import numpy as np

from .core import LossResult, _big
from .targets import normalize_class_axis


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def _place(coords: tuple[int, ...]) -> str:
    if len(coords) == 2:
        return f"row {coords[0]}, column {coords[1]}"
    if len(coords) == 1:
        return f"index {coords[0]}"
    return f"position {coords}"


def _blocked(x: object, blocked: bool | None) -> bool:
    """Check block-wise: forced, or for the inputs the core computes block-wise."""
    return _big(x) if blocked is None else blocked


def non_finite_input(
    x: np.ndarray, what: str = "logits", *, threads: int | None = None, blocked: bool | None = None
) -> list[str]:
    """A warning when ``x`` holds NaN or ±inf, with the count and the first place (0-based).

    Big (or memory-mapped) input is scanned block by block (``blocked=None``: by size).

    >>> non_finite_input(np.array([[0.0, np.nan], [1.0, 2.0]]))
    ['logits hold 1 non-finite value (first at row 0, column 1: nan)']
    """
    if np.ndim(x) and _blocked(x, blocked):
        from .blocks import non_finite_stats

        n, flat = non_finite_stats(x, threads=threads)
        if not n:
            return []
        first = tuple(int(i) for i in np.unravel_index(flat, np.shape(x)))
        s = "" if n == 1 else "s"
        return [f"{what} hold {n} non-finite value{s} (first at {_place(first)}: {x[first]})"]
    bad = ~np.isfinite(x)
    n = int(np.count_nonzero(bad))
    if not n:
        return []
    first = _first(bad)
    s = "" if n == 1 else "s"
    return [f"{what} hold {n} non-finite value{s} (first at {_place(first)}: {x[first]})"]


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

    >>> probabilities(np.array([[0.5, 0.6]]), 1, "probability targets")
    ['probability targets of 1 sample do not sum to 1 (first: sample 0 sums to 1.1); \
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
        out.append(
            f"{what} hold values outside [0, 1] (first at sample {r}, class {c}: {rows[r, c]})"
        )
    sums = rows.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        n = int(np.count_nonzero(off))
        first = int(np.argmax(off))
        out.append(
            f"{what} of {n} sample{'s' if n != 1 else ''} do not sum to 1 "
            f"(first: sample {first} sums to {sums[first]:.6g}); they are used as given"
        )
    return out


def _probabilities_blocked(
    x: np.ndarray, class_axis: int, what: str, threads: int | None
) -> list[str]:
    from .blocks import probability_stats

    stats = probability_stats(x, class_axis, threads=threads)
    out = []
    if stats.outside is not None:
        r, c, v = stats.outside
        out.append(f"{what} hold values outside [0, 1] (first at sample {r}, class {c}: {v})")
    if stats.first_off is not None:
        n = stats.n_off
        first, total = stats.first_off
        out.append(
            f"{what} of {n} sample{'s' if n != 1 else ''} do not sum to 1 "
            f"(first: sample {first} sums to {total:.6g}); they are used as given"
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
) -> list[str]:
    """Every input warning: non-finite logits, bad probabilities (input or targets).

    Big or memory-mapped arrays are checked block by block, in bounded memory, on
    ``threads`` threads (``blocked=None``: decided by size).
    """
    axis = normalize_class_axis(np.ndim(x), class_axis)
    what = {"logits": "logits", "probs": "probabilities", "logprobs": "log-probabilities"}
    opts = {"threads": threads, "blocked": blocked}
    out = non_finite_input(x, what[input_kind], **opts)
    if input_kind == "probs":
        out += probabilities(x, axis, "input probabilities", **opts)
    if target is not None and targets_kind == "prob":
        out += non_finite_input(target, "probability targets", **opts)
        out += probabilities(target, axis, "probability targets", **opts)
    return out


def result(res: LossResult) -> list[str]:
    """Warnings for a non-finite loss: where the first bad sample is, or why a mean is NaN."""
    per = np.asarray(res.per_sample)
    bad = ~np.isfinite(per)
    if bad.any():
        n = int(np.count_nonzero(bad))
        first = _first(bad) if per.ndim else ()
        where = f"sample {first[0]}" if len(first) == 1 else f"sample {first}"
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


__all__ = ["check_inputs", "non_finite_input", "probabilities", "result"]
