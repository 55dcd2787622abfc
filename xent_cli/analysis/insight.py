"""Beyond the loss: metrics, a per-class breakdown, the worst samples and a loss histogram.

An :class:`Accumulator` is fed block by block (log-probabilities of ``(n, C)`` rows, their
targets, the flat index of the first); a block's figures (a :class:`Part`) are measured on
any thread and added in sample order: the same bits on any number of threads.
:func:`analyze` feeds it an array; :class:`.insight_pass.InsightPass` the loss pass itself.

Ignored targets are left out of everything; probability targets count their argmax as the
class; metrics are unweighted; ``loss`` is ``--reduction none``'s when given, else
``-log p[y]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import IndexTargets, Targets, as_float, position, row_log_probs
from ..engine import Block, InOrder, block_rows, row_plan, run
from ..spec import InsightSpec, LossSpec
from ..system import available_threads
from .records import ECE_BINS, Insight, Metrics, Part, classes_present, histogram, top_rows

# The totals of a Part, the ECE bins among them; then its sums of each class present
_TOTALS: tuple[str, ...] = ("count", "correct", "topk_hits", "nll_sum", "entropy_sum")
_TOTALS += ("bin_count", "bin_conf", "bin_correct")
_PER_CLASS = ("support", "class_loss", "class_correct", "class_p")


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


class Accumulator:
    """Feed ``update`` block by block, then call ``result``.

    ``update`` is :meth:`measure` (pure, safe on any thread) then :meth:`add` (not
    thread-safe): add blocks in sample order for the same float sums on any number of
    threads. Memory is O(C + worst), plus with ``hist`` 8 bytes per target used.

    >>> acc = Accumulator(4, batch_shape=(3,), topk=2, worst=1)
    >>> logp = np.log([[0.1, 0.2, 0.3, 0.4]] * 3)
    >>> acc.update(logp[:2], np.array([3, 0]), 0)
    >>> acc.update(logp[2:], np.array([-100]), 2)
    >>> r = acc.result(metrics=True, worst=True)
    >>> r.metrics.accuracy, r.metrics.top_k_accuracy, r.metrics.count
    (0.5, 0.5, 2)
    >>> r.worst[0]["index"], r.worst[0]["target"], round(r.worst[0]["loss"], 4)
    (1, 0, 2.3026)
    """

    def __init__(
        self,
        n_classes: int,
        *,
        batch_shape: tuple[int, ...] = (),
        topk: int = 5,
        worst: int = 0,
        hist: bool = False,
        ignore_index: int = -100,
        class_names: Sequence[str] | None = None,
    ) -> None:
        c = int(n_classes)
        self.n_classes, self.batch_shape, self.topk = c, tuple(batch_shape), int(topk)
        self.n_worst, self.hist, self.ignore_index = int(worst), hist, ignore_index
        self.class_names = None if class_names is None else [str(n) for n in class_names]
        self.count, self.correct, self.topk_hits = 0, 0, 0
        self.nll_sum = self.entropy_sum = 0.0
        self.bin_count = np.zeros(ECE_BINS, np.int64)
        self.bin_conf = np.zeros(ECE_BINS)
        self.bin_correct = np.zeros(ECE_BINS)
        self.support = np.zeros(c, np.int64)
        self.class_loss = np.zeros(c)
        self.class_correct = np.zeros(c, np.int64)
        self.class_p = np.zeros(c)
        self._worst = np.zeros((0, 6))  # key, index, target, predicted, p_target, loss
        self._losses: list[np.ndarray] = []

    def update(
        self,
        logp: np.typing.ArrayLike,
        target: np.typing.ArrayLike,
        start: int,
        *,
        loss: np.typing.ArrayLike | None = None,
        valid: np.typing.ArrayLike | None = None,
    ) -> None:
        """Add ``n`` samples: :meth:`measure`, then :meth:`add`."""
        self.add(self.measure(logp, target, start, loss=loss, valid=valid))

    def measure(
        self,
        logp: np.typing.ArrayLike,
        target: np.typing.ArrayLike,
        start: int,
        *,
        loss: np.typing.ArrayLike | None = None,
        valid: np.typing.ArrayLike | None = None,
    ) -> Part:
        """The figures of ``n`` samples, not yet added: ``logp`` ``(n, C)`` log-probabilities,
        ``target`` ``(n,)`` class indices or ``(n, C)`` probabilities, ``start`` the flat
        index of the first sample. Reads only the settings: safe on several threads at once.

        ``loss`` ``(n,)`` are the per-sample losses the core computed (default ``-log p[y]``);
        ``valid`` marks the targets used (default: index targets not ``ignore_index``)."""
        # Whole-block passes stay in the compute precision (float32 for float32 input), with
        # float64 row sums; only per-row vectors are float64. Few passes: this runs on GBs.
        lp = np.asarray(logp)
        if lp.dtype.kind != "f":
            lp = lp.astype(np.float64)
        n = lp.shape[0]
        tgt = np.asarray(target)
        rows = np.arange(n)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            if tgt.ndim == 2:
                cls = np.argmax(tgt, axis=1)
                ok = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
                q = tgt.astype(np.float64)
                nll = -np.sum(np.where(q != 0, q * lp, 0.0), axis=1)
            else:
                idx = tgt.astype(np.int64).reshape(n)
                ok = idx != self.ignore_index if valid is None else np.asarray(valid, bool)
                cls = np.where(ok, idx, 0)
                nll = -lp[rows, cls].astype(np.float64)
            ok = ok & (cls >= 0) & (cls < self.n_classes)
            lp_true = lp[rows, cls].astype(np.float64)
            pred = np.argmax(lp, axis=1)  # a row with NaN gives the NaN's index
            top_lp = lp[rows, pred].astype(np.float64)  # the row max, NaN when the row has one
            hit = (pred == cls) & ~np.isnan(top_lp)
            if self.n_classes > self.topk:
                rank = np.count_nonzero(lp > lp_true[:, None].astype(lp.dtype), axis=1)
                top = (rank < self.topk) & ~np.isnan(lp_true)
            else:
                top = ~np.isnan(lp_true)
            p = np.exp(lp)
            plogp = np.zeros_like(lp)
            np.multiply(p, lp, out=plogp, where=p > 0)  # 0 log 0 = 0
            entropy = -np.sum(plogp, axis=1, dtype=np.float64)
            conf = np.exp(top_lp)
            per = nll if loss is None else np.asarray(loss, dtype=np.float64).reshape(n)
            entropy = np.asarray(entropy)
        return self._part(ok, cls, nll, hit, top, entropy, conf, np.exp(lp_true), pred, per, start)

    def _part(
        self,
        ok: np.ndarray,
        cls: np.ndarray,
        nll: np.ndarray,
        hit: np.ndarray,
        top: np.ndarray,
        entropy: np.ndarray,
        conf: np.ndarray,
        p_true: np.ndarray,
        pred: np.ndarray,
        per: np.ndarray,
        start: int,
    ) -> Part:
        cls, hit, conf, p_true, per = cls[ok], hit[ok], conf[ok], p_true[ok], per[ok]
        # Confidence c falls in bin (lo, hi]; 0 goes to the first bin, above 1 to the last.
        edges = np.arange(ECE_BINS + 1) / ECE_BINS  # each edge b/15 correctly rounded
        b = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, ECE_BINS - 1)
        classes, inv = classes_present(cls, self.n_classes)
        k = classes.size
        worst = np.zeros((0, 6))
        if self.n_worst:
            key = np.where(np.isnan(per), np.inf, per)
            sel: slice | np.ndarray = slice(None)
            if key.size > self.n_worst:  # the candidates: keys >= the n-th highest (ties too)
                cut = key.size - self.n_worst
                sel = np.flatnonzero(key >= np.partition(key, cut)[cut])
            index = np.flatnonzero(ok)[sel] + int(start)
            rows = [key[sel], index, cls[sel], pred[ok][sel], p_true[sel], per[sel]]
            worst = top_rows(np.column_stack(rows), self.n_worst)
        return Part(
            count=int(ok.sum()),
            correct=int(hit.sum()),
            topk_hits=int(top[ok].sum()),
            nll_sum=float(np.sum(nll[ok])),
            entropy_sum=float(np.sum(entropy[ok])),
            bin_count=np.bincount(b, minlength=ECE_BINS),
            bin_conf=np.bincount(b, weights=np.nan_to_num(conf), minlength=ECE_BINS),
            bin_correct=np.bincount(b, weights=hit, minlength=ECE_BINS),
            classes=classes,
            support=np.bincount(inv, minlength=k),
            class_loss=np.bincount(inv, weights=per, minlength=k),
            class_correct=np.bincount(inv, weights=hit, minlength=k).astype(np.int64),
            class_p=np.bincount(inv, weights=p_true, minlength=k),
            worst=worst,
            losses=per if self.hist else None,
        )

    def add(self, part: Part) -> None:
        """Add a block's figures (from :meth:`measure` of an accumulator with these settings)."""
        for name in _TOTALS:
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for name in _PER_CLASS:  # the classes are distinct: a fancy-indexed += adds each once
            getattr(self, name)[part.classes] += getattr(part, name)
        if self.hist and part.losses is not None:
            self._losses.append(part.losses)
        if self.n_worst:
            self._keep_worst(part.worst)

    def _keep_worst(self, block: np.ndarray) -> None:
        self._worst = top_rows(np.concatenate([self._worst, block]), self.n_worst)

    def _name(self, c: int) -> int | str:
        return self.class_names[c] if self.class_names is not None else int(c)

    def _metrics(self) -> Metrics:
        n = self.count
        mean_nll = _div(self.nll_sum, n)
        ece = float(np.sum(np.abs(self.bin_correct - self.bin_conf))) / n if n else math.nan
        with np.errstate(over="ignore"):
            perplexity = float(np.exp(mean_nll))
        return Metrics(
            accuracy=_div(self.correct, n),
            topk=self.topk,
            top_k_accuracy=_div(self.topk_hits, n) if self.n_classes > self.topk else None,
            perplexity=perplexity,
            bits_per_sample=mean_nll / math.log(2),
            mean_entropy=_div(self.entropy_sum, n),
            ece=ece,
            count=n,
        )

    def _per_class(self) -> list[dict[str, Any]]:
        out = []
        for c in range(self.n_classes):
            s = int(self.support[c])
            out.append(
                {
                    "class": self._name(c),
                    "support": s,
                    "loss": _div(float(self.class_loss[c]), s) if s else None,
                    "accuracy": _div(float(self.class_correct[c]), s) if s else None,
                    "mean_p_true": _div(float(self.class_p[c]), s) if s else None,
                }
            )
        return out

    def _where(self, flat: int) -> int | list[int]:
        pos = position(flat, self.batch_shape)
        return pos if isinstance(pos, int) else list(pos)

    def _worst_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "index": self._where(int(r[1])),
                "target": self._name(int(r[2])),
                "predicted": self._name(int(r[3])),
                "p_target": float(r[4]),
                "loss": float(r[5]),
            }
            for r in self._worst
        ]

    def result(
        self,
        *,
        metrics: bool = False,
        per_class: bool = False,
        worst: bool = False,
        hist: bool = False,
    ) -> Insight:
        """The pieces asked for (``worst`` and ``hist`` also need the constructor's flags)."""
        return Insight(
            metrics=self._metrics() if metrics else None,
            per_class=self._per_class() if per_class else None,
            worst=self._worst_rows() if worst else None,
            histogram=histogram(np.concatenate(self._losses or [np.zeros(0)])) if hist else None,
        )

    @classmethod
    def of(
        cls,
        t: Targets,
        spec: LossSpec,
        ask: InsightSpec,
        class_names: Sequence[str] | None = None,
        *,
        hist: bool | None = None,
    ) -> Accumulator:
        """An accumulator for the samples of ``t``, the pieces ``ask`` asks for (``hist``:
        whether to keep the losses for the histogram, as ``ask.hist`` by default)."""
        return cls(
            t.n_classes,
            batch_shape=t.batch_shape,
            topk=ask.topk,
            worst=ask.worst,
            hist=ask.hist if hist is None else hist,
            ignore_index=spec.ignore_index,
            class_names=class_names,
        )


def analyze(
    x: np.ndarray,
    t: Targets,
    spec: LossSpec,
    ask: InsightSpec,
    *,
    class_names: Sequence[str] | None = None,
    per_sample: np.typing.ArrayLike | None = None,
    threads: int | None = None,
) -> Insight:
    """The insight pieces ``ask`` asks for, over an in-memory or memory-mapped input ``x``.

    ``per_sample`` are the losses of the loss pass (default: ``-log p[y]``); blocks are
    measured on up to 8 of the engine's threads, added in sample order.

    >>> from xent_cli.core import prepare_targets
    >>> x = np.arange(1.0, 13.0).reshape(3, 4)
    >>> t = prepare_targets(x.shape, [1, 2, 3])
    >>> r = analyze(x, t, LossSpec(), InsightSpec(metrics=True))
    >>> r.metrics.accuracy, round(r.metrics.perplexity, 4), r.metrics.top_k_accuracy
    (0.3333333333333333, 4.2215, None)
    """
    acc = Accumulator.of(t, spec, ask, class_names)
    flat_loss = None if per_sample is None else np.asarray(per_sample).reshape(-1)
    order: InOrder[Part] = InOrder(acc.add)  # blocks added in sample order: the same bits
    targets = t.index if isinstance(t, IndexTargets) else t.prob  # (M, C) rows made once
    plan = row_plan(x, t.class_axis)

    def work(block: Block) -> None:
        # Each block's rows are made once (a K-dim input's transposing copy, a memory-mapped
        # input's read), by whichever thread takes the block.
        start, rows = block_rows(plan, block)
        logp = row_log_probs(as_float(rows, spec.dtype), spec.input_kind)
        stop = start + logp.shape[0]
        loss = None if flat_loss is None else flat_loss[start:stop]
        part = acc.measure(logp, targets[start:stop], start, loss=loss, valid=t.valid[start:stop])
        order.put(start, stop, part)

    run(plan, work, min(available_threads(threads), 8))
    if order.stop != t.n_rows:  # pragma: no cover - a part went missing: never silently
        raise RuntimeError(f"insight covered {order.stop} of {t.n_rows} samples")
    return acc.result(
        metrics=ask.metrics, per_class=ask.per_class, worst=bool(ask.worst), hist=ask.hist
    )
