"""Beyond the loss: metrics, a per-class breakdown, the worst samples and a loss histogram.

Everything is an accumulator fed block by block with the log-probabilities of ``(n, C)``
rows, their targets and the flat index of the block's first sample, so that the blocked
path (:mod:`xent_cli.blocks`) can feed it in the same pass as the loss; :func:`analyze`
feeds it from an in-memory (or memory-mapped) array. NumPy only.

Conventions: ignored targets are left out of everything (they still count in ``index``
numbering); probability targets count their argmax as the class; metrics are unweighted
(every target used counts once); ``loss`` is the per-sample loss as ``--reduction none``
gives it (with weights and smoothing) when the caller passes it, else ``-log p[y]``.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._rows import iter_rows
from .core import _as_float, _row_log_probs
from .targets import prepare_targets

ECE_BINS = 15
HIST_BINS = 20


@dataclass(frozen=True)
class Metrics:
    """Classification metrics over the targets used (see the module docstring)."""

    accuracy: float
    topk: int
    top_k_accuracy: float | None  # None when C <= k
    perplexity: float
    bits_per_sample: float
    mean_entropy: float
    ece: float
    count: int

    def to_json(self) -> dict[str, Any]:
        """The SPEC's ``metrics`` object."""
        top = None
        if self.top_k_accuracy is not None:
            top = {"k": self.topk, "value": self.top_k_accuracy}
        return {
            "accuracy": self.accuracy,
            "top_k_accuracy": top,
            "perplexity": self.perplexity,
            "bits_per_sample": self.bits_per_sample,
            "mean_entropy": self.mean_entropy,
            "ece": self.ece,
            "count": self.count,
        }


@dataclass(frozen=True)
class Insight:
    """What was asked for: each piece is None unless requested.

    ``per_class``, ``worst`` and ``histogram`` are lists/dicts already in their JSON form.
    """

    metrics: Metrics | None = None
    per_class: list[dict[str, Any]] | None = None
    worst: list[dict[str, Any]] | None = None
    histogram: dict[str, list[Any]] | None = None

    @property
    def empty(self) -> bool:
        """Nothing was asked for."""
        return not any(
            x is not None for x in (self.metrics, self.per_class, self.worst, self.histogram)
        )

    def to_json(self) -> dict[str, Any]:
        """The keys to add to ``compute``'s JSON object (only those asked for)."""
        out: dict[str, Any] = {}
        if self.metrics is not None:
            out["metrics"] = self.metrics.to_json()
        for key in ("per_class", "worst", "histogram"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _div(a: float, b: float) -> float:
    return a / b if b else math.nan


class Accumulator:
    """Feed ``update`` block by block, in any order, then call ``result``.

    Not thread-safe: give each worker thread its own and ``merge`` them at the end. Memory
    is O(C + worst), plus, with ``hist``, the losses of the targets used (8 bytes each:
    the bins are placed once the highest loss is known).

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
        class_names: tuple[str, ...] | list[str] | None = None,
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
        logp: npt.ArrayLike,
        target: npt.ArrayLike,
        start: int,
        *,
        loss: npt.ArrayLike | None = None,
        valid: npt.ArrayLike | None = None,
    ) -> None:
        """Add ``n`` samples: ``logp`` ``(n, C)`` log-probabilities, ``target`` ``(n,)`` class
        indices or ``(n, C)`` probabilities, ``start`` the flat index of the first sample.

        ``loss`` ``(n,)`` are the per-sample losses the core computed (default ``-log p[y]``);
        ``valid`` marks the targets used (default: index targets not ``ignore_index``).
        """
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
        self._add(ok, cls, nll, hit, top, entropy, conf, np.exp(lp_true), pred, per, start)

    def _add(self, ok, cls, nll, hit, top, entropy, conf, p_true, pred, per, start) -> None:
        cls, hit, conf, p_true, per = cls[ok], hit[ok], conf[ok], p_true[ok], per[ok]
        self.count += int(ok.sum())
        self.correct += int(hit.sum())
        self.topk_hits += int(top[ok].sum())
        self.nll_sum += float(np.sum(nll[ok]))
        self.entropy_sum += float(np.sum(entropy[ok]))
        # Confidence c falls in bin (lo, hi]; 0 goes to the first bin, above 1 to the last.
        edges = np.arange(ECE_BINS + 1) / ECE_BINS  # each edge b/15 correctly rounded
        b = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, ECE_BINS - 1)
        self.bin_count += np.bincount(b, minlength=ECE_BINS)
        self.bin_conf += np.bincount(b, weights=np.nan_to_num(conf), minlength=ECE_BINS)
        self.bin_correct += np.bincount(b, weights=hit, minlength=ECE_BINS)
        c = self.n_classes
        self.support += np.bincount(cls, minlength=c)
        self.class_loss += np.bincount(cls, weights=per, minlength=c)
        self.class_correct += np.bincount(cls, weights=hit, minlength=c).astype(np.int64)
        self.class_p += np.bincount(cls, weights=p_true, minlength=c)
        if self.hist:
            self._losses.append(per)
        if self.n_worst:
            index = np.flatnonzero(ok) + int(start)
            key = np.where(np.isnan(per), np.inf, per)
            block = np.column_stack([key, index, cls, pred[ok], p_true, per])
            self._keep_worst(block)

    def _keep_worst(self, block: np.ndarray) -> None:
        both = np.concatenate([self._worst, block])
        # Highest loss first (NaN first of all), ties by position.
        order = np.lexsort((both[:, 1], -both[:, 0]))
        self._worst = both[order[: self.n_worst]]

    def fresh(self) -> Accumulator:
        """An empty accumulator with the same settings (one per worker thread)."""
        return Accumulator(
            self.n_classes,
            batch_shape=self.batch_shape,
            topk=self.topk,
            worst=self.n_worst,
            hist=self.hist,
            ignore_index=self.ignore_index,
            class_names=self.class_names,
        )

    def merge(self, other: Accumulator) -> None:
        """Add the samples another accumulator (same settings) has seen."""
        for name in (
            "count",
            "correct",
            "topk_hits",
            "nll_sum",
            "entropy_sum",
            "bin_count",
            "bin_conf",
            "bin_correct",
            "support",
            "class_loss",
            "class_correct",
            "class_p",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self._losses.extend(other._losses)
        if self.n_worst:
            self._keep_worst(other._worst)

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
        if len(self.batch_shape) <= 1:
            return int(flat)
        return [int(i) for i in np.unravel_index(int(flat), self.batch_shape)]

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


def histogram(losses: npt.ArrayLike, bins: int = HIST_BINS) -> dict[str, list[Any]]:
    """``bins`` equal-width bins from ``min(0, lowest)`` to the highest finite loss
    (``numpy.histogram``'s bins: ``[lo, hi)``, the last one closed); non-finite losses are
    left out.

    >>> histogram([0.1, 0.2, 1.0], bins=2)
    {'edges': [0.0, 0.5, 1.0], 'counts': [2, 1]}
    """
    v = np.asarray(losses, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    lo = min(0.0, float(v.min())) if v.size else 0.0
    hi = float(v.max()) if v.size else 1.0
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def analyze(
    input: np.ndarray,
    target: npt.ArrayLike,
    *,
    per_sample: npt.ArrayLike | None = None,
    class_axis: int = 1,
    input_kind: str = "logits",
    ignore_index: int = -100,
    targets_kind: str = "auto",
    dtype: str | None = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    metrics: bool = False,
    topk: int = 5,
    per_class: bool = False,
    worst: int = 0,
    hist: bool = False,
    threads: int | None = None,
    **_: Any,
) -> Insight:
    """The insight pieces asked for, over an in-memory or memory-mapped input.

    ``per_sample`` are the losses from :func:`xent_cli.core.evaluate` (``per_sample``);
    other keyword arguments are those of ``cross_entropy`` (extra ones are ignored).

    >>> r = analyze(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3], metrics=True)
    >>> r.metrics.accuracy, round(r.metrics.perplexity, 4), r.metrics.top_k_accuracy
    (0.3333333333333333, 4.2215, None)
    """
    x = input if isinstance(input, np.ndarray) else np.asarray(input)
    t = prepare_targets(
        x.shape,
        target,
        class_axis=class_axis,
        ignore_index=ignore_index,
        targets_kind=targets_kind,
    )
    acc = Accumulator(
        t.n_classes,
        batch_shape=t.batch_shape,
        topk=topk,
        worst=worst,
        hist=hist,
        ignore_index=ignore_index,
        class_names=class_names,
    )
    flat_loss = None if per_sample is None else np.asarray(per_sample).reshape(-1)
    n_threads = max(1, min(int(threads or available_cores()), 8))

    def work(mine: Accumulator, k: int) -> None:
        # Worker k takes blocks k, k + T, k + 2T, ... (NumPy releases the GIL in the heavy
        # passes); a fixed assignment and a fixed merge order keep the float sums the same
        # from run to run.
        for i, (start, rows) in enumerate(iter_rows(x, class_axis=class_axis)):
            if i % n_threads != k:
                continue
            logp = _row_log_probs(_as_float(rows, dtype), input_kind)
            stop = start + logp.shape[0]
            tgt = t.prob[start:stop] if t.prob is not None else t.index[start:stop]
            loss = None if flat_loss is None else flat_loss[start:stop]
            mine.update(logp, tgt, start, loss=loss, valid=t.valid[start:stop])

    n_threads = max(1, min(int(threads or available_cores()), 8))
    extra = [acc.fresh() for _ in range(n_threads - 1)]
    pool = [threading.Thread(target=work, args=(a, k + 1)) for k, a in enumerate(extra)]
    for th in pool:
        th.start()
    work(acc, 0)
    for th in pool:
        th.join()
    for other in extra:
        acc.merge(other)
    return acc.result(metrics=metrics, per_class=per_class, worst=bool(worst), hist=hist)


__all__ = [
    "Accumulator",
    "Insight",
    "Metrics",
    "analyze",
    "histogram",
]
