"""The checks behind the targets: class indices in range, which samples count, weight
vectors, the class axis, a slice of ``vector_part`` values at a time (no full-size copy),
with errors (:class:`~xent_cli.errors.InputError`) naming the first offender where messages,
tables and JSON all name a sample (:func:`position`, :func:`position_label`). A vector of one
value per sample is made by the caller's ``empty`` (:class:`Empty`; on disk for big
memory-mapped data: :func:`xent_cli.engine.spill.empty_like`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from ..errors import InputError
from ..limits import current


def position(flat: int, batch_shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """Sample ``flat``'s index in ``batch_shape``: an int when there is at most one batch
    axis, else a tuple of coordinates.

    >>> position(5, (7,)), position(5, (2, 3)), position(0, ())
    (5, (1, 2), 0)
    """
    if len(batch_shape) <= 1:
        return int(flat)
    return tuple(int(c) for c in np.unravel_index(int(flat), batch_shape))


def position_label(pos: int | tuple[int, ...] | list[int], sep: str = ", ") -> str:
    """A position as written: ``3``, or ``(0, 2, 1)`` (``sep`` between the coordinates).

    >>> position_label(3), position_label((0, 2)), position_label([0, 2, 1], sep=",")
    ('3', '(0, 2)', '(0,2,1)')
    """
    if isinstance(pos, (tuple, list)):
        return "(" + sep.join(str(int(c)) for c in pos) + ")"
    return str(int(pos))


class Empty(Protocol):
    """Makes an uninitialised vector of ``n`` values, named ``what`` in its errors, for data
    made from the array (or tuple of arrays) ``like``."""

    def __call__(
        self, n: int, dtype: np.typing.DTypeLike, what: str, like: object
    ) -> np.ndarray: ...


def in_memory(n: int, dtype: np.typing.DTypeLike, what: str, like: object) -> np.ndarray:
    """The default :class:`Empty`: ``np.empty(n, dtype)``.

    >>> in_memory(3, np.int64, "labels", None).shape
    (3,)
    """
    return np.empty(int(n), dtype)


def normalize_class_axis(ndim: int, class_axis: int = 1) -> int:
    """The class axis of an ``ndim``-dimensional input as a non-negative index.

    1-D input (one sample) always has its classes on axis 0, as in torch.

    >>> normalize_class_axis(3, -1), normalize_class_axis(1, 1)
    (2, 0)
    """
    if ndim == 0:
        raise InputError("input is a single number; expected at least one axis of classes")
    if ndim == 1:
        return 0
    if not -ndim <= class_axis < ndim:
        raise InputError(
            f"class axis {class_axis} is out of range for a {ndim}-D input "
            f"(expected {-ndim}..{ndim - 1})"
        )
    return class_axis % ndim


def _where(flat: int, batch_shape: tuple[int, ...]) -> str:
    """Position of flat sample ``flat``: ``index 3`` or ``position (0, 2, 1)``."""
    pos = position(flat, batch_shape)
    return f"index {pos}" if isinstance(pos, int) else f"position {position_label(pos)}"


def parts(flat: np.ndarray, size: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, slice)`` of a 1-D vector, ``size`` values at a time (``vector_part``).

    >>> [(s, p.tolist()) for s, p in parts(np.arange(5), 2)]
    [(0, [0, 1]), (2, [2, 3]), (4, [4])]
    """
    step = size or current().vector_part
    for start in range(0, flat.size, step):
        yield start, flat[start : start + step]


def first_where(flat: np.ndarray, test: Callable[[np.ndarray], np.ndarray]) -> int | None:
    """The first position where ``test`` (elementwise, on a slice) is true, or None.

    >>> first_where(np.array([3, -1, 2, -5]), lambda part: part < 0)
    1
    """
    for start, part in parts(flat):
        hit = test(part)
        if hit.any():
            return start + int(np.argmax(hit))
    return None


def class_indices(
    target: np.ndarray,
    n_classes: int,
    ignore_index: int,
    batch_shape: tuple[int, ...],
    empty: Empty = in_memory,
) -> np.ndarray:
    """Check that ``target`` holds class indices in ``0..C-1`` (or ``ignore_index``).

    Integer-valued floats such as ``1.0`` are accepted; NaN, fractions, strings and
    out-of-range labels are errors naming the first offender. The checks go ``vector_part``
    labels at a time (their temporaries stay small), and int64 labels are returned as they
    are (a memory-mapped file stays one); others become int64 (made by ``empty``).

    >>> class_indices(np.array([1.0, 2.0, -100.0]), 3, -100, (3,)).tolist()
    [1, 2, -100]
    """
    return checked_indices(target, n_classes, ignore_index, batch_shape, empty)[0]


def checked_indices(
    target: np.ndarray,
    n_classes: int,
    ignore_index: int,
    batch_shape: tuple[int, ...],
    empty: Empty,
) -> tuple[np.ndarray, bool]:
    """:func:`class_indices`, and whether its range check found every label a class (then
    no sample can hold an ignore index outside the classes: :func:`valid_mask` needs no
    pass of its own)."""
    flat = target.reshape(-1)
    if flat.dtype.kind in "US":
        raise InputError(
            f"target {flat[0].item()!r} is not a class index; give the class names with --classes"
        )
    if flat.dtype.kind == "b" or flat.dtype.kind not in "fiu":
        raise InputError(f"targets must be class indices (integers), got dtype {flat.dtype}")
    if flat.dtype.kind == "f":
        i = first_where(flat, lambda part: ~np.isfinite(part))
        if i is not None:
            where = _where(i, batch_shape)
            raise InputError(f"target at {where} is {flat[i].item()}; expected a class index")
        i = first_where(flat, lambda part: part != np.round(part))
        if i is not None:
            where = _where(i, batch_shape)
            raise InputError(
                f"target at {where} is {flat[i].item()!r}; expected an integer class index"
            )
    # Range-check before casting, so that 1e30 is reported as 1e30, not as a wrapped int64.
    # Two reductions settle the usual case (every label in range) without a mask.
    in_range = bool(
        flat.size and flat.dtype.kind in "iu" and flat.min() >= 0 and flat.max() < n_classes
    )
    if not in_range:
        out_of_range = first_where(
            flat, lambda part: (part != ignore_index) & ((part < 0) | (part >= n_classes))
        )
        if out_of_range is not None:
            at = out_of_range
            raise InputError(_out_of_range(flat, at, n_classes, ignore_index, batch_shape))
    if flat.dtype == np.int64 and flat.dtype.isnative:
        return flat, in_range
    out = empty(flat.size, np.int64, "the targets as int64", flat)
    np.copyto(out, flat, casting="unsafe")  # integers, or integer-valued floats in range
    return out, in_range


def _out_of_range(
    flat: np.ndarray, i: int, n_classes: int, ignore_index: int, batch_shape: tuple[int, ...]
) -> str:
    """The message for label ``flat[i]``, not a class, with a hint for the usual causes."""
    value = flat[i].item()
    k = int(value) if abs(value) < 2**63 else value
    hint = ""
    if k == n_classes and first_where(flat, lambda part: part == 0) is None:
        hint = f"; labels look 1-based: use 0..{n_classes - 1}"
    elif k < 0:
        hint = f"; to skip such targets pass --ignore-index {k}"
    return (
        f"Target {k} is out of bounds at {_where(i, batch_shape)}: {n_classes} classes, "
        f"expected 0..{n_classes - 1} or the ignore index {ignore_index}{hint}"
    )


def valid_mask(
    index: np.ndarray,
    ignore_index: int,
    n_classes: int,
    *,
    all_classes: bool = False,
    empty: Empty = in_memory,
) -> np.ndarray:
    """Which samples count (their target is not ``ignore_index``), for checked ``index``;
    ``all_classes``: every index is already known to be a class (``0..C-1``).

    When none is ignored (the usual case, settled by one reduction when the ignore index is
    outside the classes, by none with ``all_classes``) this is a read-only all-True view
    that takes no memory; otherwise a bool vector (made by ``empty``).

    >>> valid_mask(np.array([2, -100, 0]), -100, 3).tolist()
    [True, False, True]
    """
    if not index.size:
        return np.ones(0, bool)
    if all_classes and not 0 <= ignore_index < n_classes:
        none_ignored = True
    elif ignore_index < 0:
        none_ignored = bool(index.min() >= 0)
    elif ignore_index >= n_classes:
        none_ignored = bool(index.max() < n_classes)
    else:
        none_ignored = first_where(index, lambda part: part == ignore_index) is None
    if none_ignored:
        return np.broadcast_to(np.True_, index.shape)
    valid = empty(index.size, bool, "which targets count", index).reshape(index.shape)
    np.not_equal(index, ignore_index, out=valid)
    return valid


def check_vector(
    values: np.typing.ArrayLike, length: int, what: str, per: str, empty: Empty = in_memory
) -> np.ndarray:
    """``values`` as a finite float64 vector of ``length`` (one per class or per sample).

    >>> check_vector([1, 2], 2, "weight", "class").tolist()
    [1.0, 2.0]
    """
    given = values if isinstance(values, np.ndarray) else np.asarray(values)
    if given.size != length:
        raise InputError(f"{what} has {given.size} values, expected one per {per} ({length})")
    if given.dtype == np.float64 and given.dtype.isnative:
        arr = given.reshape(-1)  # a memory-mapped file stays one
    else:
        arr = empty(given.size, np.float64, what + "s", given)
        np.copyto(arr, given.reshape(-1), casting="unsafe")
    if first_where(arr, lambda part: ~np.isfinite(part)) is not None:
        raise InputError(f"{what} holds a non-finite value; expected finite numbers")
    return arr
