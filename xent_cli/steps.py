"""``explain()``: every step of the loss as data, for the CLI (or a notebook) to render.

The steps are those of the source post: the logits, the max shift, exp and the row sums, the
softmax table with the target's probability, each sample's ``-log p``, and the reduction.
Only the first ``rows`` samples are materialised; the per-sample losses are kept for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .core import (
    LossResult,
    _check_options,
    _coefficients,
    _grad_rows,
    _row_log_probs,
    softmax,
)
from .targets import Targets, class_indices, normalize_class_axis, resolve_kind

if TYPE_CHECKING:  # blocks is imported only for big inputs
    from .blocks import Scan


@dataclass(frozen=True)
class Options:
    """The options of the call being explained (what ``nn.CrossEntropyLoss`` would be given)."""

    reduction: str
    weight: np.ndarray | None
    ignore_index: int
    label_smoothing: float
    input_kind: str
    sample_weight: bool
    class_axis: int
    targets_kind: str  # "index" or "prob", as resolved
    ndim: int = 2  # rank of the input (a 1-D input has its classes on axis 0)


@dataclass(frozen=True)
class Explanation:
    """The steps for the first ``len(shown)`` samples, and the totals for all of them.

    Arrays named per row have one entry per shown sample, ``(R,)`` or ``(R, C)``.
    For ``input_kind`` ``probs`` or ``logprobs`` there is no shift/exp step (``shifted``,
    ``exp`` and ``exp_sum`` are None) and ``softmax`` is the probabilities given.
    """

    options: Options
    input_shape: tuple[int, ...]
    n_samples: int
    n_classes: int
    shown: np.ndarray  # (R,) flat sample numbers
    positions: list  # (R,) the sample's index in the batch shape: int, or a tuple for K-dim
    logits: np.ndarray  # (R, C) the input rows as given (float64)
    row_max: np.ndarray | None  # (R,)
    shifted: np.ndarray | None  # (R, C) z - max z
    exp: np.ndarray | None  # (R, C)
    exp_sum: np.ndarray | None  # (R,)
    softmax: np.ndarray  # (R, C)
    target: np.ndarray  # (R,) class index (ignore_index when ignored) or (R, C) probabilities
    ignored: np.ndarray  # (R,) bool
    p_target: np.ndarray | None  # (R,) p[y] for index targets (NaN when ignored)
    nll: np.ndarray  # (R,) -log p[y] (index) or -sum q log p (prob), before weights/smoothing
    smooth_term: np.ndarray | None  # (R,) sum_c w_c (-log p_c), when label_smoothing > 0
    class_weight: np.ndarray | None  # (R,) w[y] (index targets with weight)
    sample_weight: np.ndarray | None  # (R,)
    loss: np.ndarray  # (R,) the per-sample loss
    grad: np.ndarray | None  # (R, C) d loss / d input, when asked for
    result: LossResult  # the reduced loss, all per-sample losses, count and divisor


def _positions(shown: np.ndarray, batch_shape: tuple[int, ...]) -> list:
    if len(batch_shape) <= 1:
        return [int(i) for i in shown]
    return [tuple(int(c) for c in np.unravel_index(int(i), batch_shape)) for i in shown]


def _first_targets(
    shape: tuple[int, ...],
    axis: int,
    target: npt.ArrayLike,
    r: int,
    weight: npt.ArrayLike | None,
    ignore_index: int,
    sample_weight: npt.ArrayLike | None,
    targets_kind: str,
) -> Targets:
    """The targets of the first ``r`` samples, as ``(r, C)`` rows (already validated whole)."""
    from .blocks import sample_rows

    tgt = target if isinstance(target, np.ndarray) else np.asarray(target)
    n_classes = shape[axis]
    w = None if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    sw = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64).reshape(-1)[:r]
    if resolve_kind(shape, tgt.shape, targets_kind) == "prob":
        prob = sample_rows(tgt, axis, 0, r).astype(np.float64)
        return Targets((r, n_classes), 1, None, prob, np.ones(r, bool), w, sw)
    idx = class_indices(tgt.reshape(-1)[:r], n_classes, ignore_index, (r,))
    return Targets((r, n_classes), 1, idx, None, idx != ignore_index, w, sw)


def explain(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_axis: int = 1,
    input_kind: str = "logits",
    sample_weight: npt.ArrayLike | None = None,
    targets_kind: str = "auto",
    dtype: str | None = None,
    threads: int | None = None,
    rows: int | None = 10,
    grad: bool = False,
    scan: Scan | None = None,
) -> Explanation:
    """Compute the loss and return every intermediate step (arguments of ``cross_entropy``).

    ``rows`` limits the samples whose steps are kept (``None``: all); ``grad`` adds the
    gradient rows. ``scan`` (a :class:`~xent_cli.blocks.Scan`, e.g. ``NonFiniteScan``) sees
    every block of a big input's loss pass (:func:`xent_cli.blocks.evaluate_blocked`).

    >>> e = explain(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3])
    >>> e.softmax[0].round(4).tolist(), e.loss.round(4).tolist(), round(e.result.loss, 4)
    ([0.0321, 0.0871, 0.2369, 0.6439], [2.4402, 1.4402, 0.4402], 1.4402)
    """
    loss_args = {k: v for k, v in locals().items() if k not in ("rows", "grad", "scan")}
    _check_options(reduction, label_smoothing, input_kind)
    from .blocks import sample_rows
    from .core import evaluate

    # The loss over every sample (the blocked path for big inputs), then the steps for the
    # first `rows` samples only: nothing N x C is materialised.
    if scan is not None:
        from .blocks import evaluate_blocked

        result = evaluate_blocked(**loss_args, scan=scan)
    else:
        result = evaluate(**loss_args)
    arr = input if isinstance(input, np.ndarray) else np.asarray(input)
    axis = normalize_class_axis(arr.ndim, class_axis)
    n_classes = arr.shape[axis]
    batch_shape = arr.shape[:axis] + arr.shape[axis + 1 :]
    n_rows = int(np.prod(batch_shape, dtype=np.int64))
    r = n_rows if rows is None else min(max(int(rows), 0), n_rows)
    shown = np.arange(r)
    t = _first_targets(
        arr.shape, axis, target, r, weight, ignore_index, sample_weight, targets_kind
    )
    zc = sample_rows(arr, axis, 0, r, dtype)  # the compute precision, as the loss used
    z = zc.astype(np.float64)
    lp = _row_log_probs(zc, input_kind).astype(np.float64)
    eps = float(label_smoothing)
    w = t.weight
    row_max = shifted = ex = ex_sum = None
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if input_kind == "logits":
            row_max = np.max(z, axis=1)
            shifted = z - row_max[:, None]
            ex = np.exp(shifted)
            ex_sum = ex.sum(axis=1)
            probs = softmax(zc, axis=1).astype(np.float64)
        else:
            probs = z.copy() if input_kind == "probs" else np.exp(z)
        smooth = None
        if eps > 0.0:
            smooth = -(lp @ w) if w is not None else -lp.sum(axis=1)
        class_w = p_t = None
        if t.index is not None:
            valid = t.valid
            tgt = t.index
            safe = np.where(valid, tgt, 0)
            p_t = np.where(valid, probs[shown, safe], np.nan)
            nll = np.where(valid, -lp[shown, safe], 0.0)
            if w is not None:
                class_w = np.where(valid, w[safe], 0.0)
        else:
            valid = np.ones(r, bool)
            tgt = t.prob.astype(np.float64)
            nll = -np.einsum("nc,nc->n", tgt, lp)
    g = None
    if grad:
        a = _coefficients(t, n_classes, eps)
        g = _grad_rows(zc, a, input_kind, result.weight_sum if reduction == "mean" else None)
    losses = np.asarray(result.per_sample).reshape(-1)
    options = Options(
        reduction,
        None if w is None else w.copy(),
        int(ignore_index),
        eps,
        input_kind,
        sample_weight is not None,
        axis,
        "index" if t.index is not None else "prob",
        arr.ndim,
    )
    return Explanation(
        options=options,
        input_shape=tuple(arr.shape),
        n_samples=n_rows,
        n_classes=n_classes,
        shown=shown,
        positions=_positions(shown, batch_shape),
        logits=z,
        row_max=row_max,
        shifted=shifted,
        exp=ex,
        exp_sum=ex_sum,
        softmax=probs,
        target=tgt,
        ignored=~valid,
        p_target=p_t,
        nll=nll,
        smooth_term=smooth,
        class_weight=class_w,
        sample_weight=None if t.sample_weight is None else t.sample_weight[:r],
        loss=losses[:r],
        grad=g,
        result=result,
    )


def torch_call(options: Options) -> str:
    """The equivalent PyTorch expression, e.g. ``nn.CrossEntropyLoss()(logits, labels)``.

    >>> o = Options("sum", None, -100, 0.0, "logits", False, 1, "index")
    >>> torch_call(o)
    'nn.CrossEntropyLoss(reduction="sum")(logits, labels)'
    """
    args = []
    if options.weight is not None:
        vals = ", ".join(repr(float(v)) for v in options.weight)
        args.append(f"weight=torch.tensor([{vals}])")
    if options.ignore_index != -100:
        args.append(f"ignore_index={options.ignore_index}")
    if options.reduction != "mean":
        args.append(f'reduction="{options.reduction}"')
    if options.label_smoothing:
        args.append(f"label_smoothing={options.label_smoothing!r}")
    given = {"logits": "logits", "probs": "probs.log()", "logprobs": "logprobs"}
    inp = given[options.input_kind]
    if options.ndim > 1 and options.class_axis != 1:
        inp = f"{inp}.movedim({options.class_axis}, 1)"
    target = "labels" if options.targets_kind == "index" else "probs"
    if target == "probs" and options.input_kind == "probs":
        target = "target_probs"
    if options.sample_weight:
        args = [a for a in args if not a.startswith("reduction")] + ['reduction="none"']
    plain_nll = options.label_smoothing == 0.0 and options.targets_kind == "index"
    if options.input_kind != "logits" and plain_nll:
        # NLLLoss takes log-probabilities as they are.
        call = f"nn.NLLLoss({', '.join(args)})({inp}, {target})"
    else:
        # NLLLoss has no label_smoothing and no soft targets; CrossEntropyLoss on normalised
        # log-probabilities gives the same numbers (log_softmax leaves them unchanged).
        call = f"nn.CrossEntropyLoss({', '.join(args)})({inp}, {target})"
    if options.sample_weight:
        call += f"  # then × sample_weight and reduce by {options.reduction}"
    return call


__all__ = ["Explanation", "Options", "explain", "torch_call"]
