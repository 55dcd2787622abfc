"""Class names: map targets written as names (``cat``, or ``4`` among ``2,4,8``) to columns;
errors are :class:`~xent_cli.errors.InputError` naming the label and its index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _label_text(value: object) -> str:
    """A label as written: ``4.0`` -> ``'4'``, ``'cat'`` -> ``'cat'``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def encode_targets(targets: np.typing.ArrayLike, classes: Sequence[str] | None) -> np.ndarray:
    """Class-index targets from labels that may be class names.

    A label equal to a class name (as text, or as a number: ``4`` matches ``4.0``) is that
    name's column, any other an integer column index; without ``classes``, numbers pass.

    >>> encode_targets(np.array([4.0]), ["2", "4", "8", "1", "3", "5"]).tolist()
    [1.0]
    >>> encode_targets(np.array(["dog", "cat", "-100"]), ["cat", "dog"]).tolist()
    [1.0, 0.0, -100.0]
    """
    arr = np.asarray(targets)
    if not classes:
        if arr.dtype.kind in "US":
            return _parse_numbers(arr)
        return arr
    names = [str(c).strip() for c in classes]
    by_text = {name: i for i, name in enumerate(names)}
    by_value: dict[float, int] = {}
    for i, name in enumerate(names):
        v = _number(name)
        if v is not None:
            by_value.setdefault(v, i)
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=np.float64)
    for k, value in enumerate(flat.tolist()):
        text = _label_text(value)
        num = _number(text)
        if text in by_text:
            out[k] = by_text[text]
        elif num is not None and num in by_value:
            out[k] = by_value[num]
        elif num is not None:
            out[k] = num
        else:
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise InputError(
                f"target {text!r} at index {k} is neither a class name ({shown}) nor a class index"
            )
    return out.reshape(arr.shape)


def _parse_numbers(arr: np.ndarray) -> np.ndarray:
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=np.float64)
    for k, text in enumerate(flat.tolist()):
        num = _number(str(text))
        if num is None:
            raise InputError(
                f"target {str(text)!r} at index {k} is not a class index; "
                "name the classes with --classes (or a header row)"
            )
        out[k] = num
    return out.reshape(arr.shape)
