"""Numbers and arrays as text: rounded or truncated decimals, full precision, bars of block
characters; arrays as plain, CSV and JSON text (JSON ``null`` for non-finite numbers, and a
flag that says so: the caller warns). No Rich.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

BAR_WIDTH = 10
_EIGHTHS = "▏▎▍▌▋▊▉"
TRACK = "░"  # the empty part of a bar (spaces would be stripped by right-justification)


def fmt(value: float, digits: int = 4, truncate: bool = False) -> str:
    """``value`` with ``digits`` decimals, rounded (as ``format``) or truncated.

    Magnitudes of 1e6 and more, or non-zero ones below ``10**-digits``, use scientific
    notation with ``digits`` decimals in the mantissa.

    >>> fmt(0.36552928931500245, 3), fmt(0.36552928931500245, 3, truncate=True)
    ('0.366', '0.365')
    >>> fmt(0.03205860328008499, 4, truncate=True), fmt(float("-inf")), fmt(1234567.0, 2)
    ('0.0320', '-inf', '1.23e+06')
    """
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    digits = max(0, int(digits))
    a = abs(v)
    sci = a >= 1e6 or (a != 0.0 and a < 10.0**-digits)
    if not truncate:
        return f"{v:.{digits}e}" if sci else f"{v:.{digits}f}"
    from decimal import ROUND_DOWN, Decimal, localcontext  # start-up: ~0.7 ms, for truncation

    with localcontext() as ctx:
        ctx.prec = 400
        d = Decimal(repr(v))  # the shortest repr: 0.3 truncates to 0.3, not 0.2999
        step = Decimal(1).scaleb(-digits)
        if not sci:
            return f"{d.quantize(step, rounding=ROUND_DOWN):f}"
        exp = d.adjusted()
        mant = d.scaleb(-exp).quantize(step, rounding=ROUND_DOWN)
        return f"{mant:f}e{exp:+03d}"


def compact(value: float, digits: int = 4, truncate: bool = False) -> str:
    """:func:`fmt` without trailing zeros, for counts, weights and divisors.

    >>> compact(3.0), compact(0.5), compact(1 / 3), compact(2.5e-7)
    ('3', '0.5', '0.3333', '2.5000e-07')
    """
    s = fmt(value, digits, truncate)
    if "." in s and "e" not in s and s not in ("nan", "inf", "-inf"):
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def plain_scalar(value: float) -> str:
    """The full-precision ``repr`` of a float64.

    >>> plain_scalar(1.4401896985611955), plain_scalar(float("nan"))
    ('1.4401896985611955', 'nan')
    """
    return repr(float(value))


def bar(p: float, width: int = BAR_WIDTH, *, track: bool = True) -> str:
    """A horizontal bar of block characters, ``p`` of ``width`` cells in eighths: on a light
    track (``track``), or alone and at least a sliver when ``p`` is above 0 (a histogram's).

    >>> bar(0.25), bar(1.0), bar(float("nan"))
    ('██▌░░░░░░░', '██████████', '░░░░░░░░░░')
    >>> bar(1 / 4, 8, track=False), bar(0.0, 8, track=False), bar(1 / 1000, 8, track=False)
    ('██', '', '▏')
    """
    p = float(p)
    if not p > 0.0:  # also NaN
        return TRACK * width if track else ""
    eighths = round(min(p, 1.0) * width * 8)
    if not track:
        eighths = max(1, eighths)
    full, rem = divmod(eighths, 8)
    s = "█" * full + (_EIGHTHS[rem - 1] if rem else "")
    return s.ljust(width, TRACK) if track else s


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
    import csv  # start-up: ~0.5 ms to import, for CSV output only

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
    import json  # start-up: ~2 ms to import, for JSON output only

    flag = [False]
    mapped = _jsonable(obj, flag)
    return json.dumps(mapped, allow_nan=False), flag[0]
