"""The steps of the loss as data, for the CLI (or a notebook) to render: the source post's
logits, max shift, exp and row sums, softmax, each sample's ``-log p``, the reduction. Only
the first ``rows`` samples are read (not the rest of a big input); the losses are kept for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import (
    IndexTargets,
    LossResult,
    ProbTargets,
    Targets,
    coefficients,
    grad_scaled,
    mean_scale,
    position,
    row_log_probs,
    softmax,
)
from ..engine import sample_rows
from ..spec import LossSpec


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
    """The steps for the first ``len(shown)`` samples (arrays of ``(R,)`` or ``(R, C)``), and
    the totals for all. For probabilities or log-probabilities there is no shift/exp step
    (``shifted``, ``exp``, ``exp_sum`` are None) and ``softmax`` is the probabilities given."""

    options: Options
    input_shape: tuple[int, ...]
    n_samples: int
    n_classes: int
    shown: np.ndarray  # (R,) flat sample numbers
    positions: list[int | tuple[int, ...]]  # (R,) each sample's index in the batch shape
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


def _first_targets(x: np.ndarray, t: Targets, r: int) -> Targets:
    """The targets of the first ``r`` samples, as ``(r, C)`` rows."""
    sw = None if t.sample_weight is None else t.sample_weight[:r]
    shape = (r, t.n_classes)
    if isinstance(t, ProbTargets):
        prob = sample_rows(t.array, t.class_axis, 0, r).astype(np.float64)
        return ProbTargets(shape, 1, t.weight, sw, array=prob)
    return IndexTargets(shape, 1, t.weight, sw, index=t.index[:r], valid=t.valid[:r])


def explain_steps(
    x: np.ndarray,
    t: Targets,
    spec: LossSpec,
    result: LossResult,
    *,
    rows: int | None = 10,
    grad: bool = False,
) -> Explanation:
    """Every intermediate step of the loss ``result`` of ``x`` against ``t``, for the first
    ``rows`` samples (``None``: all); ``grad`` adds the gradient rows.

    >>> from xent_cli.core import evaluate, prepare_targets
    >>> x = np.arange(1.0, 13.0).reshape(3, 4)
    >>> t = prepare_targets(x.shape, [1, 2, 3])
    >>> e = explain_steps(x, t, LossSpec(), evaluate(x, t, LossSpec()))
    >>> e.softmax[0].round(4).tolist(), e.loss.round(4).tolist(), round(e.result.loss, 4)
    ([0.0321, 0.0871, 0.2369, 0.6439], [2.4402, 1.4402, 0.4402], 1.4402)
    """
    n_rows, n_classes, axis = t.n_rows, t.n_classes, t.class_axis
    r = n_rows if rows is None else min(max(int(rows), 0), n_rows)
    shown = np.arange(r)
    tr = _first_targets(x, t, r)
    zc = sample_rows(x, axis, 0, r, spec.dtype)  # the compute precision, as the loss used
    z = zc.astype(np.float64)
    lp = row_log_probs(zc, spec.input_kind).astype(np.float64)
    eps = spec.label_smoothing
    w = t.weight
    steps: dict[str, Any] = {"row_max": None, "shifted": None, "exp": None, "exp_sum": None}
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if spec.input_kind == "logits":
            row_max = np.max(z, axis=1)
            shifted = z - row_max[:, None]
            ex = np.exp(shifted)
            steps.update(row_max=row_max, shifted=shifted, exp=ex, exp_sum=ex.sum(axis=1))
            probs = softmax(zc, axis=1).astype(np.float64)
        else:
            probs = z.copy() if spec.input_kind == "probs" else np.exp(z)
        smooth = None
        if eps > 0.0:
            smooth = -(lp @ w) if w is not None else -lp.sum(axis=1)
        class_w = p_t = None
        if isinstance(tr, IndexTargets):
            valid = tr.valid
            tgt = tr.index
            safe = np.where(valid, tgt, 0)
            p_t = np.where(valid, probs[shown, safe], np.nan)
            nll = np.where(valid, -lp[shown, safe], 0.0)
            if w is not None:
                class_w = np.where(valid, w[safe], 0.0)
        else:
            valid = np.ones(r, bool)
            tgt = tr.prob.astype(np.float64)
            nll = -np.einsum("nc,nc->n", tgt, lp)
    g = None
    if grad:
        a = coefficients(tr, n_classes, eps)
        scale = mean_scale(result.weight_sum) if spec.reduction == "mean" else None
        g = grad_scaled(zc, a, spec.input_kind, scale)
    options = Options(
        spec.reduction,
        None if w is None else w.copy(),
        int(spec.ignore_index),
        eps,
        spec.input_kind,
        t.sample_weight is not None,
        axis,
        "index" if isinstance(t, IndexTargets) else "prob",
        len(t.input_shape),
    )
    return Explanation(
        options=options,
        input_shape=tuple(t.input_shape),
        n_samples=n_rows,
        n_classes=n_classes,
        shown=shown,
        positions=[position(int(i), t.batch_shape) for i in shown],
        logits=z,
        softmax=probs,
        target=tgt,
        ignored=~valid,
        p_target=p_t,
        nll=nll,
        smooth_term=smooth,
        class_weight=class_w,
        sample_weight=tr.sample_weight,
        loss=np.asarray(result.per_sample).reshape(-1)[:r],
        grad=g,
        result=result,
        **steps,
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
