"""Arrays and results as plain, CSV and JSON text, in full precision. No Rich.

JSON goes through ``.tolist()`` and ``json.dumps(..., allow_nan=False)`` after mapping
non-finite numbers to ``null``, and says whether it did (the caller warns).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .numbers import plain_scalar


def _rows_of(arr: np.ndarray) -> list[list[str]]:
    a = np.asarray(arr)
    if a.ndim == 0:
        return [[plain_scalar(float(a))]]
    rows = a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])
    return [[plain_scalar(v) for v in row] for row in rows.tolist()]


def plain_array(arr: np.ndarray) -> str:
    """One line per row (1-D: one line; >2-D: rows of the last axis), full precision.

    >>> print(plain_array(np.array([[0.5, 1.0], [2.0, float("inf")]])))
    0.5 1.0
    2.0 inf
    """
    return "\n".join(" ".join(row) for row in _rows_of(arr))


def csv_array(arr: np.ndarray, header: Sequence[str] | None = None) -> str:
    """Like :func:`plain_array`, comma-separated, with an optional header line.

    >>> print(csv_array(np.array([[0.25, 0.75]]), header=["cat", "dog"]))
    cat,dog
    0.25,0.75
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow(list(header))
    writer.writerows(_rows_of(arr))
    return buf.getvalue().rstrip("\n")


def _jsonable(obj: Any, flag: list[bool]) -> Any:
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist(), flag)
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), flag)
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        flag[0] = True
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, flag) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, flag) for v in obj]
    return obj


def json_dumps(obj: Any) -> tuple[str, bool]:
    """JSON text of ``obj`` (numpy mapped to Python, NaN/inf to ``null``) and whether any was.

    >>> json_dumps({"loss": np.float64("nan"), "v": np.array([1.0, np.inf])})
    ('{"loss": null, "v": [1.0, null]}', True)
    """
    flag = [False]
    mapped = _jsonable(obj, flag)
    return json.dumps(mapped, allow_nan=False), flag[0]
