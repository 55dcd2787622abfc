"""The public functions, and the one place that chooses how they run.

Each public function checks torch's keywords once (:func:`prepare`: a frozen
:class:`~xent_cli.spec.LossSpec` and the targets), then runs the in-memory reference
(:mod:`xent_cli.core`) or, for an input larger than ``limits.blocked_bytes``, the engine
(:mod:`xent_cli.engine`): the same numbers either way. The command line calls the ``run_*``
functions and checks below with a :class:`LossCall`: the same choice, made here only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import core
from .analysis import FixedLoss, PassChecks, check_inputs, find_mistakes, non_finite_input
from .core import (
    Loss,
    LossResult,
    Targets,
    as_numeric,
    encode_targets as encode_targets,  # public, through xent_cli
    prepare_targets,
)
from .engine import Progress, Scan, empty_like
from .limits import current
from .spec import InsightSpec, LossSpec

if TYPE_CHECKING:
    from typing import TypedDict

    from typing_extensions import Unpack

    from .analysis.explain import Explanation
    from .analysis.records import Insight

    class LossOptions(TypedDict, total=False):
        """The keywords of ``torch.nn.functional.cross_entropy`` (see :func:`cross_entropy`)."""

        weight: np.typing.ArrayLike | None
        ignore_index: int
        reduction: str
        label_smoothing: float
        class_axis: int
        input_kind: str
        sample_weight: np.typing.ArrayLike | None
        targets_kind: str
        dtype: str | None
        threads: int | None


class LossCall(NamedTuple):
    """One loss call, checked: the input as given (a memory map stays one), its targets
    (with the weights), the options, and the threads of a blocked run (``None``: every core)."""

    x: np.ndarray
    targets: Targets
    spec: LossSpec
    threads: int | None = None

    @property
    def args(self) -> tuple[np.ndarray, Targets, LossSpec]:
        """``(x, targets, spec)``, the arguments of the core's and the engine's functions."""
        return self.x, self.targets, self.spec


def blocked(x: np.ndarray) -> bool:
    """Whether ``x`` goes to the engine: an array larger than ``blocked_bytes``. By size only,
    so a small file gives the same bits whether it was memory-mapped (.npy) or parsed."""
    return x.nbytes > current().blocked_bytes


_NOT_SPEC = ("weight", "sample_weight", "threads")  # the arrays, and how to run


def prepare(
    input: np.typing.ArrayLike, target: np.typing.ArrayLike, **options: Unpack[LossOptions]
) -> LossCall:
    """The checked call of :func:`cross_entropy`'s arguments (an unknown keyword is a
    ``TypeError``, a bad value a :class:`~xent_cli.errors.UsageError`)."""
    given: dict[str, object] = dict(options)
    spec = LossSpec(**{k: v for k, v in given.items() if k not in _NOT_SPEC})  # type: ignore[arg-type]
    x, w, sw = as_numeric(input), options.get("weight"), options.get("sample_weight")
    t = prepare_targets(x.shape, target, spec, weight=w, sample_weight=sw, empty=empty_like)
    return LossCall(x, t, spec, options.get("threads"))


def run_loss(
    call: LossCall,
    *,
    insight: InsightSpec | None = None,
    class_names: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    scan: Scan | None = None,
) -> tuple[LossResult, Insight | None]:
    """The loss of ``call``, and the ``insight`` pieces asked for (in the same pass over a big
    input). ``progress`` and ``scan`` (:attr:`PassChecks.scan`) go to a blocked pass."""
    if not blocked(call.x):
        res = core.evaluate(*call.args)
        if insight is None:
            return res, None
        from .analysis.insight import analyze  # start-up: insight loads only when asked for

        per, threads = res.per_sample, call.threads
        return res, analyze(
            *call.args, insight, class_names=class_names, per_sample=per, threads=threads
        )
    from .analysis.insight_pass import InsightPass  # start-up: as analyze above
    from .engine import passes  # start-up: a small input never loads the passes

    watch = None if insight is None else InsightPass(*call.args, insight, class_names)
    observe = None if watch is None else watch.observe
    res = passes.evaluate(
        *call.args, threads=call.threads, progress=progress, scan=scan, observe=observe
    )
    return res, None if watch is None else watch.result(res)


def run_grad(
    call: LossCall,
    *,
    out: np.ndarray | None = None,
    progress: Progress | None = None,
    scan: Scan | None = None,
) -> np.ndarray:
    """d loss / d input of ``call`` (float64), into ``out`` when given (a memory map)."""
    if out is None and not blocked(call.x):
        return core.grad(*call.args)
    from .engine import passes  # start-up: as in run_loss

    return passes.grad(*call.args, out=out, threads=call.threads, progress=progress, scan=scan)


def run_softmax(
    x: np.ndarray,
    axis: int = -1,
    *,
    log: bool = False,
    dtype: str | None = None,
    threads: int | None = None,
    out: np.ndarray | None = None,
    progress: Progress | None = None,
    scan: Scan | None = None,
) -> np.ndarray:
    """Softmax (``log``: log-softmax) of ``x`` along ``axis``, into ``out`` when given."""
    if out is None and not blocked(x):
        return (core.log_softmax if log else core.softmax)(x, axis, dtype=dtype)
    from .engine import passes  # start-up: as in run_loss

    return passes.softmax(
        x, axis, log=log, dtype=dtype, out=out, threads=threads, progress=progress, scan=scan
    )


def run_explain(
    call: LossCall, *, rows: int | None = 10, grad: bool = False, scan: Scan | None = None
) -> Explanation:
    """Every step of the loss of ``call`` for its first ``rows`` samples (:func:`explain`)."""
    from .analysis.explain import explain_steps  # start-up: only explain needs it

    result, _ = run_loss(call, scan=scan)
    return explain_steps(*call.args, result, rows=rows, grad=grad)


def _fixed_loss(call: LossCall) -> FixedLoss:
    """How the usual-mistake checks get the loss a fix would give (the same choice of path)."""

    def loss(target: np.ndarray | None, spec: LossSpec) -> float:
        t = call.targets
        if target is not None:
            w, sw = t.weight, t.sample_weight
            t = prepare_targets(
                call.x.shape, target, spec, weight=w, sample_weight=sw, empty=empty_like
            )
        return float(run_loss(LossCall(call.x, t, spec, call.threads))[0].loss)

    return loss


def loss_checks(call: LossCall, *, warn: bool = True) -> tuple[list[str], PassChecks | None]:
    """The warnings about a loss call's inputs that are told before its pass (non-finite
    logits, bad probabilities, the usual mistakes), and the checks a blocked pass makes of a
    big input while it reads it (read once), whose :meth:`~PassChecks.messages` come after.
    Nothing when ``warn`` is false (``--quiet``: no warning could be shown)."""
    if not warn:
        return [], None
    in_pass = blocked(call.x)
    messages = check_inputs(*call.args, in_pass=in_pass)
    messages += find_mistakes(*call.args, _fixed_loss(call))
    return messages, PassChecks(*call.args) if in_pass else None


def softmax_checks(
    x: np.ndarray, axis: int, *, warn: bool = True
) -> tuple[list[str], PassChecks | None]:
    """:func:`loss_checks` for softmax's input: its non-finite values."""
    if not warn:
        return [], None
    if blocked(x):
        return [], PassChecks(x, None, LossSpec(class_axis=axis))
    return non_finite_input(x, class_axis=axis), None


@contextmanager
def result_buffer(
    shape: tuple[int, ...], dtype: np.typing.DTypeLike, path: str | None = None
) -> Iterator[tuple[np.ndarray | None, bool]]:
    """Where an array result of ``shape`` and ``dtype`` is computed, ``(buffer, written)``:
    ``(None, False)`` for one that fits in memory (``blocked_bytes``: the core makes it);
    for a bigger one, a memory map to compute it into block by block (:func:`result_file`:
    ``-o FILE.npy`` itself, ``written``, or a temporary file), so memory stays bounded."""
    if int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize <= current().blocked_bytes:
        yield None, False
        return
    from .io.writers import result_file  # start-up: the writers load only to write

    with result_file(shape, dtype, path) as placed:
        yield placed


# --- the public API: torch's functions and keywords ----------------------------------------


def evaluate(
    input: np.typing.ArrayLike, target: np.typing.ArrayLike, **options: Unpack[LossOptions]
) -> LossResult:
    """Cross-entropy with its parts: the reduced loss, per-sample losses, count and divisor.

    Arguments are those of :func:`cross_entropy`.

    >>> r = evaluate(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3])
    >>> round(r.loss, 4), r.per_sample.round(4).tolist(), r.count, r.weight_sum
    (1.4402, [2.4402, 1.4402, 0.4402], 3, 3.0)
    """
    return run_loss(prepare(input, target, **options))[0]


def cross_entropy(
    input: np.typing.ArrayLike, target: np.typing.ArrayLike, **options: Unpack[LossOptions]
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
    return evaluate(input, target, **options).loss


def cross_entropy_grad(
    input: np.typing.ArrayLike, target: np.typing.ArrayLike, **options: Unpack[LossOptions]
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
    return run_grad(prepare(input, target, **options))


def softmax(x: np.typing.ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Softmax :math:`e^{z_c - \max z} / \sum_k e^{z_k - \max z}` along ``axis``.

    ``dtype`` is the compute precision (see :func:`xent_cli.core.compute_dtype`).

    >>> softmax([1.0, 1.0, 2.0, 2.0]).round(4)
    array([0.1345, 0.1345, 0.3655, 0.3655])
    """
    return run_softmax(as_numeric(x), axis, dtype=dtype)


def log_softmax(x: np.typing.ArrayLike, axis: int = -1, *, dtype: str | None = None) -> np.ndarray:
    r"""Stable log-softmax: :math:`z - \max z - \log\sum_c e^{z_c - \max z}` along ``axis``.

    A row holding ``+inf`` or ``nan``, or only ``-inf``, gives ``nan`` as torch does.

    >>> log_softmax([0.0, 1.0, 2.0, 3.0]).round(4)
    array([-3.4402, -2.4402, -1.4402, -0.4402])
    """
    return run_softmax(as_numeric(x), axis, log=True, dtype=dtype)


def explain(
    input: np.typing.ArrayLike,
    target: np.typing.ArrayLike,
    *,
    rows: int | None = 10,
    grad: bool = False,
    **options: Unpack[LossOptions],
) -> Explanation:
    """Compute the loss and return every intermediate step (arguments of ``cross_entropy``).

    ``rows`` limits the samples whose steps are kept (``None``: all); ``grad`` adds the
    gradient rows. Only those rows are read of a big input, after the loss pass.

    >>> e = explain(np.arange(1.0, 13.0).reshape(3, 4), [1, 2, 3])
    >>> e.softmax[0].round(4).tolist(), e.loss.round(4).tolist(), round(e.result.loss, 4)
    ([0.0321, 0.0871, 0.2369, 0.6439], [2.4402, 1.4402, 0.4402], 1.4402)
    """
    return run_explain(prepare(input, target, **options), rows=rows, grad=grad)
