"""The numerics of cross-entropy, in NumPy only.

Everything here follows ``torch.nn.functional.cross_entropy`` (see the README's "How it matches
PyTorch"): the class axis is moved last and the input flattened to ``(M, C)`` rows, the
log-softmax is a max-shifted log-sum-exp, and every sum is accumulated in float64.
Nothing here prints, imports anything but NumPy, or mutates its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import numpy.typing as npt

from .targets import Targets, prepare_targets

__all__ = [
    "LossResult",
    "compute_dtype",
    "cross_entropy",
    "cross_entropy_grad",
    "evaluate",
    "log_softmax",
    "softmax",
]

REDUCTIONS = ("mean", "sum", "none")
INPUT_KINDS = ("logits", "probs", "logprobs")
DTYPES = ("auto", "float64", "float32")

ArrayLike = npt.ArrayLike
Loss = float | np.ndarray


def compute_dtype(input_dtype: np.dtype, dtype: str | None = None) -> np.dtype:
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
        raise ValueError(f"dtype must be one of auto, float64, float32; got {dtype!r}")
    return np.dtype(dtype)


def _as_float(x: ArrayLike, dtype: str | None = None) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"expected a real numeric array, got dtype {arr.dtype}")
    return arr.astype(compute_dtype(arr.dtype, dtype), copy=False)


def _big(x: object) -> bool:
    """Whether ``x`` goes to the bounded-memory, multi-threaded path of :mod:`xent_cli.blocks`:
    an array of more than a few MiB. By size only, so a small file gives the same bits
    whether it was memory-mapped (.npy) or parsed (CSV, JSON)."""
    return isinstance(x, np.ndarray) and x.nbytes > _BLOCKED_BYTES


_BLOCKED_BYTES = 4 << 20


def _blocks() -> ModuleType:
    """:mod:`xent_cli.blocks`, imported on first use: small inputs never pay for it."""
    from . import blocks

    return blocks


def log_softmax(x: ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Stable log-softmax: :math:`z - \max z - \log\sum_c e^{z_c - \max z}` along ``axis``.

    A row holding ``+inf`` or ``nan``, or only ``-inf``, gives ``nan`` as torch does.
    ``dtype`` is the compute precision (see :func:`compute_dtype`).

    >>> log_softmax([0.0, 1.0, 2.0, 3.0]).round(4)
    array([-3.4402, -2.4402, -1.4402, -0.4402])
    """
    if _big(x):
        from .blocks import softmax_blocked

        return softmax_blocked(x, axis, log=True, dtype=dtype)
    arr = _as_float(x, dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = arr - np.max(arr, axis=axis, keepdims=True)
        sums = np.sum(np.exp(shifted), axis=axis, keepdims=True, dtype=np.float64)
        shifted -= np.log(sums).astype(shifted.dtype)
    return shifted


def softmax(x: ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Softmax :math:`e^{z_c - \max z} / \sum_k e^{z_k - \max z}` along ``axis``.

    >>> softmax([1.0, 1.0, 2.0, 2.0]).round(4)
    array([0.1345, 0.1345, 0.3655, 0.3655])
    """
    if _big(x):
        from .blocks import softmax_blocked

        return softmax_blocked(x, axis, dtype=dtype)
    arr = _as_float(x, dtype)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = np.exp(arr - np.max(arr, axis=axis, keepdims=True))
        sums = np.sum(e, axis=axis, keepdims=True, dtype=np.float64)
        # Multiply by the reciprocal, as torch's CPU kernel does: the same last bit more often.
        e *= (1.0 / sums).astype(e.dtype)
    return e


def _row_log_probs(x2: np.ndarray, input_kind: str) -> np.ndarray:
    """log p for each row of an ``(M, C)`` array given as logits, probabilities or log-probs."""
    if input_kind == "logits":
        return log_softmax(x2, axis=1)
    if input_kind == "logprobs":
        return x2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x2)


@dataclass(frozen=True)
class LossResult:
    """A loss with what it was made of.

    ``loss`` is a float for ``mean``/``sum`` and an array of the batch shape for ``none``;
    ``per_sample`` is always the unreduced loss (batch shape, float64); ``count`` is the number
    of targets used (not ignored); ``weight_sum`` is the divisor of the mean.
    """

    loss: Loss
    per_sample: np.ndarray
    reduction: str
    count: int
    weight_sum: float


def _check_options(reduction: str, label_smoothing: float, input_kind: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (mean, sum, none)")
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of logits, probs, logprobs; got {input_kind!r}")


def _losses(logp: np.ndarray, t: Targets, label_smoothing: float) -> np.ndarray:
    """Per-row loss ``-sum_c A[n, c] log p[n, c]`` (float64), 0 for ignored rows."""
    n_rows, n_classes = logp.shape
    eps = float(label_smoothing)
    w = t.weight
    if t.index is not None:
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
    return loss


def _reduce(loss: np.ndarray, t: Targets, reduction: str) -> tuple[Loss, int, float]:
    """The reduction, the count of targets used and the divisor of the mean."""
    count = int(np.count_nonzero(t.valid))
    if t.weight is None and t.sample_weight is None:  # the divisor is a count, exactly
        weight_sum = float(count) if t.index is not None else float(t.n_rows)
    else:
        weight_sum = t.weight_sum()
    if reduction == "none":
        return loss.reshape(t.batch_shape), count, weight_sum
    total = np.sum(loss, dtype=np.float64)
    if reduction == "sum":
        return float(total), count, weight_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(total) / np.float64(weight_sum)), count, weight_sum


def evaluate(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_axis: int = 1,
    input_kind: str = "logits",
    sample_weight: ArrayLike | None = None,
    targets_kind: str = "auto",
    dtype: str | None = None,
    threads: int | None = None,
) -> LossResult:
    """Cross-entropy with its parts: the reduced loss, per-sample losses, count and divisor.

    Arguments are those of :func:`cross_entropy`.

    >>> r = evaluate(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3])
    >>> round(r.loss, 4), r.per_sample.round(4).tolist(), r.count, r.weight_sum
    (1.4402, [2.4402, 1.4402, 0.4402], 3, 3.0)
    """
    if _big(input):  # every argument, as given, to the bounded-memory path
        return _blocks().evaluate_blocked(**locals())
    _check_options(reduction, label_smoothing, input_kind)
    x = _as_float(input, dtype)
    t = prepare_targets(
        x.shape,
        target,
        class_axis=class_axis,
        weight=weight,
        ignore_index=ignore_index,
        sample_weight=sample_weight,
        targets_kind=targets_kind,
    )
    logp = _row_log_probs(t.rows(x), input_kind)
    loss = _losses(logp, t, label_smoothing)
    reduced, count, weight_sum = _reduce(loss, t, reduction)
    return LossResult(reduced, loss.reshape(t.batch_shape), reduction, count, weight_sum)


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_axis: int = 1,
    input_kind: str = "logits",
    sample_weight: ArrayLike | None = None,
    targets_kind: str = "auto",
    dtype: str | None = None,
    threads: int | None = None,
) -> Loss:
    r"""PyTorch's ``cross_entropy(input, target, ...)``, computed with NumPy.

    For class-index targets :math:`y_n` with class weights :math:`w` and smoothing
    :math:`\varepsilon`, each sample costs
    :math:`l_n = (1-\varepsilon)\,w_{y_n}(-\log p_{n,y_n})
    + \tfrac{\varepsilon}{C}\sum_c w_c(-\log p_{n,c})`
    (0 when :math:`y_n` = ``ignore_index``); ``mean`` divides :math:`\sum_n l_n` by
    :math:`\sum_{n\,\mathrm{valid}} w_{y_n}`. For probability targets :math:`q` (same shape as the
    input), :math:`l_n = -\sum_c w_c q'_{n,c}\log p_{n,c}` with
    :math:`q' = (1-\varepsilon)q + \varepsilon/C`, and ``mean`` divides by the number of samples.
    ``sample_weight`` multiplies :math:`l_n` and its share of the divisor.

    Parameters
    ----------
    input : array_like
        Shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)`` (class axis ``class_axis``).
    target : array_like
        Class indices (the input's shape without the class axis) or probabilities (its shape).
    weight : array_like, optional
        One weight per class.
    ignore_index : int
        Index targets equal to this are left out of the loss and of the mean's divisor.
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]
    class_axis : int
        The class axis (negative counts from the end); 1-D input always uses axis 0.
    input_kind : {"logits", "probs", "logprobs"}
        What ``input`` holds: raw scores, probabilities, or log-probabilities (as NLLLoss).
    sample_weight : array_like, optional
        One weight per sample (the batch shape, or flat).
    targets_kind : {"auto", "index", "prob"}
        ``auto``: targets with the input's shape are probabilities, other shapes are indices.
    dtype : {None, "auto", "float32", "float64"}
        Precision of the row-wise math; sums are always float64.
    threads : int, optional
        Worker threads for blocked execution of large inputs (``None``: every core).

    Returns
    -------
    float or numpy.ndarray
        A float for ``mean`` and ``sum``; the per-sample losses (batch shape) for ``none``.

    Examples
    --------
    >>> logits = np.arange(1.0, 13.0).reshape(3, 4)
    >>> round(cross_entropy(logits, [1, 2, 3]), 4)
    1.4402
    >>> round(cross_entropy(logits, [1, 2, 3], reduction="sum"), 4)
    4.3206
    """
    return evaluate(**locals()).loss  # the same arguments, by name


def _coefficients(t: Targets, n_classes: int, label_smoothing: float) -> np.ndarray:
    """``A`` with ``loss_n = -sum_c A[n, c] log p[n, c]``: the effective target distribution."""
    eps = float(label_smoothing)
    n_rows = t.n_rows
    w = t.weight if t.weight is not None else np.ones(n_classes)
    if t.index is not None:
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


def _grad_rows(
    rows: np.ndarray, a: np.ndarray, input_kind: str, divisor: float | None
) -> np.ndarray:
    """d loss / d rows from the effective targets ``a`` (modified), scaled by ``1/divisor``
    for a mean (``None`` for sum and none)."""
    with np.errstate(divide="ignore"):
        scale = None if divisor is None else np.float64(1.0) / np.float64(divisor)
    return _grad_scaled(rows, a, input_kind, scale)


def _grad_scaled(
    rows: np.ndarray, a: np.ndarray, input_kind: str, scale: np.float64 | None
) -> np.ndarray:
    """:func:`_grad_rows` with ``1/divisor`` given (``None``: no scaling); also one block's
    gradient in the blocked pass."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale is not None:
            # Entries with no target mass stay exactly 0 even when the divisor is 0 (torch).
            np.multiply(a, scale, out=a, where=a != 0.0)
        if input_kind == "logits":
            p = softmax(rows, axis=1).astype(np.float64)
            return p * a.sum(axis=1, keepdims=True) - a
        if input_kind == "logprobs":
            return -a
        return np.where(a == 0.0, 0.0, -a / rows.astype(np.float64))


def cross_entropy_grad(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_axis: int = 1,
    input_kind: str = "logits",
    sample_weight: ArrayLike | None = None,
    targets_kind: str = "auto",
    dtype: str | None = None,
    threads: int | None = None,
) -> np.ndarray:
    r"""d loss / d input, the gradient torch's autograd gives (float64, the input's shape).

    With :math:`A_{n,c}` the effective target (``w_c q'_{n,c}``; for index targets
    :math:`(1-\varepsilon) w_{y_n} [c = y_n] + \tfrac{\varepsilon}{C} w_c`) and :math:`s` the
    reduction's scale (``1/divisor`` for mean, 1 for sum and for none, which is the gradient
    of the sum), the gradient for logits is :math:`s\,(p_{n,c}\sum_k A_{n,k} - A_{n,c})`;
    for log-probabilities it is :math:`-s A`, for probabilities :math:`-s A / p`.
    Arguments are those of :func:`cross_entropy`.

    >>> g = cross_entropy_grad(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3], reduction="sum")
    >>> g[0].round(4)
    array([ 0.0321, -0.9129,  0.2369,  0.6439])
    """
    if _big(input):  # every argument, as given, to the bounded-memory path
        return _blocks().grad_blocked(**locals())
    _check_options(reduction, label_smoothing, input_kind)
    x = _as_float(input, dtype)
    t = prepare_targets(
        x.shape,
        target,
        class_axis=class_axis,
        weight=weight,
        ignore_index=ignore_index,
        sample_weight=sample_weight,
        targets_kind=targets_kind,
    )
    rows = t.rows(x)
    a = _coefficients(t, rows.shape[1], label_smoothing)
    divisor = np.float64(t.weight_sum()) if reduction == "mean" else None
    grad = _grad_rows(rows, a, input_kind, divisor)
    return t.unrows(grad)
