"""Shape and target validation: from (input shape, target, options) to flat, checked rows.

The class axis is moved last and everything else flattened, so that the loss is computed on
``(M, C)`` rows whatever the input's rank; :class:`Targets` remembers how to undo that.
Errors are ``ValueError`` with one line that says what was found and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

TARGETS_KINDS = ("auto", "index", "prob")
_SUM_PART = 1 << 18  # samples summed at a time by Targets.weight_sum (6 MB of temporaries)


def normalize_class_axis(ndim: int, class_axis: int = 1) -> int:
    """The class axis of an ``ndim``-dimensional input as a non-negative index.

    1-D input (one sample) always has its classes on axis 0, as in torch.

    >>> normalize_class_axis(3, -1), normalize_class_axis(1, 1)
    (2, 0)
    """
    if ndim == 0:
        raise ValueError("input is a single number; expected at least one axis of classes")
    if ndim == 1:
        return 0
    if not -ndim <= class_axis < ndim:
        raise ValueError(
            f"class axis {class_axis} is out of range for a {ndim}-D input "
            f"(expected {-ndim}..{ndim - 1})"
        )
    return class_axis % ndim


def _where(flat: int, batch_shape: tuple[int, ...]) -> str:
    """Position of flat sample ``flat``: ``index 3`` or ``position (0, 2, 1)``."""
    if len(batch_shape) <= 1:
        return f"index {flat}"
    coords = tuple(int(c) for c in np.unravel_index(flat, batch_shape))
    return f"position {coords}"


@dataclass(frozen=True)
class Targets:
    """Checked targets, flattened to ``M`` rows, and how to map rows back to the input."""

    input_shape: tuple[int, ...]
    class_axis: int
    index: np.ndarray | None  # (M,) int64 class indices, or None for probability targets
    prob: np.ndarray | None  # (M, C) probability targets, or None
    valid: np.ndarray  # (M,) bool: not ignored
    weight: np.ndarray | None  # (C,) float64 class weights
    sample_weight: np.ndarray | None  # (M,) float64

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The input's shape without the class axis (the shape of ``reduction='none'``)."""
        s = self.input_shape
        return s[: self.class_axis] + s[self.class_axis + 1 :]

    @property
    def n_classes(self) -> int:
        """C, the length of the class axis."""
        return self.input_shape[self.class_axis]

    @property
    def n_rows(self) -> int:
        """M, the number of samples (N × d1 × … × dk)."""
        return int(np.prod(self.batch_shape, dtype=np.int64))

    @property
    def effective_weight(self) -> np.ndarray:
        """Each row's share of the mean's divisor: ``w[y]`` (0 if ignored) or 1, × sample weight."""
        return self.effective_weight_of(0, self.n_rows)

    def effective_weight_of(self, m0: int, m1: int) -> np.ndarray:
        """:attr:`effective_weight` of samples ``m0:m1`` only (element-wise: the same values)."""
        if self.index is not None:
            valid = self.valid[m0:m1]
            safe = np.where(valid, self.index[m0:m1], 0)
            eff = self.weight[safe] if self.weight is not None else np.ones(m1 - m0)
            eff = np.where(valid, eff, 0.0)
        else:
            eff = np.ones(m1 - m0)
        if self.sample_weight is not None:
            eff = eff * self.sample_weight[m0:m1]
        return eff

    def weight_sum(self) -> float:
        """The sum of :attr:`effective_weight` (float64), the mean's divisor, with no
        per-sample temporaries: without weights the count of targets used, exactly; with
        them ``np.sum`` of 2^18 samples at a time (for fewer samples exactly
        ``np.sum(effective_weight)``), the slices' sums added exactly (``math.fsum``)."""
        if self.weight is None and self.sample_weight is None:
            used = np.count_nonzero(self.valid) if self.index is not None else self.n_rows
            return float(used)
        n = self.n_rows
        parts = [
            float(np.sum(self.effective_weight_of(m, min(m + _SUM_PART, n)), dtype=np.float64))
            for m in range(0, n, _SUM_PART)
        ]
        return math.fsum(parts)

    def rows(self, x: np.ndarray) -> np.ndarray:
        """The input as ``(M, C)`` rows (class axis last, the rest flattened)."""
        return np.moveaxis(x, self.class_axis, -1).reshape(-1, self.n_classes)

    def unrows(self, rows: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`rows`: ``(M, C)`` back to the input's shape."""
        moved = rows.reshape(self.batch_shape + (self.n_classes,))
        return np.moveaxis(moved, -1, self.class_axis)


def class_indices(
    target: np.ndarray, n_classes: int, ignore_index: int, batch_shape: tuple[int, ...]
) -> np.ndarray:
    """Check that ``target`` holds class indices in ``0..C-1`` (or ``ignore_index``).

    Integer-valued floats such as ``1.0`` are accepted; NaN, fractions, strings and
    out-of-range labels are errors naming the first offender. The checks go a million
    labels at a time (their temporaries stay small), and int64 labels are returned as they
    are (a memory-mapped file stays one); others become int64 (on disk when big and the
    labels are: :func:`xent_cli._spill.empty`).

    >>> class_indices(np.array([1.0, 2.0, -100.0]), 3, -100, (3,)).tolist()
    [1, 2, -100]
    """
    return _checked_indices(target, n_classes, ignore_index, batch_shape)[0]


def _checked_indices(
    target: np.ndarray, n_classes: int, ignore_index: int, batch_shape: tuple[int, ...]
) -> tuple[np.ndarray, bool]:
    """:func:`class_indices`, and whether its range check found every label a class (then
    no sample can hold an ignore index outside the classes: :func:`valid_mask` needs no
    pass of its own)."""
    flat = target.reshape(-1)
    if flat.dtype.kind in "US":
        raise ValueError(
            f"target {flat[0].item()!r} is not a class index; give the class names with --classes"
        )
    if flat.dtype.kind == "b" or flat.dtype.kind not in "fiu":
        raise ValueError(f"targets must be class indices (integers), got dtype {flat.dtype}")
    if flat.dtype.kind == "f":
        i = _first(flat, lambda part: ~np.isfinite(part))
        if i is not None:
            where = _where(i, batch_shape)
            raise ValueError(f"target at {where} is {flat[i].item()}; expected a class index")
        i = _first(flat, lambda part: part != np.round(part))
        if i is not None:
            where = _where(i, batch_shape)
            raise ValueError(
                f"target at {where} is {flat[i].item()!r}; expected an integer class index"
            )
    # Range-check before casting, so that 1e30 is reported as 1e30, not as a wrapped int64.
    # Two reductions settle the usual case (every label in range) without a mask.
    in_range = flat.size and flat.dtype.kind in "iu" and flat.min() >= 0 and flat.max() < n_classes
    if not in_range:
        i = _first(flat, lambda part: (part != ignore_index) & ((part < 0) | (part >= n_classes)))
        if i is not None:
            value = flat[i].item()
            k = int(value) if abs(value) < 2**63 else value
            hint = ""
            if k == n_classes and _first(flat, lambda part: part == 0) is None:
                hint = f"; labels look 1-based: use 0..{n_classes - 1}"
            elif k < 0:
                hint = f"; to skip such targets pass --ignore-index {k}"
            raise ValueError(
                f"Target {k} is out of bounds at {_where(i, batch_shape)}: {n_classes} classes, "
                f"expected 0..{n_classes - 1} or the ignore index {ignore_index}{hint}"
            )
    if flat.dtype == np.int64 and flat.dtype.isnative:
        return flat, bool(in_range)
    from . import _spill

    out = _spill.empty(flat.size, np.int64, "the targets as int64", spill=_spill.on_disk(flat))
    np.copyto(out, flat, casting="unsafe")  # integers, or integer-valued floats in range
    return out, bool(in_range)


_PART = 1 << 20  # labels checked at a time


def _first(flat: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> int | None:
    """The first position where ``test`` (elementwise, on a slice) is true, or None."""
    for start in range(0, flat.size, _PART):
        hit = test(flat[start : start + _PART])
        if hit.any():
            return start + int(np.argmax(hit))
    return None


def valid_mask(
    index: np.ndarray, ignore_index: int, n_classes: int, *, all_classes: bool = False
) -> np.ndarray:
    """Which samples count (their target is not ``ignore_index``), for checked ``index``;
    ``all_classes``: every index is already known to be a class (``0..C-1``).

    When none is ignored (the usual case, settled by one reduction when the ignore index is
    outside the classes, by none with ``all_classes``) this is a read-only all-True view
    that takes no memory; otherwise a bool vector (on disk when big).

    >>> valid_mask(np.array([2, -100, 0]), -100, 3).tolist()
    [True, False, True]
    """
    if not index.size:
        return np.ones(0, bool)
    if all_classes and not 0 <= ignore_index < n_classes:
        none_ignored = True
    elif ignore_index < 0:
        none_ignored = index.min() >= 0
    elif ignore_index >= n_classes:
        none_ignored = index.max() < n_classes
    else:
        none_ignored = _first(index, lambda part: part == ignore_index) is None
    if none_ignored:
        return np.broadcast_to(np.True_, index.shape)
    from . import _spill

    spill = _spill.on_disk(index)
    valid = _spill.empty(index.size, bool, "which targets count", spill=spill)
    valid = valid.reshape(index.shape)
    np.not_equal(index, ignore_index, out=valid)
    return valid


def check_vector(values: npt.ArrayLike, length: int, what: str, per: str) -> np.ndarray:
    """``values`` as a finite float64 vector of ``length`` (one per class or per sample).

    >>> check_vector([1, 2], 2, "weight", "class").tolist()
    [1.0, 2.0]
    """
    given = values if isinstance(values, np.ndarray) else np.asarray(values)
    if given.size != length:
        raise ValueError(f"{what} has {given.size} values, expected one per {per} ({length})")
    if given.dtype == np.float64 and given.dtype.isnative:
        arr = given.reshape(-1)  # a memory-mapped file stays one
    else:
        from . import _spill

        spill = _spill.on_disk(given)  # on disk when big and the given values are
        arr = _spill.empty(given.size, np.float64, what + "s", spill=spill)
        np.copyto(arr, given.reshape(-1), casting="unsafe")
    if _first(arr, lambda part: ~np.isfinite(part)) is not None:
        raise ValueError(f"{what} holds a non-finite value; expected finite numbers")
    return arr


def resolve_kind(input_shape: tuple[int, ...], target_shape: tuple[int, ...], kind: str) -> str:
    """``index`` or ``prob``: ``auto`` picks ``prob`` exactly when the shapes are equal (torch)."""
    if kind not in TARGETS_KINDS:
        raise ValueError(f"targets kind must be auto, index or prob; got {kind!r}")
    if kind == "auto":
        return "prob" if tuple(target_shape) == tuple(input_shape) else "index"
    return kind


def prepare_targets(
    input_shape: tuple[int, ...],
    target: npt.ArrayLike,
    *,
    class_axis: int = 1,
    weight: npt.ArrayLike | None = None,
    ignore_index: int = -100,
    sample_weight: npt.ArrayLike | None = None,
    targets_kind: str = "auto",
) -> Targets:
    """Validate ``target`` (and weights) against an input of ``input_shape``.

    >>> t = prepare_targets((3, 4), [1, 2, 3])
    >>> t.batch_shape, t.n_classes, t.index.tolist()
    ((3,), 4, [1, 2, 3])
    """
    shape = tuple(int(s) for s in input_shape)
    axis = normalize_class_axis(len(shape), class_axis)
    n_classes = shape[axis]
    if n_classes == 0:
        raise ValueError(f"input of shape {shape} has no classes on axis {axis}")
    tgt = np.asarray(target)
    kind = resolve_kind(shape, tgt.shape, targets_kind)
    batch_shape = shape[:axis] + shape[axis + 1 :]
    n_rows = int(np.prod(batch_shape, dtype=np.int64))
    w = None if weight is None else check_vector(weight, n_classes, "weight", "class")
    sw = None
    if sample_weight is not None:
        sw = check_vector(sample_weight, n_rows, "sample weight", "sample")
    if kind == "prob":
        if tgt.shape != shape:
            raise ValueError(
                f"probability targets have shape {tgt.shape}, expected the input's shape {shape}"
            )
        if tgt.dtype.kind not in "fiu" or tgt.dtype.kind == "b":
            raise ValueError(f"probability targets must be numbers, got dtype {tgt.dtype}")
        prob = np.moveaxis(tgt, axis, -1).reshape(-1, n_classes)
        return Targets(shape, axis, None, prob, np.ones(n_rows, bool), w, sw)
    if tgt.shape != batch_shape and not (len(shape) == 1 and tgt.shape == (1,)):
        raise ValueError(_shape_message(shape, axis, tgt.shape, batch_shape))
    idx, all_classes = _checked_indices(tgt, n_classes, ignore_index, batch_shape)
    valid = valid_mask(idx, ignore_index, n_classes, all_classes=all_classes)
    return Targets(shape, axis, idx, None, valid, w, sw)


def _shape_message(
    shape: tuple[int, ...], axis: int, got: tuple[int, ...], expected: tuple[int, ...]
) -> str:
    msg = (
        f"targets have shape {got} but the input {shape} with classes on axis {axis} "
        f"needs class indices of shape {expected} (or probabilities of shape {shape})"
    )
    for other in range(len(shape)):
        if other != axis and got == shape[:other] + shape[other + 1 :]:
            msg += f"; the targets fit classes on axis {other}: try --class-axis {other}"
            break
    return msg
