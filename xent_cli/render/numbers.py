"""Numbers as text: rounded or truncated decimals, full precision, and bars of block
characters. Pure functions of strings; no Rich.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, Decimal, localcontext

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
