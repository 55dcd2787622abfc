"""The optional compiled helper ``xent_cli.engine._native`` (``native.lib``): each function
against the NumPy it replaces, bit for bit, and the blocked path with and without it
(identical results, not merely close).

The helper is built at install time when a C compiler is there (setup.py); under CI it must
have been built, so these tests never skip there.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.helpers import evaluate_blocked, grad_blocked
from xent_cli.engine import kernels as kern, native
from xent_cli.engine.passes import softmax as softmax_blocked
from xent_cli.engine.scans import NonFiniteScan, non_finite_stats

ck = native.lib
if ck is None:
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI=true but xent_cli.engine._native was not built: check the C compiler"
        )
    pytest.skip(
        "xent_cli.engine._native not built (no C compiler at install)", allow_module_level=True
    )

ROWS = [1, 7, 8, 9, 64, 1001]  # around the C loop's groups of 8 rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("n_classes", [1, 2, 10, 63])
def test_each_function_matches_numpy_bit_for_bit(dtype, rows, n_classes):
    rng = np.random.default_rng(rows * 100 + n_classes)
    x = (rng.standard_normal((rows, n_classes)) * 30).astype(dtype)
    a = np.empty((n_classes, rows), dtype)
    ck.transpose(x, a)
    np.testing.assert_array_equal(a, x.T)
    e = np.exp(a - a.max(axis=0))
    sums = np.empty(rows)
    ck.col_sums(e, sums)
    want = np.add.reduce(e, axis=0, dtype=np.float64)
    np.testing.assert_array_equal(sums.view(np.uint64), want.view(np.uint64))
    y = rng.integers(0, n_classes, rows)
    got = np.empty(rows, dtype)
    ck.take_cols(a, y, got)
    np.testing.assert_array_equal(got, x[np.arange(rows), y])


def test_float16_rows_are_converted_exactly_while_transposed():
    every_half = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    for n_classes in (1, 2, 10, 63):
        rows = every_half.size // n_classes
        x = every_half[: rows * n_classes].reshape(rows, n_classes)  # every bit pattern
        a = np.empty((n_classes, rows), np.float32)
        ck.transpose(x, a)
        want = x.T.astype(np.float32)
        np.testing.assert_array_equal(a.view(np.uint32), want.view(np.uint32))  # NaN payloads too


def test_halves_converts_every_float16_exactly():
    every_half = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    out = np.empty(every_half.size, np.float32)
    ck.halves(every_half, out)
    want = every_half.astype(np.float32)
    np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))
    with pytest.raises(ValueError, match="halves"):
        ck.halves(every_half, np.empty(every_half.size - 1, np.float32))
    with pytest.raises(ValueError, match="halves"):
        ck.halves(out, np.empty(every_half.size, np.float32))  # float32 in: not a half


def test_bad_arguments_raise_instead_of_reading_out_of_bounds():
    x = np.zeros((4, 3), np.float32)
    a = np.empty((3, 4), np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        ck.transpose(x.T, a.T)  # not C-contiguous
    with pytest.raises(TypeError, match="float16/32/64"):
        ck.transpose(x.astype(np.int32), a)
    with pytest.raises(ValueError, match="transpose"):
        ck.transpose(x, np.empty((4, 3), np.float32))  # not the transpose's shape
    with pytest.raises(ValueError, match="transpose"):
        ck.transpose(x, np.empty((3, 4), np.float64))  # another type
    with pytest.raises(ValueError, match="transpose"):
        ck.transpose(x.astype(np.float16), np.empty((3, 4), np.float64))  # float16: float32 only
    with pytest.raises(TypeError, match="float32/float64"):
        ck.col_sums(np.zeros((3, 4), np.float16), np.empty(4))  # float16 only for transpose
    with pytest.raises((ValueError, BufferError), match="writable|read-only"):
        ck.transpose(x, _readonly((3, 4)))
    with pytest.raises(ValueError, match="col_sums"):
        ck.col_sums(a, np.empty(4, np.float32))
    with pytest.raises(ValueError, match="col_sums"):
        ck.col_sums(a, np.empty(5))
    with pytest.raises(IndexError, match="class 3 of sample 2"):
        ck.take_cols(a, np.array([0, 1, 3, 0]), np.empty(4, np.float32))
    with pytest.raises(IndexError, match="class -1 of sample 0"):
        ck.take_cols(a, np.array([-1, 1, 2, 0]), np.empty(4, np.float32))
    with pytest.raises(ValueError, match="overlapping"):
        ck.transpose(a.reshape(4, 3), a)  # the same memory: refused, not garbage
    same = np.zeros((1, 4))
    with pytest.raises(ValueError, match="apart"):
        ck.col_sums(same, same[0])
    big_endian = np.zeros((4, 3), ">f4")
    with pytest.raises(TypeError, match="byte order"):
        ck.transpose(big_endian, a)
    with pytest.raises(ValueError, match="int64"):
        ck.take_cols(a, np.array([0, 1, 2, 0], np.int32), np.empty(4, np.float32))


def _readonly(shape):
    arr = np.empty(shape, np.float32)
    arr.setflags(write=False)
    return arr


CASES = [
    ((1001, 10), 1, {}),
    ((1001, 10), 1, {"weight": True, "ignore": True}),
    ((999, 2), 1, {"label_smoothing": 0.1}),
    ((1001, 10), 1, {"label_smoothing": 0.2, "ignore": True}),
    ((1001, 10), 1, {"label_smoothing": 0.2, "weight": True}),  # not fused: a matrix product
    ((517, 1), 1, {}),
    ((333, 63), 1, {"reduction": "sum"}),
    ((7, 5, 13), 1, {}),  # K-dim: blocks that need no transposition
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize(("shape", "axis", "opts"), CASES)
def test_blocked_results_identical_with_and_without_the_helper(
    monkeypatch, dtype, shape, axis, opts
):
    rng = np.random.default_rng(len(shape) + shape[0])
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    x.reshape(-1)[::97] = np.nan  # non-finite values must come out the same bits too
    x.reshape(-1)[5::89] = np.inf
    x.reshape(-1)[7::83] = -np.inf
    n_classes = shape[axis]
    y = rng.integers(0, n_classes, shape[:axis] + shape[axis + 1 :])
    kw = {"block_rows": 50, "class_axis": axis, "reduction": opts.get("reduction", "none")}
    if opts.get("ignore"):
        y.reshape(-1)[::7] = -100
    if opts.get("weight"):
        kw["weight"] = rng.random(n_classes) + 0.5
    if "label_smoothing" in opts:
        kw["label_smoothing"] = opts["label_smoothing"]

    def everything():
        return (
            evaluate_blocked(x, y, **kw).per_sample,
            grad_blocked(x, y, **kw),
            softmax_blocked(x, axis=axis, block_rows=50),
            softmax_blocked(x, axis=axis, block_rows=50, log=True),
        )

    calls = []
    names = ("transpose", "col_sums", "take_cols", "halves", "loss_cols")
    real = {name: getattr(ck, name) for name in names}

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return real[name]

    monkeypatch.setattr(native, "lib", Spy())
    with_helper = everything()
    monkeypatch.setattr(native, "lib", None)
    without = everything()
    for got, want in zip(with_helper, without, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        as_bytes = [np.ascontiguousarray(a).view(np.uint8) for a in (got, want)]
        np.testing.assert_array_equal(*as_bytes)  # bit for bit: NaN payloads, signed zeros
    if len(shape) == 2 and n_classes < 64:
        assert "col_sums" in calls  # the helper really ran
        weighted_smoothing = "label_smoothing" in opts and opts.get("weight")
        assert ("loss_cols" in calls) == (not weighted_smoothing)  # the fused loss
        if n_classes > 1 or dtype == np.float16:  # (R, 1) of the compute type is used in place
            assert "transpose" in calls


def _numpy_losses(x: np.ndarray, y: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """The per-sample losses of the NumPy kernel (``kernels.index_losses``, col layout)."""
    ct = np.dtype(np.float64 if x.dtype == np.float64 else np.float32)
    rows, n_classes = x.shape
    w = kern.Work(rows, n_classes, ct)
    xs = np.ascontiguousarray(x.T.astype(ct))
    out = np.empty(rows)
    with np.errstate(all="ignore"):
        kern.index_losses(xs, w, True, y, None, None, eps, out)
    return out


def _tile_rows(n_classes: int) -> int:
    """Samples in one tile of loss_cols (see TILE_ITEMS in _native.c)."""
    return max(256, 4096 // n_classes // 64 * 64)


@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("n_classes", [1, 2, 10, 63])
def test_loss_cols_is_the_numpy_kernel_bit_for_bit(dtype, n_classes, eps):
    tile = _tile_rows(n_classes)
    rng = np.random.default_rng(n_classes)
    ct = np.dtype(np.float64 if dtype == np.float64 else np.float32)
    loops = native.ufunc_loops(ct)
    assert loops is not None
    # (not 1: NumPy adds one sample's classes pairwise, so fused_rows keeps it from the kernel)
    for rows in (2, 7, 63, 64, 65, tile - 1, tile, tile + 1, 3 * tile + 5):
        x = (rng.standard_normal((rows, n_classes)) * 30).astype(dtype)
        y = rng.integers(0, n_classes, rows)
        loss = np.empty(rows)
        assert ck.loss_cols(x, y, loss, *loops, eps) is True
        want = _numpy_losses(x, y, eps)
        np.testing.assert_array_equal(loss.view(np.uint64), want.view(np.uint64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_loss_cols_special_values_same_bits_and_reported(dtype):
    n_classes, rows = 10, 1000
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((rows, n_classes)) * 3).astype(dtype)
    y = rng.integers(0, n_classes, rows)
    x[::2, 3] = -0.0
    x[1::4, 5] = 0.0
    nan_bits = {np.float16: 0xFE01, np.float32: 0xFFC00123, np.float64: 0xFFF8000000000123}
    int_type = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}[dtype]
    odd_nan = np.array([nan_bits[dtype]], int_type).view(dtype)[0]  # negative, with payload
    loops = native.ufunc_loops(np.dtype(np.float64 if dtype == np.float64 else np.float32))
    places = {
        "nan": (10, 2, np.nan),
        "odd nan": (11, 0, odd_nan),
        "+inf": (400, 9, np.inf),
        "-inf, not the target": (500, (y[500] + 1) % n_classes, -np.inf),
        "-inf, the target": (600, y[600], -np.inf),
    }
    clean = np.empty(rows)
    assert ck.loss_cols(x, y, clean, *loops) is True
    for name, (r, c, value) in places.items():
        bad = x.copy()
        bad[r, c] = value
        loss = np.empty(rows)
        assert ck.loss_cols(bad, y, loss, *loops) is False, name
        want = _numpy_losses(bad, y)
        np.testing.assert_array_equal(loss.view(np.uint64), want.view(np.uint64), err_msg=name)
    every = x.copy()
    every[20] = -np.inf  # a whole row of -inf: NaN
    loss = np.empty(rows)
    assert ck.loss_cols(every, y, loss, *loops) is False
    assert np.isnan(loss[20]) and np.isfinite(np.delete(loss, 20)).all()


def test_loss_cols_rejects_bad_arguments():
    x = np.zeros((4, 3), np.float32)
    loops = native.ufunc_loops(np.dtype(np.float32))
    y = np.array([0, 1, 2, 0])
    with pytest.raises(IndexError, match="class 3 of sample 2"):
        ck.loss_cols(x, np.array([0, 1, 3, 0]), np.empty(4), *loops)
    with pytest.raises(IndexError, match="class -1 of sample 0"):
        ck.loss_cols(x, np.array([-1, 1, 2, 0]), np.empty(4), *loops)
    with pytest.raises(ValueError, match="loss_cols"):
        ck.loss_cols(x, y, np.empty(4, np.float32), *loops)  # loss must be float64
    with pytest.raises(ValueError, match="loss_cols"):
        ck.loss_cols(x, y.astype(np.int32), np.empty(4), *loops)
    with pytest.raises(ValueError, match="loss_cols"):
        ck.loss_cols(x, y[:3], np.empty(4), *loops)
    with pytest.raises(ValueError, match="loss_cols"):
        ck.loss_cols(x[0], y[:1], np.empty(1), *loops)  # 1-D: rows are 2-D
    shared = np.zeros(16)
    with pytest.raises(ValueError, match="apart"):
        ck.loss_cols(shared.reshape(4, 4), y, shared[:4], *loops)
    with pytest.raises(ValueError, match="PyCapsule"):
        ck.loss_cols(x, y, np.empty(4), "not a capsule", loops[1], loops[2])
    for eps in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="eps must be in"):
            ck.loss_cols(x, y, np.empty(4), *loops, eps)
    w = kern.Work(4, 3, np.dtype(np.float32))
    with pytest.raises(ValueError, match="class weights is not fused"):
        kern.fused_losses(x, w, y, None, np.ones(3), np.empty(4), 0.1)
    unfilled = np.exp._resolve_dtypes_and_context((np.dtype("f4"),) * 2)[1]
    with pytest.raises(ValueError, match="exp_loop"):
        ck.loss_cols(x, y, np.empty(4), loops[0], unfilled, loops[2])


def test_fused_pass_reports_non_finite_values_as_the_chunk_scan_does(monkeypatch):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((5000, 10)) * 2).astype(np.float32)
    y = rng.integers(0, 10, 5000)
    x[1234, (y[1234] + 3) % 10] = -np.inf  # no trace in the losses: found by the shift
    x[4321, 2] = np.nan
    calls = []
    real = ck.loss_cols
    monkeypatch.setattr(ck, "loss_cols", lambda *a: calls.append(1) or real(*a), raising=True)
    scan = NonFiniteScan()
    got = evaluate_blocked(x, y, block_rows=700, threads=3, scan=scan, reduction="none")
    assert calls  # the fused pass ran
    assert scan.result() == non_finite_stats(x) == (2, 1234 * 10 + (y[1234] + 3) % 10)
    monkeypatch.setattr(native, "lib", None)
    scan0 = NonFiniteScan()
    want = evaluate_blocked(x, y, block_rows=700, threads=3, scan=scan0, reduction="none")
    assert scan0.result() == scan.result()
    np.testing.assert_array_equal(got.per_sample.view(np.uint64), want.per_sample.view(np.uint64))


def test_a_numpy_whose_loops_the_helper_refuses_gets_the_numpy_steps(monkeypatch):
    class Refusing:  # as a NumPy with another call-info capsule would be
        def __getattr__(self, name):
            return getattr(ck, name)

        def loss_cols(self, *args):
            raise ValueError("PyCapsule_GetPointer called with incorrect name")

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 10)).astype(np.float32)
    y = rng.integers(0, 10, 3000)
    want = evaluate_blocked(x, y, block_rows=500, reduction="none").per_sample
    monkeypatch.setattr(native, "lib", Refusing())
    assert native.ufunc_loops(np.dtype(np.float32)) is None
    got = evaluate_blocked(x, y, block_rows=500, reduction="none").per_sample
    np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))
