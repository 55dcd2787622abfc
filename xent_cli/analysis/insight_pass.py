"""The loss and its insight in one pass over a big input.

:class:`InsightPass` is the ``observe`` hook of the engine's loss pass: it measures each
block's figures on the thread that computed the block's losses, while the block is at hand
(the input is read once), and adds them in sample order (:class:`~xent_cli.engine.InOrder`):
the same bits on any number of threads. The histogram is made at the end from the losses
the pass keeps anyway. Memory: O(C + worst), and a few blocks' figures waiting their turn.

>>> from xent_cli.core import prepare_targets
>>> from xent_cli.engine.passes import evaluate
>>> x = np.arange(1.0, 13.0).reshape(3, 4)
>>> t, spec = prepare_targets(x.shape, [1, 2, 3]), LossSpec()
>>> watch = InsightPass(x, t, spec, InsightSpec(metrics=True, worst=1))
>>> res = evaluate(x, t, spec, block_rows=1, observe=watch.observe)
>>> ins = watch.result(res)
>>> round(res.loss, 4), ins.metrics.count, ins.worst[0]["index"]
(1.4402, 3, 0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import IndexTargets, LossResult, Targets
from ..engine import InOrder, empty, on_disk
from ..spec import InsightSpec, LossSpec
from .insight import Accumulator
from .records import Insight, Part, histogram


class InsightPass:
    """The insight ``ask`` asks for of ``x`` against ``t``, fed by :meth:`observe`."""

    def __init__(
        self,
        x: np.ndarray,
        t: Targets,
        spec: LossSpec,
        ask: InsightSpec,
        class_names: Sequence[str] | None = None,
    ) -> None:
        # hist=False: the histogram is made from the pass's losses at the end, not copies
        self._acc = Accumulator.of(t, spec, ask, class_names, hist=False)
        self._order: InOrder[Part] = InOrder(self._acc.add)
        self._ask = ask
        # The targets used, for the histogram (1 byte a sample, on disk when big, as the
        # losses; every sample's is written by the pass)
        used = empty(t.n_rows, bool, "which targets count", spill=on_disk(x)) if ask.hist else None
        self._used = used

    def observe(self, start: int, logp: np.ndarray, t: Targets, loss: np.ndarray) -> None:
        """The engine's hook: measure samples ``start:start + n`` (their log-probabilities,
        targets and losses), on the block's thread."""
        target = t.index if isinstance(t, IndexTargets) else t.prob
        part = self._acc.measure(logp, target, start, loss=loss, valid=t.valid)
        if self._used is not None:
            self._used[start : start + logp.shape[0]] = t.valid
        self._order.put(start, start + logp.shape[0], part)

    def result(self, res: LossResult) -> Insight:
        """The insight, once the pass that gave ``res`` has run."""
        n_rows = int(np.size(res.per_sample))
        if self._order.stop != n_rows:  # pragma: no cover - a block went missing
            raise RuntimeError(f"insight covered {self._order.stop} of {n_rows} samples")
        ask = self._ask
        found = self._acc.result(
            metrics=ask.metrics, per_class=ask.per_class, worst=bool(ask.worst)
        )
        if self._used is None:
            return found
        drawn = histogram(res.per_sample, where=self._used)
        return Insight(found.metrics, found.per_class, found.worst, drawn)
