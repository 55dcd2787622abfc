"""The loss and its insight in one pass over a big input.

:func:`evaluate_with_insight` runs :func:`xent_cli.blocks.evaluate_blocked` (bounded memory,
every core) and measures each block's insight figures (:meth:`Accumulator.measure
<xent_cli.insight.Accumulator.measure>`) on the thread that computed the block's losses,
while the block is at hand: the input is read once, not once for the loss and again for the
insight. The figures are added in sample order (:class:`~xent_cli._in_order.InOrder`), so
the result is the same, bit for bit, on any number of threads and whatever order the blocks
finish in. The histogram is made at the end from the per-sample losses the pass keeps anyway.
What stays in memory besides the loss pass's own: O(C + worst) totals and a few blocks'
figures waiting for an earlier block. NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _spill
from ._in_order import InOrder
from ._kernel_run import Progress
from .blocks import evaluate_blocked
from .core import LossResult
from .insight import Accumulator
from .insight_types import Insight, Part, histogram
from .targets import Targets, normalize_class_axis


def evaluate_with_insight(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    class_names: tuple[str, ...] | list[str] | None = None,
    metrics: bool = False,
    topk: int = 5,
    per_class: bool = False,
    worst: int = 0,
    hist: bool = False,
    progress: Progress | None = None,
    block_rows: int | None = None,
    **kw: Any,
) -> tuple[LossResult, Insight]:
    """:func:`xent_cli.blocks.evaluate_blocked` and :func:`xent_cli.insight.analyze` (with
    the pass's own per-sample losses) in one pass: ``(loss result, insight)``.

    ``kw`` are the loss arguments (those of ``evaluate_blocked``: ``class_axis``,
    ``input_kind``, ``ignore_index``, ``threads``, ``dtype``, ...); the insight options are
    those of ``analyze``. ``block_rows`` overrides the number of samples per block.

    >>> x = np.arange(1.0, 13.0).reshape(3, 4)
    >>> res, ins = evaluate_with_insight(x, [1, 2, 3], metrics=True, worst=1, block_rows=1)
    >>> round(res.loss, 4), ins.metrics.count, ins.worst[0]["index"]
    (1.4402, 3, 0)
    """
    arr = input if isinstance(input, np.ndarray) else np.asarray(input)
    shape = tuple(arr.shape)
    axis = normalize_class_axis(len(shape), kw.get("class_axis", 1))
    acc = Accumulator(
        shape[axis],
        batch_shape=shape[:axis] + shape[axis + 1 :],
        topk=topk,
        worst=worst,
        hist=False,  # made from the pass's losses at the end, not from copies of them
        ignore_index=kw.get("ignore_index", -100),
        class_names=class_names,
    )
    order: InOrder[Part] = InOrder(acc.add)
    # The targets used, for the histogram (1 byte a sample, on disk when big, as the losses;
    # every sample's is written by the pass)
    n_samples = int(np.prod(acc.batch_shape, dtype=np.int64))
    spill = _spill.on_disk(arr)
    used = _spill.empty(n_samples, bool, "which targets count", spill=spill) if hist else None

    def observe(start: int, logp: np.ndarray, t: Targets, loss: np.ndarray) -> None:
        target = t.prob if t.prob is not None else t.index
        part = acc.measure(logp, target, start, loss=loss, valid=t.valid)
        if used is not None:
            used[start : start + logp.shape[0]] = t.valid
        order.put(start, start + logp.shape[0], part)

    res = evaluate_blocked(
        arr, target, progress=progress, block_rows=block_rows, observe=observe, **kw
    )
    n_rows = int(np.size(res.per_sample))
    if order.stop != n_rows:  # pragma: no cover - a block went missing: never silently
        raise RuntimeError(f"insight covered {order.stop} of {n_rows} samples")
    found = acc.result(metrics=metrics, per_class=per_class, worst=bool(worst))
    if used is None:
        return res, found
    drawn = histogram(res.per_sample, where=used)
    return res, Insight(found.metrics, found.per_class, found.worst, drawn)


__all__ = ["evaluate_with_insight"]
