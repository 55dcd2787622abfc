"""The numerics of cross-entropy, in NumPy only, in memory: the readable reference.

It follows ``torch.nn.functional.cross_entropy`` on ``(M, C)`` rows (laid out by the
targets): a max-shifted log-sum-exp, every sum in float64. Nothing here prints or mutates
its inputs; the engine repeats these operations block by block, for the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError, UsageError
from ..spec import DTYPES, LossSpec
from .targets import IndexTargets, Targets

Loss = float | np.ndarray


def compute_dtype(input_dtype: np.typing.DTypeLike, dtype: str | None = None) -> np.dtype:
    """The dtype the row-wise math runs in.

    ``auto`` (``None``) computes float16 and float32 input in float32 and everything else
    (float64, integers from text files) in float64; ``"float32"``/``"float64"`` force it.

    >>> compute_dtype(np.dtype(np.float16))
    dtype('float32')
    """
    if dtype in (None, "auto"):
        kind = np.dtype(input_dtype)
        small = kind.kind == "f" and kind.itemsize <= 4  # either byte order
        return np.dtype(np.float32) if small else np.dtype(np.float64)
    if dtype not in DTYPES:
        raise UsageError(f"dtype must be one of auto, float64, float32; got {dtype!r}")
    return np.dtype(dtype)


def as_numeric(x: np.typing.ArrayLike) -> np.ndarray:
    """The input as an array (a memory map stays one), refused unless it holds real numbers.

    >>> as_numeric([1, 2]).tolist()
    [1, 2]
    """
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"expected a real numeric array, got dtype {arr.dtype}")
    return arr


def as_float(x: np.typing.ArrayLike, dtype: str | None = None) -> np.ndarray:
    """The input in the compute precision (:func:`compute_dtype`; no copy when it is)."""
    arr = as_numeric(x)
    return arr.astype(compute_dtype(arr.dtype, dtype), copy=False)


def log_softmax(x: np.typing.ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Stable log-softmax: :math:`z - \max z - \log\sum_c e^{z_c - \max z}` along ``axis``.

    >>> log_softmax([0.0, 1.0, 2.0, 3.0]).round(4)
    array([-3.4402, -2.4402, -1.4402, -0.4402])
    """
    arr = as_float(x, dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted: np.ndarray = arr - np.max(arr, axis=axis, keepdims=True)
        sums = np.sum(np.exp(shifted), axis=axis, keepdims=True, dtype=np.float64)
        shifted -= np.log(sums).astype(shifted.dtype)
    return shifted


def softmax(x: np.typing.ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Softmax :math:`e^{z_c - \max z} / \sum_k e^{z_k - \max z}` along ``axis``.

    >>> softmax([1.0, 1.0, 2.0, 2.0]).round(4)
    array([0.1345, 0.1345, 0.3655, 0.3655])
    """
    arr = as_float(x, dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e: np.ndarray = np.exp(arr - np.max(arr, axis=axis, keepdims=True))
        sums = np.sum(e, axis=axis, keepdims=True, dtype=np.float64)
        # Multiply by the reciprocal, as torch's CPU kernel does: the same last bit more often.
        e *= (1.0 / sums).astype(e.dtype)
    return e


def row_log_probs(x2: np.ndarray, input_kind: str) -> np.ndarray:
    """log p for each row of an ``(M, C)`` array given as logits, probabilities or log-probs.

    >>> row_log_probs(np.array([[0.0, 0.0]]), "logits").round(4).tolist()
    [[-0.6931, -0.6931]]
    """
    if input_kind == "logits":
        return log_softmax(x2, axis=1)
    if input_kind == "logprobs":
        return x2
    with np.errstate(divide="ignore", invalid="ignore"):
        logp: np.ndarray = np.log(x2)
    return logp


@dataclass(frozen=True)
class LossResult:
    """A loss with what it was made of: ``loss`` (a float for ``mean``/``sum``, an array of the
    batch shape for ``none``), ``per_sample`` (unreduced, float64), ``count`` (targets used) and
    ``weight_sum`` (the divisor of the mean)."""

    loss: Loss
    per_sample: np.ndarray
    reduction: str
    count: int
    weight_sum: float


def losses(logp: np.ndarray, t: Targets, label_smoothing: float) -> np.ndarray:
    """Per-row loss ``-sum_c A[n, c] log p[n, c]`` (float64), 0 for ignored rows."""
    n_rows, n_classes = logp.shape
    eps = float(label_smoothing)
    w = t.weight
    if isinstance(t, IndexTargets):
        safe = np.where(t.valid, t.index, 0)
        nll = -logp[np.arange(n_rows), safe].astype(np.float64)
        wy = w[safe] if w is not None else 1.0
        loss = wy * nll
        if eps > 0.0:
            logp64 = logp.astype(np.float64)
            smooth = -(logp64 @ w) if w is not None else -logp64.sum(axis=1)
            with np.errstate(invalid="ignore"):
                loss = (1.0 - eps) * loss + (eps / n_classes) * smooth
        loss = np.where(t.valid, loss, 0.0)
    else:
        q = t.prob.astype(np.float64)
        if eps > 0.0:
            q = q * (1.0 - eps) + eps / n_classes
        if w is not None:
            q = q * w
        with np.errstate(invalid="ignore"):
            loss = -np.einsum("nc,nc->n", q, logp.astype(np.float64))
    if t.sample_weight is not None:
        loss = loss * t.sample_weight
    return np.asarray(loss)


def reduce(loss: np.ndarray, t: Targets, reduction: str) -> tuple[Loss, int, float]:
    """The reduction, the count of targets used and the divisor of the mean."""
    count = int(np.count_nonzero(t.valid))
    unweighted = t.weight is None and t.sample_weight is None  # the divisor is a count, exactly
    weight_sum = float(count) if unweighted else t.weight_sum()
    if reduction == "none":
        return loss.reshape(t.batch_shape), count, weight_sum
    total = np.sum(loss, dtype=np.float64)
    if reduction == "sum":
        return float(total), count, weight_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(total) / np.float64(weight_sum)), count, weight_sum


def evaluate(x: np.ndarray, t: Targets, spec: LossSpec) -> LossResult:
    """The loss of input ``x`` against checked targets ``t`` (made for ``x``'s shape), with
    its parts: the reduced loss, per-sample losses, count and divisor.

    >>> from xent_cli.core.targets import prepare_targets
    >>> x = np.arange(1.0, 13.0).reshape(3, 4)
    >>> r = evaluate(x, prepare_targets(x.shape, [1, 2, 3]), LossSpec())
    >>> round(r.loss, 4), r.per_sample.round(4).tolist(), r.count, r.weight_sum
    (1.4402, [2.4402, 1.4402, 0.4402], 3, 3.0)
    """
    logp = row_log_probs(t.rows(as_float(x, spec.dtype)), spec.input_kind)
    loss = losses(logp, t, spec.label_smoothing)
    reduced, count, weight_sum = reduce(loss, t, spec.reduction)
    return LossResult(reduced, loss.reshape(t.batch_shape), spec.reduction, count, weight_sum)


def coefficients(t: Targets, n_classes: int, label_smoothing: float) -> np.ndarray:
    """``A`` with ``loss_n = -sum_c A[n, c] log p[n, c]``: the effective target distribution."""
    eps = float(label_smoothing)
    n_rows = t.n_rows
    w = t.weight if t.weight is not None else np.ones(n_classes)
    if isinstance(t, IndexTargets):
        safe = np.where(t.valid, t.index, 0)
        a = np.zeros((n_rows, n_classes))
        a[np.arange(n_rows), safe] = (1.0 - eps) * w[safe]
        if eps > 0.0:
            a += (eps / n_classes) * w
        a[~t.valid] = 0.0
    else:
        q = t.prob.astype(np.float64)
        a = (q * (1.0 - eps) + eps / n_classes) * w if eps > 0.0 else q * w
    if t.sample_weight is not None:
        a *= t.sample_weight[:, None]
    return a


def grad_scaled(
    rows: np.ndarray, a: np.ndarray, input_kind: str, scale: np.float64 | None
) -> np.ndarray:
    """d loss / d rows from the effective targets ``a`` (modified), scaled by ``scale``
    (``1/divisor`` for a mean; ``None``: no scaling); also one block's gradient in the
    blocked pass."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale is not None:
            # Entries with no target mass stay exactly 0 even when the divisor is 0 (torch).
            np.multiply(a, scale, out=a, where=a != 0.0)
        if input_kind == "logits":
            p = softmax(rows, axis=1).astype(np.float64)
            return np.asarray(p * a.sum(axis=1, keepdims=True) - a)
        if input_kind == "logprobs":
            return -a
        return np.where(a == 0.0, 0.0, -a / rows.astype(np.float64))


def mean_scale(divisor: float) -> np.float64:
    """``1/divisor``, the gradient's scale for ``mean`` (inf for a divisor of 0)."""
    with np.errstate(divide="ignore"):
        return np.float64(1.0) / np.float64(divisor)


def grad(x: np.ndarray, t: Targets, spec: LossSpec) -> np.ndarray:
    """d loss / d input for checked targets ``t``: float64, the input's shape.

    >>> from xent_cli.core.targets import prepare_targets
    >>> x = np.arange(1.0, 13.0).reshape(3, 4)
    >>> grad(x, prepare_targets(x.shape, [1, 2, 3]), LossSpec(reduction="sum"))[0].round(4)
    array([ 0.0321, -0.9129,  0.2369,  0.6439])
    """
    rows = t.rows(as_float(x, spec.dtype))
    a = coefficients(t, rows.shape[1], spec.label_smoothing)
    scale = mean_scale(t.weight_sum()) if spec.reduction == "mean" else None
    return t.unrows(grad_scaled(rows, a, spec.input_kind, scale))
