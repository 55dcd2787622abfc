"""The targets and rows of one block of samples, for the blocked passes (:mod:`.blocks`).

Checking the targets of a big input without copying them (probability targets are
validated on a zero-stride stand-in, their values by the passes' scans), the targets and
``(n, C)`` rows of a block, and the samples ``explain`` shows of a big input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._kernel_run import Block, Plan, as_numeric, reshaped, view3
from .core import compute_dtype
from .targets import Targets, normalize_class_axis, prepare_targets, resolve_kind

__all__ = [
    "block_rows_of",
    "block_targets",
    "check_targets",
    "safe_index",
    "sample_rows",
    "targets_of",
]


def targets_of(
    shape: tuple[int, ...], target: npt.ArrayLike, **kw: object
) -> tuple[Targets, np.ndarray | None]:
    """Checked targets, and for probability targets their ``(P, C, S)`` view (not copied).

    Probability targets are validated on a zero-stride stand-in of their dtype, so that
    ``prepare_targets`` (which flattens them) never copies a big array.
    """
    tgt = target if isinstance(target, np.ndarray) else np.asarray(target)
    kind = resolve_kind(shape, tgt.shape, str(kw.get("targets_kind", "auto")))
    if kind == "prob" and tgt.shape == tuple(shape):
        stand_in = np.broadcast_to(np.zeros((), tgt.dtype), shape)
        t = prepare_targets(shape, stand_in, **kw)
        return t, view3(tgt, t.class_axis)
    return prepare_targets(shape, tgt, **kw), None


def check_targets(
    input_shape: tuple[int, ...],
    target: npt.ArrayLike,
    *,
    class_axis: int = 1,
    weight: npt.ArrayLike | None = None,
    ignore_index: int = -100,
    sample_weight: npt.ArrayLike | None = None,
    targets_kind: str = "auto",
) -> Targets:
    """``prepare_targets`` (same checks, same errors) that never copies probability targets:
    they are checked for shape and dtype only (their values by ``diagnose``, block-wise).

    The returned ``Targets`` holds a zero-stride stand-in for probability targets.

    >>> check_targets((4, 3), np.zeros((4, 3), np.float32)).n_rows
    4
    """
    return targets_of(
        tuple(input_shape),
        target,
        class_axis=class_axis,
        weight=weight,
        ignore_index=ignore_index,
        sample_weight=sample_weight,
        targets_kind=targets_kind,
    )[0]


def sample_rows(
    x: npt.ArrayLike, class_axis: int, start: int, stop: int, dtype: str | None = None
) -> np.ndarray:
    """Samples ``start:stop`` of ``x`` as ``(n, C)`` rows in the compute precision, read
    without touching the rest (what ``explain`` shows of a big input).

    >>> sample_rows(np.arange(24.0).reshape(2, 3, 4), 1, 3, 5).tolist()
    [[3.0, 7.0, 11.0], [12.0, 16.0, 20.0]]
    """
    arr = as_numeric(x)
    axis = normalize_class_axis(arr.ndim, class_axis)
    x3 = view3(arr, axis)
    m = np.arange(max(0, start), min(stop, x3.shape[0] * x3.shape[2]))
    rows = x3[m // x3.shape[2], :, m % x3.shape[2]]
    return rows.astype(compute_dtype(arr.dtype, dtype))


def block_targets(t: Targets, prob3: np.ndarray | None, plan: Plan, block: Block) -> Targets:
    """The targets of the samples of one block, as a ``Targets`` of ``(n, C)`` rows."""
    m0, m1 = plan.span(block)
    n, c = m1 - m0, plan.n_classes
    prob = None
    if prob3 is not None:
        p0, p1, s0, s1 = block
        prob = np.reshape(prob3[p0:p1, :, s0:s1].transpose(0, 2, 1), (n, c))
    index = None if t.index is None else t.index[m0:m1]
    sw = None if t.sample_weight is None else t.sample_weight[m0:m1]
    return Targets((n, c), 1, index, prob, t.valid[m0:m1], t.weight, sw)


def safe_index(t: Targets, m0: int, m1: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Class indices of samples ``m0:m1`` safe to gather with (0 where ignored), and the
    ignored samples' mask (``None`` when none is ignored)."""
    y, valid = t.index[m0:m1], t.valid[m0:m1]
    if valid.all():
        return y, None
    ignored = ~valid
    return np.where(ignored, 0, y), ignored


def block_rows_of(plan: Plan, block: Block, xs: np.ndarray) -> np.ndarray:
    """A block's ``(n, C)`` rows in the compute precision, laid out as the core's: ``xs`` in
    the rows layout, else the input's own rows (no copy) or a transposed copy of ``xs``."""
    if not plan.col:
        return xs
    p0, p1, s0, s1 = block
    src = reshaped(plan.x3[p0:p1, :, s0:s1].transpose(0, 2, 1), (xs.shape[1], xs.shape[0]))
    ok = src is not None and src.dtype == xs.dtype and src.flags.c_contiguous
    return src if ok else np.ascontiguousarray(xs.T)
