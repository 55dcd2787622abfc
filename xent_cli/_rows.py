"""The rows of an input, a block at a time: ``(n, C)`` with the class axis last, in flat
sample order, and their log-probabilities. A memory-mapped input is read block by block.
NumPy only; used by :mod:`xent_cli.insight` and :mod:`xent_cli.mistakes`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .targets import normalize_class_axis

BLOCK_BYTES = 2 << 20  # per block: below core's threshold for its blocked path


def iter_rows(
    x: np.ndarray, *, class_axis: int = 1, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, rows)``: consecutive ``(n, C)`` rows of ``x`` (class axis last, flat
    sample order) as given, and the flat index of the first, about ``block_bytes`` at a time
    (counted as float64; at least one row), whatever the shape and the class axis.

    A memory-mapped ``x`` is read one block at a time.

    >>> [(s, r.shape) for s, r in iter_rows(np.zeros((5, 4)), block_bytes=64)]
    [(0, (2, 4)), (2, (2, 4)), (4, (1, 4))]
    >>> [r.tolist() for _, r in iter_rows(np.arange(4.0).reshape(2, 2), class_axis=0)]
    [[[0.0, 2.0], [1.0, 3.0]]]
    >>> [s for s, _ in iter_rows(np.zeros((2, 3, 5)), class_axis=-1, block_bytes=80)]
    [0, 2, 3, 5]
    """
    axis = normalize_class_axis(x.ndim, class_axis)
    c = x.shape[axis]
    if x.ndim == 1:
        yield 0, np.asarray(x).reshape(1, c)
        return
    batch_axes = [a for a in range(x.ndim) if a != axis]
    sizes = [x.shape[a] for a in batch_axes]
    budget = max(1, block_bytes // (8 * max(c, 1)))  # rows per block
    # Split on batch axis k: the first whose slices (``per`` rows each) fit the budget.
    k = 0
    while k < len(sizes) - 1 and _prod(sizes[k + 1 :]) > budget:
        k += 1
    per = _prod(sizes[k + 1 :])
    step = max(1, budget // max(per, 1))
    moved = axis - sum(1 for a in batch_axes[:k] if a < axis)  # after the integer indices
    for outer in np.ndindex(*sizes[:k]):
        base = int(np.ravel_multi_index(outer, sizes[:k])) * _prod(sizes[k:]) if k else 0
        index: list = [slice(None)] * x.ndim
        for a, o in zip(batch_axes[:k], outer, strict=True):
            index[a] = o
        for i0 in range(0, sizes[k], step):
            index[batch_axes[k]] = slice(i0, i0 + step)
            part = np.asarray(x[tuple(index)])
            yield base + i0 * per, np.moveaxis(part, moved, -1).reshape(-1, c)


def _prod(values: list[int]) -> int:
    return int(np.prod(values, dtype=np.int64))


def iter_log_probs(
    x: np.ndarray,
    *,
    class_axis: int = 1,
    input_kind: str = "logits",
    dtype: str | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`iter_rows`, with the rows' log-probabilities (computed as the core does).

    >>> [(s, lp.round(4).tolist()) for s, lp in iter_log_probs(np.array([[0.0, 0.0]]))]
    [(0, [[-0.6931, -0.6931]])]
    """
    from .core import _as_float, _row_log_probs

    for start, rows in iter_rows(x, class_axis=class_axis, block_bytes=block_bytes):
        yield start, _row_log_probs(_as_float(rows, dtype), input_kind)


__all__ = ["BLOCK_BYTES", "iter_log_probs", "iter_rows"]
