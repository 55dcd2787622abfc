"""The optional compiled helper ``xent_cli._ck``: each function against the NumPy it replaces,
bit for bit, and the blocked path with and without it (identical results, not merely close).

The helper is built at install time when a C compiler is there (setup.py); under CI it must
have been built, so these tests never skip there.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from xent_cli import _kernel as kern
from xent_cli import blocks

ck = kern._ck
if ck is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI=true but xent_cli._ck was not built: check the C compiler")
    pytest.skip("xent_cli._ck not built (no C compiler at install)", allow_module_level=True)

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
            blocks.evaluate_blocked(x, y, **kw).per_sample,
            blocks.grad_blocked(x, y, **kw),
            blocks.softmax_blocked(x, axis=axis, block_rows=50),
            blocks.softmax_blocked(x, axis=axis, block_rows=50, log=True),
        )

    calls = []
    real = {name: getattr(ck, name) for name in ("transpose", "col_sums", "take_cols", "halves")}

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return real[name]

    monkeypatch.setattr(kern, "_ck", Spy())
    with_helper = everything()
    monkeypatch.setattr(kern, "_ck", None)
    without = everything()
    for got, want in zip(with_helper, without, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        as_bytes = [np.ascontiguousarray(a).view(np.uint8) for a in (got, want)]
        np.testing.assert_array_equal(*as_bytes)  # bit for bit: NaN payloads, signed zeros
    if len(shape) == 2 and n_classes < 64:
        assert "col_sums" in calls  # the helper really ran
        if n_classes > 1 or dtype == np.float16:  # (R, 1) of the compute type is used in place
            assert "transpose" in calls
