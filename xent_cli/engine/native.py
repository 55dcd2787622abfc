"""The optional compiled helper (``_native.c``), behind this one module.

When a C compiler was there at install time, :data:`lib` is the extension: a transposing
copy, column sums, the target gather, the float16 conversion, and a whole loss block in one
cache-resident pass. Each function says whether the helper took the arrays (``False``: the
caller does it in NumPy). The same operations in NumPy's order (its max, exp and log are
NumPy's own loops): bit-identical with it and without it (tests set :data:`lib` to ``None``).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

import numpy as np

lib: ModuleType | None
try:  # built from _native.c at install time when a C compiler is there; NumPy otherwise
    lib = import_module(f"{__package__}._native")  # by name: a compiled module, no source
except ImportError:  # pragma: no cover - depends on the install
    lib = None

Loops = tuple[object, object, object]


def ready(a: np.ndarray) -> bool:
    """Whether the helper can take ``a`` (built, C-contiguous float32/float64)."""
    return lib is not None and a.flags.c_contiguous and a.dtype in (np.float32, np.float64)


def transpose_rows(src: np.ndarray, dst: np.ndarray) -> bool:
    """Copy ``src`` ``(C, R, 1)``, the transpose of C-contiguous rows ``(R, C)`` of ``dst``'s
    type (or float16 rows for a float32 ``dst``), into contiguous ``dst``: 3x faster than
    ``np.copyto``. False (nothing done) for any other arrays."""
    if lib is None or src.ndim != 3 or src.shape[2] != 1 or not dst.flags.c_contiguous:
        return False
    same = src.dtype == dst.dtype and src.dtype in (np.float32, np.float64)
    if not same and not (src.dtype == np.float16 and dst.dtype == np.float32):
        return False
    rows = src[:, :, 0].T
    if not (rows.flags.c_contiguous and rows.dtype.isnative):
        return False
    lib.transpose(rows, dst.reshape(dst.shape[0], -1))
    return True


def halves(src: np.ndarray, dst: np.ndarray) -> bool:
    """float16 ``src`` into float32 ``dst``, exactly, in one pass (NumPy needs six)."""
    if lib is None or not (src.flags.c_contiguous and dst.flags.c_contiguous):
        return False
    lib.halves(src, dst)
    return True


def col_sums(a: np.ndarray, out: np.ndarray) -> bool:
    """The float64 sums of ``(C, R)`` ``a`` along axis 0 into ``out``: NumPy's additions in
    NumPy's order, 2x faster. One sample (NumPy adds its classes pairwise) is refused."""
    if lib is None or not ready(a) or a.shape[1] <= 1:
        return False
    lib.col_sums(a, out)
    return True


def take_cols(a: np.ndarray, y: np.ndarray, out: np.ndarray) -> bool:
    """``out[r] = a[y[r], r]`` for a ``(C, R)`` chunk and int64 ``y``."""
    if lib is None or not (ready(a) and y.dtype == np.int64 and y.flags.c_contiguous):
        return False
    lib.take_cols(a, y, out)
    return True


def ufunc_loops(ct: np.dtype) -> Loops | None:
    """``np.maximum``'s and ``np.exp``'s strided loops for ``ct`` and ``np.log``'s for float64,
    as the call-info capsules that :func:`loss_cols` calls them through; or None (no
    helper, or a NumPy before 1.24, which has no ``ufunc._get_strided_loop``)."""
    if lib is None or not hasattr(lib, "loss_cols") or ct not in (np.float32, np.float64):
        return None
    f8 = np.dtype(np.float64)
    ufuncs: tuple[tuple[Any, tuple[np.dtype, ...]], ...] = (
        (np.maximum, (ct,) * 3),
        (np.exp, (ct,) * 2),
        (np.log, (f8, f8)),
    )
    try:
        loops = []
        for ufunc, types in ufuncs:  # private NumPy API: absent before 1.24
            _, info = ufunc._resolve_dtypes_and_context(types)
            ufunc._get_strided_loop(info)
            loops.append(info)
        # A NumPy whose capsules the helper does not know (their name carries the layout's
        # version) is refused here, once, and the NumPy steps are used instead.
        probe = np.empty(2)
        lib.loss_cols(np.zeros((2, 2), ct), np.zeros(2, np.int64), probe, *loops)
    except (AttributeError, TypeError, ValueError, RuntimeError):  # pragma: no cover - old NumPy
        return None
    if probe.tolist() != [float(np.log(f8.type(2.0)))] * 2:  # pragma: no cover - never seen
        return None
    return loops[0], loops[1], loops[2]


def loss_cols(rows: np.ndarray, y: np.ndarray, dest: np.ndarray, loops: Loops, eps: float) -> bool:
    """Per-sample losses of ``(n, C)`` ``rows`` (logits, int64 class indices ``y``, label
    smoothing ``eps``) into ``dest``, a few hundred samples at a time in cache; whether
    every input value was finite."""
    if lib is None:
        raise ValueError("loss_cols: the compiled helper is not built")
    return bool(lib.loss_cols(rows, y, dest, *loops, float(eps)))
