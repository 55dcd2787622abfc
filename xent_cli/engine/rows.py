"""The rows of an input a block at a time, for the analyses: ``(n, C)``, the class axis last,
in flat sample order, cut by the engine's one blocking scheme (:func:`.plan.make_plan`)
into blocks of about ``rows_bytes`` (counted as float64). A memory-mapped input is read one
block at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core import as_float, normalize_class_axis, row_log_probs
from ..limits import current
from .plan import Block, Plan, make_plan


def row_plan(x: np.ndarray, class_axis: int = 1, block_bytes: int | None = None) -> Plan:
    """The row blocks of ``x``: at most ``block_bytes`` (default ``rows_bytes``) of float64
    rows each, at least one row.

    >>> row_plan(np.zeros((5, 4)), block_bytes=64).blocks
    ((0, 2, 0, 1), (2, 4, 0, 1), (4, 5, 0, 1))
    """
    axis = normalize_class_axis(x.ndim, class_axis)
    budget = max(1, (block_bytes or current().rows_bytes) // (8 * max(x.shape[axis], 1)))
    return make_plan(x, axis, 8, block_rows=budget, col=False)


def block_rows(plan: Plan, block: Block) -> tuple[int, np.ndarray]:
    """``(start, rows)``: the block's ``(n, C)`` rows as given (a view when the layout allows,
    else a copy) and the flat index of its first sample."""
    m0, m1 = plan.span(block)
    return m0, np.asarray(plan.view(plan.x3, block)).reshape(m1 - m0, plan.n_classes)


def iter_rows(
    x: np.ndarray, *, class_axis: int = 1, block_bytes: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, rows)`` for every block of :func:`row_plan`, in sample order.

    >>> [(s, r.shape) for s, r in iter_rows(np.zeros((5, 4)), block_bytes=64)]
    [(0, (2, 4)), (2, (2, 4)), (4, (1, 4))]
    >>> [r.tolist() for _, r in iter_rows(np.arange(4.0).reshape(2, 2), class_axis=0)]
    [[[0.0, 2.0], [1.0, 3.0]]]
    >>> [s for s, _ in iter_rows(np.zeros((2, 3, 5)), class_axis=-1, block_bytes=80)]
    [0, 2, 4]
    """
    plan = row_plan(x, class_axis, block_bytes)
    for block in plan.blocks:
        yield block_rows(plan, block)


def iter_log_probs(
    x: np.ndarray,
    *,
    class_axis: int = 1,
    input_kind: str = "logits",
    dtype: str | None = None,
    block_bytes: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`iter_rows`, with the rows' log-probabilities (computed as the core does).

    >>> [(s, lp.round(4).tolist()) for s, lp in iter_log_probs(np.array([[0.0, 0.0]]))]
    [(0, [[-0.6931, -0.6931]])]
    """
    for start, rows in iter_rows(x, class_axis=class_axis, block_bytes=block_bytes):
        yield start, row_log_probs(as_float(rows, dtype), input_kind)
