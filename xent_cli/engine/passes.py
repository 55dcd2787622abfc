"""The loss, its gradient and softmax over big arrays, block by block, on every core.

Each pass gives what its :mod:`xent_cli.core` counterpart gives, holding only a few blocks
of the input; array results go block by block into ``out``. ``threads`` (``None``: every
core); ``progress(done_rows, total_rows)``, from the calling thread; ``scan`` sees each
block's input first; ``block_rows``, the samples per block (tests use tiny blocks).

>>> from xent_cli.core import prepare_targets
>>> x = np.arange(1.0, 13.0).reshape(3, 4)
>>> r = evaluate(x, prepare_targets(x.shape, [1, 2, 3]), LossSpec(), block_rows=2, threads=2)
>>> round(r.loss, 4), r.count
(1.4402, 3)
>>> softmax(x, axis=1, block_rows=1)[0].round(4)
array([0.0321, 0.0871, 0.2369, 0.6439])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core import (
    IndexTargets,
    LossResult,
    ProbTargets,
    Targets,
    compute_dtype,
    losses,
    mean_scale,
    reduce,
    row_log_probs,
)
from ..errors import UsageError
from ..spec import LossSpec
from . import kernels as kern
from .plan import Block, Plan, chunk, input_rows, make_plan, out_block, reshaped, view3
from .runner import Progress, per_thread, run
from .scans import Scan, finite_hook
from .spill import empty, on_disk

_AxisError = getattr(np, "exceptions", np).AxisError  # NumPy < 1.25: np.AxisError
Observe = Callable[[int, np.ndarray, Targets, np.ndarray], None]


def block_targets(t: Targets, prob3: np.ndarray | None, plan: Plan, block: Block) -> Targets:
    """The targets of the samples of one block, as targets of ``(n, C)`` rows
    (``prob3``: probability targets as the ``(P, C, S)`` view the plan reads)."""
    m0, m1 = plan.span(block)
    n, c = m1 - m0, plan.n_classes
    sw = None if t.sample_weight is None else t.sample_weight[m0:m1]
    if isinstance(t, IndexTargets):
        return IndexTargets((n, c), 1, t.weight, sw, index=t.index[m0:m1], valid=t.valid[m0:m1])
    assert prob3 is not None
    p0, p1, s0, s1 = block
    prob = np.reshape(prob3[p0:p1, :, s0:s1].transpose(0, 2, 1), (n, c))
    return ProbTargets((n, c), 1, t.weight, sw, array=prob)


def safe_index(t: IndexTargets, m0: int, m1: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Class indices of samples ``m0:m1`` safe to gather with (0 where ignored), and the
    ignored samples' mask (``None`` when none is ignored)."""
    y, valid = t.index[m0:m1], t.valid[m0:m1]
    if valid.all():
        return y, None
    ignored = ~valid
    return np.where(ignored, 0, y), ignored


def block_rows_of(plan: Plan, block: Block, xs: np.ndarray) -> np.ndarray:
    """A block's ``(n, C)`` rows in the compute precision, laid out as the core's: ``xs`` in
    the rows layout, else the input's own rows (no copy) or a transposed copy of ``xs``."""
    if not plan.col:
        return xs
    p0, p1, s0, s1 = block
    src = reshaped(plan.x3[p0:p1, :, s0:s1].transpose(0, 2, 1), (xs.shape[1], xs.shape[0]))
    ok = src is not None and src.dtype == xs.dtype and src.flags.c_contiguous
    return src if ok and src is not None else np.ascontiguousarray(xs.T)


def _load(plan: Plan, w: kern.Work, block: Block, ct: np.dtype, scan: Scan | None) -> np.ndarray:
    """A block's chunk (:func:`.plan.chunk`), shown to ``scan`` before any kernel works on it."""
    xs = chunk(plan, w, block, ct)
    if scan is not None:
        scan.update(plan, block, xs)
    return xs


def _fused_input(
    plan: Plan, w: kern.Work, block: Block, ct: np.dtype, y: np.ndarray
) -> np.ndarray | None:
    """A block's ``(n, C)`` rows of the input (a view) when :func:`.kernels.fused_losses`
    can take them, which then reads them in place of :func:`.plan.chunk`; otherwise None."""
    rows = input_rows(plan, block)
    return rows if rows is not None and kern.fused_rows(rows, ct, y, w) else None


def _prob3(t: Targets) -> np.ndarray | None:
    """Probability targets as the ``(P, C, S)`` view the passes read (not copied)."""
    return view3(t.array, t.class_axis) if isinstance(t, ProbTargets) else None


def evaluate(
    x: np.ndarray,
    t: Targets,
    spec: LossSpec,
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    block_rows: int | None = None,
    observe: Observe | None = None,
    scan: Scan | None = None,
) -> LossResult:
    """:func:`xent_cli.core.evaluate`, block by block. ``observe(start, logp, targets, loss)``
    (the one-pass insight) sees each block of samples ``start:start + n`` on its thread, in any
    order: their log-probabilities (a buffer: keep no reference), targets and losses."""
    ct = compute_dtype(x.dtype, spec.dtype)
    eps = spec.label_smoothing
    fast = spec.input_kind == "logits" and isinstance(t, IndexTargets)
    prob3 = _prob3(t)
    plan = make_plan(x, t.class_axis, ct.itemsize, block_rows, col=None if fast else False)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct))
    loss = empty(t.n_rows, np.float64, "the per-sample losses", spill=on_disk(x))
    # One cache-resident pass per block (the C helper) when nothing needs the chunk itself
    # (label smoothing with class weights takes a matrix product: the NumPy path)
    fusable = fast and plan.col and observe is None and (eps == 0.0 or t.weight is None)
    hook = finite_hook(scan) if fusable else None

    def work(block: Block) -> None:
        m0, m1 = plan.span(block)
        w = work_of()
        dest = loss[m0:m1]
        if isinstance(t, IndexTargets) and fast:
            y, ignored = safe_index(t, m0, m1)
            rows = None if hook is None else _fused_input(plan, w, block, ct, y)
            if hook is not None and rows is not None:
                finite = kern.fused_losses(rows, w, y, ignored, t.weight, dest, eps)
                hook(plan, block, finite)
                if t.sample_weight is not None:
                    dest *= t.sample_weight[m0:m1]
                return
            xs = _load(plan, w, block, ct, scan)
            if observe is not None:  # before index_losses overwrites the chunk's buffer
                logp = row_log_probs(block_rows_of(plan, block, xs), spec.input_kind)
            kern.index_losses(xs, w, plan.col, y, ignored, t.weight, eps, dest)
            if t.sample_weight is not None:
                dest *= t.sample_weight[m0:m1]
            tb = block_targets(t, prob3, plan, block) if observe is not None else t
        else:
            xs = _load(plan, w, block, ct, scan)
            tb = block_targets(t, prob3, plan, block)
            logp = row_log_probs(xs, spec.input_kind)
            dest[:] = losses(logp, tb, eps)
        if observe is not None and m1 > m0:
            observe(m0, logp, tb, dest)

    run(plan, work, threads, progress)
    reduced, count, weight_sum = reduce(loss, t, spec.reduction)
    return LossResult(reduced, loss.reshape(t.batch_shape), spec.reduction, count, weight_sum)


def _output(
    out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype, axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """The output array (made when ``None``) and its ``(P, C, S)`` view, never a copy."""
    if out is None:
        out = np.empty(shape, dtype)
    if tuple(out.shape) != tuple(shape):
        raise UsageError(f"out has shape {out.shape}, expected the input's shape {shape}")
    if out.dtype.kind != "f" or not out.flags.writeable:
        raise UsageError(f"out must be a writeable float array, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise UsageError("out must be C-contiguous (e.g. np.lib.format.open_memmap)")
    return out, view3(out, axis)


def _write(dst3: np.ndarray, dst2: np.ndarray | None, g: np.ndarray) -> None:
    """Copy a finished block ``g`` (2-D, the plan's layout) into the output, unless it is there."""
    if g is not dst2:
        np.copyto(dst3, g.reshape(dst3.shape), casting="same_kind")


def grad(
    x: np.ndarray,
    t: Targets,
    spec: LossSpec,
    *,
    out: np.ndarray | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    block_rows: int | None = None,
    scan: Scan | None = None,
) -> np.ndarray:
    """:func:`xent_cli.core.grad`, block by block, into ``out`` (default: a new float64
    array; C-contiguous, the input's shape, e.g. a ``.npy`` memory map). Returns ``out``."""
    ct = compute_dtype(x.dtype, spec.dtype)
    eps = spec.label_smoothing
    out, out3 = _output(out, x.shape, np.dtype(np.float64), t.class_axis)
    scale = mean_scale(t.weight_sum()) if spec.reduction == "mean" else np.float64(1.0)
    fast = spec.input_kind == "logits" and isinstance(t, IndexTargets) and bool(np.isfinite(scale))
    prob3 = _prob3(t)
    plan = make_plan(x, t.class_axis, ct.itemsize, block_rows, col=None if fast else False)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct))
    n_classes = plan.n_classes

    def work(block: Block) -> None:
        m0, m1 = plan.span(block)
        w = work_of()
        xs = _load(plan, w, block, ct, scan)
        dst3, dst2 = out_block(plan, out3, block)
        if fast and isinstance(t, IndexTargets):
            direct = dst2 is not None and dst2.dtype == np.float64 and dst2.flags.c_contiguous
            g = dst2 if direct and dst2 is not None else w.f64(xs.size).reshape(xs.shape)
            y, _ = safe_index(t, m0, m1)
            coef = kern.index_coefficients(t, n_classes, eps, scale, m0, m1)  # this block's
            kern.index_grad(xs, w, plan.col, y, *coef, t.weight, g)
        else:
            tb = block_targets(t, prob3, plan, block)
            g = kern.generic_grad(xs, tb, eps, scale, spec.reduction, spec.input_kind)
        _write(dst3, dst2, g)

    run(plan, work, threads, progress)
    return out


def softmax(
    x: np.ndarray,
    axis: int = -1,
    *,
    log: bool = False,
    dtype: str | None = None,
    out: np.ndarray | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    block_rows: int | None = None,
    scan: Scan | None = None,
) -> np.ndarray:
    """:func:`xent_cli.core.softmax` (``log=True``: ``log_softmax``) block by block, into
    ``out`` (default: a new array in the compute precision). Returns ``out``."""
    ct = compute_dtype(x.dtype, dtype)
    if x.ndim == 0:
        raise _AxisError(axis, 0)
    if not -x.ndim <= axis < x.ndim:
        raise _AxisError(axis, x.ndim)
    ax = axis % x.ndim
    out, out3 = _output(out, x.shape, ct, ax)
    plan = make_plan(x, ax, ct.itemsize, block_rows)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct, second=log))

    def work(block: Block) -> None:
        w = work_of()
        xs = _load(plan, w, block, ct, scan)
        dst3, dst2 = out_block(plan, out3, block)
        direct = dst2 is not None and dst2.dtype == ct
        a = dst2 if direct and dst2 is not None else w.a[: xs.size].reshape(xs.shape)
        kern.softmax_chunk(xs, a, w, plan.col, log)
        _write(dst3, dst2, a)

    run(plan, work, threads, progress)
    return out
