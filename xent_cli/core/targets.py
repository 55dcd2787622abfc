"""Targets, checked against the input's shape: from (input shape, target, options) to rows.

The class axis is moved last and the rest flattened: the loss is computed on ``(M, C)``
rows whatever the input's rank, and the targets know how to undo that. Class indices and
probabilities are two types, :class:`IndexTargets` and :class:`ProbTargets`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NoReturn

import numpy as np

from ..errors import InputError
from ..limits import current
from ..spec import LossSpec
from .checks import (
    Empty,
    check_vector,
    checked_indices,
    in_memory,
    normalize_class_axis,
    valid_mask,
)


@dataclass(eq=False)
class _Rows:
    """What both kinds of targets know: the input's shape and how its rows are laid out,
    and the weights (class weights ``(C,)``, sample weights ``(M,)``, float64). Frozen: set
    once, by ``__init__`` (start-up: ``frozen=True`` costs ~0.5 ms more per class to make)."""

    input_shape: tuple[int, ...]
    class_axis: int
    weight: np.ndarray | None
    sample_weight: np.ndarray | None

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.__dict__ or name not in self.__dataclass_fields__:
            raise AttributeError(f"cannot assign to field {name!r}: targets are frozen")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}: targets are frozen")

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

    def rows(self, x: np.ndarray) -> np.ndarray:
        """An array of the input's shape as ``(M, C)`` rows (class axis last, the rest flat)."""
        return np.moveaxis(x, self.class_axis, -1).reshape(-1, self.n_classes)

    def unrows(self, rows: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`rows`: ``(M, C)`` back to the input's shape."""
        moved = rows.reshape(self.batch_shape + (self.n_classes,))
        return np.moveaxis(moved, -1, self.class_axis)

    def class_weight_of(self, m0: int, m1: int) -> np.ndarray | None:
        """Each sample's class weight ``w[y]`` (index targets with weights; else None)."""
        return None

    @property
    def effective_weight(self) -> np.ndarray:
        """Each sample's share of the mean's divisor (see :meth:`effective_weight_of`)."""
        return self.effective_weight_of(0, self.n_rows)

    def effective_weight_of(self, m0: int, m1: int) -> np.ndarray:
        """Each of samples ``m0:m1``'s share of the mean's divisor: ``w[y]`` (0 if ignored)
        or 1, times the sample weight."""
        eff = self.class_weight_of(m0, m1)
        if eff is None:
            eff = np.asarray(self.valid_of(m0, m1), dtype=np.float64)
        if self.sample_weight is not None:
            eff = eff * self.sample_weight[m0:m1]
        return eff

    def valid_of(self, m0: int, m1: int) -> np.ndarray:
        """Which of samples ``m0:m1`` count (every one, unless ignored)."""
        return np.broadcast_to(np.True_, (m1 - m0,))

    def weight_sum(self) -> float:
        """The mean's divisor, the sum of the effective weights (float64), with no
        per-sample temporaries: without weights the count of targets used, exactly; with
        them ``np.sum`` of ``sum_part`` samples at a time, the partial sums added exactly
        (``math.fsum``)."""
        n, step = self.n_rows, current().sum_part
        if self.weight is None and self.sample_weight is None:
            return float(np.count_nonzero(self.valid_of(0, n)))
        sums = [
            float(np.sum(self.effective_weight_of(m, min(m + step, n)), dtype=np.float64))
            for m in range(0, n, step)
        ]
        return math.fsum(sums)


@dataclass(eq=False)
class IndexTargets(_Rows):
    """Checked class indices: ``index`` ``(M,)`` int64 (the ignore index where ignored) and
    ``valid`` ``(M,)`` bool, which samples count."""

    index: np.ndarray
    valid: np.ndarray

    def valid_of(self, m0: int, m1: int) -> np.ndarray:
        """Which of samples ``m0:m1`` count (their target is not the ignore index)."""
        return self.valid[m0:m1]

    def class_weight_of(self, m0: int, m1: int) -> np.ndarray | None:
        """``w[y]`` of samples ``m0:m1``, 0 where ignored (None without class weights)."""
        if self.weight is None:
            return None
        valid = self.valid[m0:m1]
        return np.where(valid, self.weight[np.where(valid, self.index[m0:m1], 0)], 0.0)


@dataclass(eq=False)
class ProbTargets(_Rows):
    """Probability targets, ``array`` of the input's shape as given (never copied here)."""

    array: np.ndarray

    @property
    def prob(self) -> np.ndarray:
        """The probabilities as ``(M, C)`` rows (a copy when the layout needs one)."""
        return self.rows(self.array)

    @property
    def valid(self) -> np.ndarray:
        """Every sample counts: a read-only all-True ``(M,)`` view that takes no memory."""
        return self.valid_of(0, self.n_rows)


Targets = IndexTargets | ProbTargets


def resolve_kind(input_shape: tuple[int, ...], target_shape: tuple[int, ...], kind: str) -> str:
    """``index`` or ``prob``: ``auto`` picks ``prob`` exactly when the shapes are equal (torch).

    >>> resolve_kind((3, 4), (3, 4), "auto"), resolve_kind((3, 4), (3,), "auto")
    ('prob', 'index')
    """
    if kind == "auto":
        return "prob" if tuple(target_shape) == tuple(input_shape) else "index"
    return kind


def prepare_targets(
    input_shape: tuple[int, ...],
    target: np.typing.ArrayLike,
    spec: LossSpec | None = None,
    *,
    weight: np.typing.ArrayLike | None = None,
    sample_weight: np.typing.ArrayLike | None = None,
    empty: Empty = in_memory,
) -> Targets:
    """Validate ``target`` (and weights) against an input of ``input_shape``, as ``spec``'s
    ``class_axis``, ``ignore_index`` and ``targets_kind`` say.

    >>> t = prepare_targets((3, 4), [1, 2, 3])
    >>> t.batch_shape, t.n_classes, t.index.tolist()
    ((3,), 4, [1, 2, 3])
    """
    spec = spec or LossSpec()
    shape = tuple(int(s) for s in input_shape)
    axis = normalize_class_axis(len(shape), spec.class_axis)
    n_classes = shape[axis]
    if n_classes == 0:
        raise InputError(f"input of shape {shape} has no classes on axis {axis}")
    tgt = target if isinstance(target, np.ndarray) else np.asarray(target)
    kind = resolve_kind(shape, tgt.shape, spec.targets_kind)
    batch_shape = shape[:axis] + shape[axis + 1 :]
    n_rows = int(np.prod(batch_shape, dtype=np.int64))
    w = None if weight is None else check_vector(weight, n_classes, "weight", "class", empty)
    sw = None
    if sample_weight is not None:
        sw = check_vector(sample_weight, n_rows, "sample weight", "sample", empty)
    if kind == "prob":
        if tgt.shape != shape:
            raise InputError(
                f"probability targets have shape {tgt.shape}, expected the input's shape {shape}"
            )
        if tgt.dtype.kind not in "fiu" or tgt.dtype.kind == "b":
            raise InputError(f"probability targets must be numbers, got dtype {tgt.dtype}")
        return ProbTargets(shape, axis, w, sw, array=tgt)
    if tgt.shape != batch_shape and not (len(shape) == 1 and tgt.shape == (1,)):
        raise InputError(_shape_message(shape, axis, tgt.shape, batch_shape))
    idx, all_classes = checked_indices(tgt, n_classes, spec.ignore_index, batch_shape, empty)
    valid = valid_mask(idx, spec.ignore_index, n_classes, all_classes=all_classes, empty=empty)
    return IndexTargets(shape, axis, w, sw, index=idx, valid=valid)


def with_weights(
    t: Targets, weight: np.ndarray | None, sample_weight: np.ndarray | None
) -> Targets:
    """``t`` with these (checked) weights instead of its own."""
    return replace(t, weight=weight, sample_weight=sample_weight)


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
