"""What the insight options give: the :class:`Metrics` and :class:`Insight` records and the
loss :func:`histogram`; and :class:`Part`, the figures of one block of samples, with the
helpers that gather them. :mod:`.insight` computes them. NumPy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..limits import current

ECE_BINS = 15
HIST_BINS = 20
_SPARSE = 4  # a block's per-class sums are gathered densely up to this many classes a sample


@dataclass(frozen=True)
class Metrics:
    """Classification metrics over the targets used (see :mod:`.insight`)."""

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

    ``per_class``, ``worst`` and ``histogram`` are lists/dicts already in their JSON form."""

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


@dataclass(frozen=True)
class Part:
    """The figures of one block of samples, as :meth:`Accumulator.measure` gives them: counts,
    float sums, the ECE bins, sums for each class present (``classes``, ascending), the block's
    worst samples (rows ``key, index, target, predicted, p_target, loss``) and, with ``hist``,
    the losses of the targets used. Small: O(classes present + worst), not O(C)."""

    count: int
    correct: int
    topk_hits: int
    nll_sum: float
    entropy_sum: float
    bin_count: np.ndarray
    bin_conf: np.ndarray
    bin_correct: np.ndarray
    classes: np.ndarray
    support: np.ndarray
    class_loss: np.ndarray
    class_correct: np.ndarray
    class_p: np.ndarray
    worst: np.ndarray
    losses: np.ndarray | None


def classes_present(cls: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The classes present in ``cls`` (ascending) and each sample's position among them.

    >>> [v.tolist() for v in classes_present(np.array([4, 1, 4]), 1000)]
    [[1, 4], [1, 0, 1]]
    """
    if n_classes <= _SPARSE * cls.size:  # O(C + n), no sort
        present = np.bincount(cls, minlength=n_classes) > 0
        classes = np.flatnonzero(present)
        lut = np.cumsum(present) - 1
        return classes, lut[cls]
    classes, inv = np.unique(cls, return_inverse=True)
    return classes, inv.reshape(-1)


def top_rows(rows: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` worst of ``rows`` (``key, index, ...``): highest key first (NaN losses have
    key inf), ties by position; a total order, so the same whatever order rows come in."""
    order = np.lexsort((rows[:, 1], -rows[:, 0]))
    return rows[order[:n]]


def _pieces(v: np.ndarray, keep: np.ndarray | None) -> Iterator[np.ndarray]:
    """The finite values of ``v`` (where ``keep``), ``hist_chunk`` at a time."""
    step = current().hist_chunk
    for s in range(0, v.size, step):
        part = v[s : s + step]
        if keep is not None:
            part = part[keep[s : s + step]]
        yield part[np.isfinite(part)]


def histogram(
    losses: np.typing.ArrayLike, bins: int = HIST_BINS, *, where: np.typing.ArrayLike | None = None
) -> dict[str, list[Any]]:
    """``bins`` equal-width bins from ``min(0, lowest)`` to the highest finite loss
    (``numpy.histogram``'s: ``[lo, hi)``, the last closed), read ``hist_chunk`` values at a
    time; non-finite losses, and those where ``where`` is False, are left out.

    >>> histogram([0.1, 0.2, 1.0], bins=2)
    {'edges': [0.0, 0.5, 1.0], 'counts': [2, 1]}
    >>> histogram([0.1, 0.2, 1.0], bins=2, where=[True, False, True])["counts"]
    [1, 1]
    """
    v = np.asarray(losses, dtype=np.float64).reshape(-1)
    keep = None if where is None else np.asarray(where, dtype=bool).reshape(-1)
    if keep is not None and keep.size != v.size:
        raise ValueError(f"where has {keep.size} values, expected {v.size}")
    lo, hi, seen = math.inf, -math.inf, False
    for part in _pieces(v, keep):
        if part.size:
            lo, hi, seen = min(lo, float(part.min())), max(hi, float(part.max())), True
    lo = min(0.0, lo) if seen else 0.0
    hi = hi if seen else 1.0
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(np.zeros(0), bins=bins, range=(lo, hi))
    for part in _pieces(v, keep):
        counts += np.histogram(part, bins=bins, range=(lo, hi))[0]
    return {"edges": edges.tolist(), "counts": counts.tolist()}
