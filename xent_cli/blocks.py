"""Bounded-memory, multi-threaded execution of the core over big arrays, block by block.

The functions here take the arguments of their :mod:`xent_cli.core` counterparts and give
the same results (the same per-sample values, the same float64 reductions), but never hold
more than a few blocks of the ``N × C`` input at a time: a ``np.memmap`` (``np.load(path,
mmap_mode="r")``) is read block by block, array outputs are written block by block into
``out`` (an ``np.lib.format.open_memmap`` for ``-o out.npy``), and the blocks run on
``threads`` worker threads (``None``: every available core). The vectors of one value per
sample (losses; targets converted to int64) of memory-mapped input go to memory-mapped
temporary files once big (:mod:`xent_cli._spill`), so memory stays bounded whatever ``M``.

Blocks hold about ``BLOCK_BYTES`` of input in the compute precision, as rows ``(R, C)``,
or transposed ``(C, R)`` when there are few classes; float16 input is converted to float32
per block with an exact integer trick. ``progress(done_rows, total_rows)``, when given, is
called from the calling thread as blocks finish.

>>> x = np.arange(1.0, 13.0).reshape(3, 4)
>>> r = evaluate_blocked(x, [1, 2, 3], block_rows=2, threads=2)
>>> round(r.loss, 4), r.count
(1.4402, 3)
>>> softmax_blocked(x, axis=1, block_rows=1)[0].round(4)
array([0.0321, 0.0871, 0.2369, 0.6439])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from . import _kernel as kern
from . import _spill
from ._block_targets import (
    block_rows_of,
    block_targets,
    check_targets,
    safe_index,
    sample_rows,
    targets_of,
)
from ._kernel_checks import NonFiniteScan, finite_hook, non_finite_stats, probability_stats
from ._kernel_run import (
    BLOCK_BYTES,
    MIN_BYTES,
    Block,
    Plan,
    Progress,
    as_numeric,
    available_threads,
    chunk,
    input_rows,
    make_plan,
    out_block,
    per_thread,
    run,
    should_block,
    view3,
)
from ._progress import progress_bar
from .core import LossResult, _check_options, _losses, _reduce, _row_log_probs, compute_dtype
from .targets import Targets

_AxisError = getattr(np, "exceptions", np).AxisError  # NumPy < 1.25: np.AxisError
Observe = Callable[[int, np.ndarray, Targets, np.ndarray], None]


class Scan(Protocol):
    """A per-block hook of the blocked passes (``scan=``), e.g. :class:`NonFiniteScan`.

    ``update(plan, block, chunk)`` sees each block's input (``chunk``: the compute precision,
    the plan's layout, a buffer: keep no reference) before the kernel overwrites it, on the
    block's thread, in no particular order. The fused loss pass (:func:`_kernel.fused_losses`)
    makes no chunk: a :class:`NonFiniteScan` (or ``Scans`` of them) gets
    ``update_finite(plan, block, finite)`` from it instead (:func:`finite_hook`); with any
    other scan the pass keeps to chunks."""

    def update(self, plan: Plan, block: Block, chunk: np.ndarray) -> None: ...


__all__ = [
    "BLOCK_BYTES",
    "MIN_BYTES",
    "NonFiniteScan",
    "Observe",
    "Scan",
    "available_threads",
    "check_targets",
    "evaluate_blocked",
    "grad_blocked",
    "non_finite_stats",
    "probability_stats",
    "progress_bar",
    "sample_rows",
    "should_block",
    "softmax_blocked",
]


def _load(plan: Plan, w: kern.Work, block: Block, ct: np.dtype, scan: Scan | None) -> np.ndarray:
    """A block's chunk (:func:`chunk`), shown to ``scan`` before any kernel works on it."""
    xs = chunk(plan, w, block, ct)
    if scan is not None:
        scan.update(plan, block, xs)
    return xs


def _fused_input(
    plan: Plan, w: kern.Work, block: Block, ct: np.dtype, y: np.ndarray
) -> np.ndarray | None:
    """A block's ``(n, C)`` rows of the input (a view) when :func:`_kernel.fused_losses` can
    take them, which then reads them in place of :func:`chunk`; otherwise None."""
    rows = input_rows(plan, block)
    return rows if kern.fused_rows(rows, ct, y, w) else None


def _setup(x: npt.ArrayLike, target: npt.ArrayLike, kw: dict) -> tuple:
    """Shared start of the loss functions: options, input, compute dtype and targets."""
    _check_options(kw["reduction"], kw["label_smoothing"], kw["input_kind"])
    arr = as_numeric(x)
    ct = compute_dtype(arr.dtype, kw["dtype"])
    t, prob3 = targets_of(
        arr.shape,
        target,
        class_axis=kw["class_axis"],
        weight=kw["weight"],
        ignore_index=kw["ignore_index"],
        sample_weight=kw["sample_weight"],
        targets_kind=kw["targets_kind"],
    )
    return arr, ct, t, prob3


def evaluate_blocked(
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
    progress: Progress | None = None,
    block_rows: int | None = None,
    observe: Observe | None = None,
    scan: Scan | None = None,
) -> LossResult:
    """:func:`xent_cli.core.evaluate`, block by block (same arguments and result).

    ``block_rows`` overrides the number of samples per block (tests use tiny blocks).
    ``observe(start, logp, targets, loss)`` (:mod:`xent_cli.insight_blocked`) sees each block
    of samples ``start:start + n`` in this pass, on its thread, in no particular order: their
    ``(n, C)`` log-probabilities (compute precision; a buffer: keep no reference), their
    ``Targets`` (``(n, C)`` rows) and their per-sample losses (float64).
    ``scan`` (:class:`Scan`, e.g. :class:`NonFiniteScan`) sees each block's input first.
    """
    kw = dict(locals())
    arr, ct, t, prob3 = _setup(input, target, kw)
    eps = float(label_smoothing)
    fast = input_kind == "logits" and t.index is not None
    plan = make_plan(arr, t.class_axis, ct.itemsize, block_rows, col=None if fast else False)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct))
    loss = _spill.empty(  # on disk when big and the logits are
        t.n_rows, np.float64, "the per-sample losses", spill=_spill.on_disk(arr)
    )
    # One cache-resident pass per block (the C helper) when nothing needs the chunk itself
    # (label smoothing with class weights takes a matrix product: the NumPy path)
    fusable = fast and plan.col and observe is None and (eps == 0.0 or t.weight is None)
    hook = finite_hook(scan) if fusable else None

    def work(block: Block) -> None:
        m0, m1 = plan.span(block)
        w = work_of()
        dest = loss[m0:m1]
        if fast:
            y, ignored = safe_index(t, m0, m1)
            rows = None if hook is None else _fused_input(plan, w, block, ct, y)
            if rows is not None:
                finite = kern.fused_losses(rows, w, y, ignored, t.weight, dest, eps)
                hook(plan, block, finite)
                if t.sample_weight is not None:
                    dest *= t.sample_weight[m0:m1]
                return
        xs = _load(plan, w, block, ct, scan)
        if fast:
            if observe is not None:  # before index_losses overwrites the chunk's buffer
                logp = _row_log_probs(block_rows_of(plan, block, xs), input_kind)
            kern.index_losses(xs, w, plan.col, y, ignored, t.weight, eps, dest)
            if t.sample_weight is not None:
                dest *= t.sample_weight[m0:m1]
        else:
            tb = block_targets(t, prob3, plan, block)
            logp = _row_log_probs(xs, input_kind)
            dest[:] = _losses(logp, tb, eps)
        if observe is not None and m1 > m0:
            observe(m0, logp, tb if not fast else block_targets(t, prob3, plan, block), dest)

    run(plan, work, threads, progress)
    reduced, count, weight_sum = _reduce(loss, t, reduction)
    return LossResult(reduced, loss.reshape(t.batch_shape), reduction, count, weight_sum)


def _output(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype, axis: int):
    """The output array (made when ``None``) and its ``(P, C, S)`` view, never a copy."""
    if out is None:
        out = np.empty(shape, dtype)
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"out has shape {out.shape}, expected the input's shape {shape}")
    if out.dtype.kind != "f" or not out.flags.writeable:
        raise ValueError(f"out must be a writeable float array, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous (e.g. np.lib.format.open_memmap)")
    out3 = view3(out, axis)
    return out, out3


def _write(dst3: np.ndarray, dst2: np.ndarray | None, g: np.ndarray) -> None:
    """Copy a finished block ``g`` (2-D, the plan's layout) into the output, unless it is there."""
    if g is not dst2:
        np.copyto(dst3, g.reshape(dst3.shape), casting="same_kind")


def grad_blocked(
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
    out: np.ndarray | None = None,
    progress: Progress | None = None,
    block_rows: int | None = None,
    scan: Scan | None = None,
) -> np.ndarray:
    """:func:`xent_cli.core.cross_entropy_grad`, block by block, written into ``out``.

    ``out`` (default: a new float64 array) has the input's shape, is C-contiguous and
    floating point, e.g. ``np.lib.format.open_memmap(path, "w+", np.float64, shape)``.
    ``scan`` (:class:`Scan`) sees each block's input first. Returns ``out``.
    """
    kw = dict(locals())
    arr, ct, t, prob3 = _setup(input, target, kw)
    eps = float(label_smoothing)
    out, out3 = _output(out, arr.shape, np.dtype(np.float64), t.class_axis)
    scale = np.float64(1.0)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.float64(1.0) / np.float64(t.weight_sum())
    fast = input_kind == "logits" and t.index is not None and bool(np.isfinite(scale))
    plan = make_plan(arr, t.class_axis, ct.itemsize, block_rows, col=None if fast else False)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct))
    n_classes = plan.n_classes

    def work(block: Block) -> None:
        m0, m1 = plan.span(block)
        w = work_of()
        xs = _load(plan, w, block, ct, scan)
        dst3, dst2 = out_block(plan, out3, block)
        if fast:
            direct = dst2 is not None and dst2.dtype == np.float64 and dst2.flags.c_contiguous
            g = dst2 if direct else w.f64(xs.size).reshape(xs.shape)
            y, _ = safe_index(t, m0, m1)
            rows = kern.index_coefficients(t, n_classes, eps, scale, m0, m1)  # this block's
            kern.index_grad(xs, w, plan.col, y, *rows, t.weight, g)
        else:
            tb = block_targets(t, prob3, plan, block)
            g = kern.generic_grad(xs, tb, eps, scale, reduction, input_kind)
        _write(dst3, dst2, g)

    run(plan, work, threads, progress)
    return out


def softmax_blocked(
    x: npt.ArrayLike,
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
    ``out`` (default: a new array in the compute precision). ``scan`` (:class:`Scan`) sees
    each block's input first. Returns ``out``."""
    arr = as_numeric(x)
    ct = compute_dtype(arr.dtype, dtype)
    if arr.ndim == 0:
        raise _AxisError(axis, 0)
    if not -arr.ndim <= axis < arr.ndim:
        raise _AxisError(axis, arr.ndim)
    ax = axis % arr.ndim
    out, out3 = _output(out, arr.shape, ct, ax)
    plan = make_plan(arr, ax, ct.itemsize, block_rows)
    work_of = per_thread(lambda: kern.Work(plan.rows, plan.n_classes, ct, second=log))

    def work(block: Block) -> None:
        w = work_of()
        xs = _load(plan, w, block, ct, scan)
        dst3, dst2 = out_block(plan, out3, block)
        direct = dst2 is not None and dst2.dtype == ct
        a = dst2 if direct else w.a[: xs.size].reshape(xs.shape)
        kern.softmax_chunk(xs, a, w, plan.col, log)
        _write(dst3, dst2, a)

    run(plan, work, threads, progress)
    return out
