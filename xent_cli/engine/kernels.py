"""Per-block numerics of the engine: one chunk of rows at a time, in place.

A chunk is ``R`` samples of ``C`` classes in a preallocated buffer, as rows ``(R, C)`` or
transposed ``(C, R)`` (the ``col`` layout, for small C: reductions over the classes become
element-wise operations between C contiguous vectors). Every function writes into the
buffers it is given, sums in float64 and follows :mod:`xent_cli.core` operation for
operation; callers set ``np.errstate``. The optional C helper is reached through :mod:`.native`.
"""

from __future__ import annotations

import numpy as np

from ..core import IndexTargets, Targets, coefficients, grad_scaled
from . import native

_F16_SHIFT = 13  # float16 exponent+mantissa bits, moved to float32's positions
_F16_MASK = np.int32(-0x70002000)  # 0x8FFFE000: the sign bit and the 15 moved bits
_F16_SCALE = np.float32(2.0**112)  # 2^(127-15): re-bias the exponent (exact, subnormals too)
_F16_EXP = 0x7C00  # float16 exponent bits: all set for inf and nan


def f16_to_f32(src: np.ndarray, dst: np.ndarray) -> None:
    """Exact float16 -> float32 conversion of ``src`` into ``dst`` (same shape), by integer ops.

    The 15 magnitude bits move up 13 places, then a multiplication by 2^112 re-biases the
    exponent (exact, subnormals too); infinities and NaNs are patched with NumPy's cast.
    About 4x faster than ``astype``, bit-identical to it.

    >>> h = np.array([1.5, -0.0, 6e-8, 65504, np.inf, np.nan], dtype=np.float16)
    >>> out = np.empty(6, np.float32); f16_to_f32(h, out)
    >>> np.array_equal(out, h.astype(np.float32), equal_nan=True)
    True
    """
    if dst.size == 0:
        return
    signed = src.view(np.int16)
    # inf/nan: 0x7C00..0x7FFF (the largest int16) or 0xFC00..0xFFFF (the largest uint16)
    special = int(signed.max()) >= 0x7C00 or int(src.view(np.uint16).max()) >= 0xFC00
    bits = dst.view(np.int32)
    np.copyto(bits, signed)  # sign-extended
    np.left_shift(bits, _F16_SHIFT, out=bits)
    np.bitwise_and(bits, _F16_MASK, out=bits)
    np.multiply(dst, _F16_SCALE, out=dst)
    if special:
        mask = (src.view(np.uint16) & _F16_EXP) == _F16_EXP
        dst[mask] = src[mask].astype(np.float32)


def load(src: np.ndarray, dst: np.ndarray) -> None:
    """Copy (and convert) an input chunk into the compute buffer ``dst`` (same shape)."""
    if native.transpose_rows(src, dst):  # a row block into the (C, R) layout
        return
    if src.dtype == np.float16 and dst.dtype == np.float32:
        if not native.halves(src, dst):
            f16_to_f32(src, dst)
    else:
        np.copyto(dst, src, casting="unsafe")


class Work:
    """One thread's buffers for chunks of at most ``rows`` samples of ``n_classes`` classes,
    allocated once (fresh temporaries would cost page faults on every block)."""

    def __init__(self, rows: int, n_classes: int, ct: np.dtype, *, second: bool = False):
        size = rows * n_classes
        self.n_classes = n_classes
        self.a = np.empty(size, ct)  # the chunk: input, then shifted, then exp
        self.b = np.empty(size, ct) if second else None  # exp for log_softmax
        self.g: np.ndarray | None = None  # float64 chunk (gradients), made on demand
        self.mx = np.empty(rows, ct)  # row maxima
        self.zy = np.empty(rows, ct)  # shifted logit of the target
        self.s = np.empty(rows, np.float64)  # row sums, then log-sum-exp
        self.t = np.empty(rows, np.float64)  # per-sample scratch
        self.idx = np.empty(rows, np.int64)  # flat positions of the targets
        self.ar = np.arange(rows, dtype=np.int64)
        self.ar_c = self.ar * n_classes
        self._loops: native.Loops | None = None
        self._looked = False  # for the loops, on first use

    @property
    def loops(self) -> native.Loops | None:
        """:func:`native.ufunc_loops` of this buffer's type (this thread's own capsules)."""
        if not self._looked:
            self._loops, self._looked = native.ufunc_loops(self.a.dtype), True
        return self._loops

    def f64(self, size: int) -> np.ndarray:
        """A float64 scratch vector of ``size`` (grown on demand, reused)."""
        if self.g is None or self.g.size < size:
            self.g = np.empty(size, np.float64)
        return self.g[:size]


def row_sums(a: np.ndarray, w: Work, col: bool) -> np.ndarray:
    """Sums along the class axis, accumulated in float64 (into ``w.s``)."""
    if col:
        out = w.s[: a.shape[1]]
        if native.col_sums(a, out):  # the same additions in the same order, 2x faster
            return out
        return np.add.reduce(a, axis=0, dtype=np.float64, out=out)
    out = w.s[: a.shape[0]]
    if a.dtype == np.float64:
        return np.add.reduce(a, axis=1, out=out)
    return np.einsum("ij->i", a, dtype=np.float64, out=out)  # 25% faster than a cast reduce


def shift_exp_sum(
    xs: np.ndarray, a: np.ndarray, w: Work, col: bool, keep_shift: np.ndarray | None = None
) -> np.ndarray:
    """``a = exp(xs - max)`` along the class axis; returns the float64 row sums.

    With ``keep_shift``, the shifted values stay in ``keep_shift`` and the exponentials go
    to ``a``; otherwise ``a`` holds the exponentials (the shift happens in place)."""
    n = a.shape[1] if col else a.shape[0]
    axis = 0 if col else 1
    mx = np.max(xs, axis=axis, out=w.mx[:n])
    shifted = a if keep_shift is None else keep_shift
    np.subtract(xs, mx if col else mx[:, None], out=shifted)
    np.exp(shifted, out=a)
    return row_sums(a, w, col)


def _narrow(v: np.ndarray, w: Work) -> np.ndarray:
    """``v`` (float64 per-sample values) rounded to the compute precision, in ``w.mx``."""
    out = w.mx[: v.size]
    np.copyto(out, v, casting="same_kind")
    return out


def flat_index(y: np.ndarray, n: int, w: Work, col: bool) -> np.ndarray:
    """Flat positions of ``(sample r, class y[r])`` in a row ``(n, C)`` or column chunk."""
    idx = w.idx[:n]
    if col:
        np.multiply(y, n, out=idx)
        np.add(idx, w.ar[:n], out=idx)
    else:
        np.add(w.ar_c[:n], y, out=idx)
    return idx


def take_targets(a: np.ndarray, y: np.ndarray, w: Work, col: bool) -> np.ndarray:
    """Each sample's value at its class ``y`` in a row or column chunk ``a`` (into ``w.zy``)."""
    n = y.size
    out = w.zy[:n]
    if col and native.take_cols(a, y, out):
        return out
    return np.take(a.reshape(-1), flat_index(y, n, w, col), out=out)


def index_losses(
    xs: np.ndarray,
    w: Work,
    col: bool,
    y: np.ndarray,
    ignored: np.ndarray | None,
    weight: np.ndarray | None,
    eps: float,
    dest: np.ndarray,
) -> None:
    """Per-sample losses for logits and class-index targets into ``dest`` (float64), as
    ``core.losses``: ``lse - z_y`` (weighted, smoothed), 0 for ignored samples.

    ``y`` holds safe indices (any class where ignored); ``ignored`` marks them (or None)."""
    n_classes = w.n_classes
    n = xs.size // n_classes
    a = w.a[: xs.size].reshape(xs.shape)
    axis = 0 if col else 1
    mx = np.max(xs, axis=axis, out=w.mx[:n])
    np.subtract(xs, mx if col else mx[:, None], out=a)
    zy = take_targets(a, y, w, col)
    smooth_dot = None
    if eps > 0.0:
        if weight is None:
            smooth_dot = np.add.reduce(a, axis=axis, dtype=np.float64)
        else:
            smooth_dot = weight @ a if col else a @ weight
    np.exp(a, out=a)
    _finish_losses(row_sums(a, w, col), zy, w, y, ignored, weight, eps, smooth_dot, dest)


def _finish_losses(
    sums: np.ndarray,
    zy: np.ndarray,
    w: Work,
    y: np.ndarray,
    ignored: np.ndarray | None,
    weight: np.ndarray | None,
    eps: float,
    smooth_dot: np.ndarray | None,
    dest: np.ndarray,
) -> None:
    """From the float64 sums of ``exp(shifted)`` and the target's shifted logit ``zy``: the
    per-sample losses into ``dest`` (``sums`` becomes the log-sum-exp, in place)."""
    n_classes, n = w.n_classes, y.size
    lse = np.log(sums, out=sums)
    np.subtract(lse, zy, out=dest)
    if weight is not None:
        np.multiply(dest, np.take(weight, y, out=w.t[:n]), out=dest)
    if smooth_dot is not None:
        total_w = float(n_classes) if weight is None else float(weight.sum())
        smooth = lse * total_w - smooth_dot
        np.multiply(dest, 1.0 - eps, out=dest)
        dest += (eps / n_classes) * smooth
    if ignored is not None:
        np.copyto(dest, 0.0, where=ignored)


def fused_rows(rows: np.ndarray | None, ct: np.dtype, y: np.ndarray, w: Work) -> bool:
    """Whether :func:`fused_losses` can take these ``(n, C)`` rows of the input (C-contiguous
    and aligned, native float32/float64 in the compute type, or float16 for float32) and
    int64 ``y``."""
    if rows is None or w.loops is None or rows.ndim != 2 or rows.shape[0] < 2:
        return False  # one sample: NumPy sums its classes pairwise, not one after another
    if not (rows.flags.c_contiguous and rows.flags.aligned):
        return False
    same = rows.dtype == ct or (rows.dtype == np.float16 and ct == np.float32)
    ok_y = y.dtype == np.int64 and y.flags.c_contiguous and y.dtype.isnative
    return same and rows.dtype.isnative and ok_y


def fused_losses(
    rows: np.ndarray,
    w: Work,
    y: np.ndarray,
    ignored: np.ndarray | None,
    weight: np.ndarray | None,
    dest: np.ndarray,
    eps: float = 0.0,
) -> bool:
    """:func:`index_losses` (``col`` layout; smoothing ``eps`` only without class ``weight``)
    from the input's ``(n, C)`` rows (:func:`fused_rows`) in one cache-resident pass
    (:func:`native.loss_cols`), bit-identical; whether every input value was finite."""
    if eps > 0.0 and weight is not None:  # the weighted smoothing term is a matrix product
        raise ValueError("fused_losses: label smoothing with class weights is not fused")
    loops = w.loops
    if loops is None:
        raise ValueError("fused_losses: no fused kernel here (see fused_rows)")
    finite = native.loss_cols(rows, y, dest, loops, eps)
    if weight is not None:
        np.multiply(dest, np.take(weight, y, out=w.t[: y.size]), out=dest)
    if ignored is not None:
        np.copyto(dest, 0.0, where=ignored)
    return bool(finite)


def index_grad(
    xs: np.ndarray,
    w: Work,
    col: bool,
    y: np.ndarray,
    coef_y: np.ndarray,
    coef_smooth: np.ndarray | None,
    row_total: np.ndarray,
    weight: np.ndarray | None,
    g: np.ndarray,
) -> None:
    """Gradient for logits and class-index targets into ``g`` (float64, the chunk's layout).

    ``g = p * row_total - A`` with ``A = coef_y * onehot(y) + coef_smooth * w`` (per row),
    as ``core.grad``: ``p`` is the softmax in the compute precision."""
    n_classes = w.n_classes
    n = xs.size // n_classes
    a = w.a[: xs.size].reshape(xs.shape)
    # Multiply by 1/sum (float64, then narrowed), as core.softmax and torch's kernel do.
    inv = _narrow(np.reciprocal(shift_exp_sum(xs, a, w, col)), w)
    np.multiply(a, inv if col else inv[:, None], out=a)
    np.multiply(a, row_total if col else row_total[:, None], out=g)
    if coef_smooth is not None:
        wc = np.ones(n_classes) if weight is None else weight
        g -= np.multiply.outer(wc, coef_smooth) if col else np.multiply.outer(coef_smooth, wc)
    flat = g.reshape(-1)
    flat[flat_index(y, n, w, col)] -= coef_y


def softmax_chunk(xs: np.ndarray, a: np.ndarray, w: Work, col: bool, log: bool) -> None:
    """Softmax (or log-softmax) of a chunk into ``a`` (same shape, the compute precision),
    as ``core.softmax``/``core.log_softmax`` compute it."""
    if log:
        assert w.b is not None  # a log-softmax Work has its second buffer
        b = w.b[: xs.size].reshape(xs.shape)
        sums = shift_exp_sum(xs, b, w, col, keep_shift=a)
        lse = _narrow(np.log(sums, out=sums), w)
        np.subtract(a, lse if col else lse[:, None], out=a)
    else:
        inv = _narrow(np.reciprocal(shift_exp_sum(xs, a, w, col)), w)  # as core.softmax
        np.multiply(a, inv if col else inv[:, None], out=a)


def finite_summary(chunk: np.ndarray) -> bool:
    """True when every value of a float chunk is finite (two fast reductions, no temporary)."""
    if chunk.dtype.kind != "f" or chunk.size == 0:
        return True
    if chunk.dtype == np.float16:
        bits = chunk.view(np.uint16)
        return int(np.max(bits & np.uint16(0x7FFF))) < 0x7C00
    return bool(np.isfinite(chunk.max()) and np.isfinite(chunk.min()))


def index_coefficients(
    t: IndexTargets,
    n_classes: int,
    eps: float,
    scale: np.float64,
    m0: int = 0,
    m1: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Per-sample ``A`` of ``core.coefficients`` for index targets, in factored form, for
    samples ``m0:m1`` (all by default; element-wise, so a block's are those of the whole):
    ``A[m] = coef_y[m] * onehot(y[m]) + coef_smooth[m] * w``; and ``row_total = sum_c A[m]``."""
    m1 = t.n_rows if m1 is None else m1
    valid, index = t.valid[m0:m1], t.index[m0:m1]
    safe = np.where(valid, index, 0)
    wy = t.weight[safe] if t.weight is not None else np.ones(m1 - m0)
    factor = np.where(valid, 1.0, 0.0)
    if t.sample_weight is not None:
        factor = factor * t.sample_weight[m0:m1]
    factor = factor * scale
    coef_y = (1.0 - eps) * wy * factor
    total_w = float(n_classes) if t.weight is None else float(t.weight.sum())
    coef_smooth = (eps / n_classes) * factor if eps > 0.0 else None
    row_total = coef_y + (coef_smooth * total_w if coef_smooth is not None else 0.0)
    return coef_y, coef_smooth, row_total


def generic_grad(
    xs: np.ndarray, tb: Targets, eps: float, scale: np.float64, reduction: str, input_kind: str
) -> np.ndarray:
    """``core.grad`` on one block of rows (any targets and input kind)."""
    a = coefficients(tb, xs.shape[1], eps)
    return grad_scaled(xs, a, input_kind, scale if reduction == "mean" else None)
