"""The targets and rows of one block of samples, for the blocked passes (:mod:`.passes`),
and the samples ``explain`` shows of a big input, read without touching the rest.
"""

from __future__ import annotations

import numpy as np

from ..core import (
    IndexTargets,
    ProbTargets,
    Targets,
    as_numeric,
    compute_dtype,
    normalize_class_axis,
)
from .plan import Block, Plan, reshaped, view3


def sample_rows(
    x: np.ndarray, class_axis: int, start: int, stop: int, dtype: str | None = None
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
    """The targets of the samples of one block, as targets of ``(n, C)`` rows
    (``prob3``: probability targets as the ``(P, C, S)`` view the plan reads)."""
    m0, m1 = plan.span(block)
    n, c = m1 - m0, plan.n_classes
    sw = None if t.sample_weight is None else t.sample_weight[m0:m1]
    if isinstance(t, IndexTargets):
        return IndexTargets((n, c), 1, t.weight, sw, index=t.index[m0:m1], valid=t.valid[m0:m1])
    assert prob3 is not None
    p0, p1, s0, s1 = block
    prob = np.reshape(prob3[p0:p1, :, s0:s1].transpose(0, 2, 1), (n, c))
    return ProbTargets((n, c), 1, t.weight, sw, array=prob)


def safe_index(t: IndexTargets, m0: int, m1: int) -> tuple[np.ndarray, np.ndarray | None]:
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
    return src if ok and src is not None else np.ascontiguousarray(xs.T)
