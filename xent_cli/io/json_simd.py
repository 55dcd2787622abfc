"""Large JSON arrays of numbers read straight into NumPy: pysimdjson (the ``fast`` extra).

:mod:`.json`'s reader stays the reference (imported here, never the other way round).
simdjson parses valid JSON only (no ``NaN``, no integer beyond 64 bits, no lone surrogate)
and copies a 1-D or 2-D array of numbers into a float64 buffer, rounding as Python does.
Anything else (a string, ``null`` or ``true`` among the numbers, a ragged or deeper array,
another key, a key given twice) makes :func:`fast_json` return None: the reference takes the
input, its messages naming the JSON path. ~180-250 MB/s against ~30 (``bench/parse.py``).
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np

from ..errors import InputError
from ..limits import current
from .json import KEYS, read_names
from .text import Parsed


def simdjson_engine() -> ModuleType | None:
    """The ``simdjson`` module (pysimdjson) when it can be imported.

    >>> simdjson_engine() is None or simdjson_engine().__name__ == "simdjson"
    True
    """
    if "simdjson" in sys.modules and sys.modules["simdjson"] is None:
        return None  # import blocked (tests do this to take the standard-library path)
    try:
        import simdjson  # optional: the fast extra
    except ImportError:
        return None
    return simdjson


def _dense(simdjson: ModuleType, array: object) -> tuple[np.ndarray, int] | None:
    """A 1-D or 2-D array of numbers as float64, with the ``[`` it takes; None otherwise."""
    if not isinstance(array, simdjson.Array) or not len(array):
        return None
    try:
        values = np.frombuffer(array.as_buffer(of_type="d"), dtype=np.float64)
        rows = len(array)
        if not isinstance(array[0], simdjson.Array):
            return (values, 1) if values.size == rows else None
        widths = set(map(len, array))  # a number among the rows has no len()
    except TypeError:
        return None  # a string, null, true/false or an object among the numbers
    width = widths.pop()
    if widths or not width or values.size != rows * width:
        return None
    return values.reshape(rows, width), rows + 1


def fast_json(data: bytes, source: str, role: str) -> Parsed | None:
    """Parse a large JSON array (or ``{"logits": ..., "targets": ...}``) of numbers.

    Returns the arrays the standard-library reader would give, or None when that reader
    should take the input (too small, no simdjson, or anything out of the ordinary).

    >>> parsed = fast_json(b"[[1, 2.5], [3, 4]]" + b" " * (1 << 20), "x.json", "logits")
    >>> parsed is None or parsed.array.tolist() == [[1.0, 2.5], [3.0, 4.0]]  # None: no simdjson
    True
    """
    simdjson = simdjson_engine() if len(data) >= current().json_fast_bytes else None
    if simdjson is None:
        return None
    try:
        doc = simdjson.Parser().parse(data)
    except (ValueError, RuntimeError):  # invalid JSON, a big integer, not UTF-8
        return None
    if isinstance(doc, simdjson.Array):
        found = {"": _dense(simdjson, doc)}
        names = None
        accounted = 0
    elif isinstance(doc, simdjson.Object):
        keys = list(doc.keys())
        if len(set(keys)) != len(keys) or not set(keys) <= KEYS:
            return None
        found = {key: _dense(simdjson, doc[key]) for key in keys if key != "classes"}
        names, accounted = None, 0
        if "classes" in doc:
            classes = doc["classes"]
            try:
                listed = classes.as_list() if isinstance(classes, simdjson.Array) else classes
                names = read_names(listed, "$.classes", source)
            except InputError:
                return None
            accounted = 1 + sum(str(name).count("[") for name in listed)
    else:
        return None
    dense = {key: item for key, item in found.items() if item is not None}
    if len(dense) != len(found):
        return None
    # Every "[" of the text is accounted for: no array hides a deeper one.
    if data.count(b"[") != accounted + sum(brackets for _, brackets in dense.values()):
        return None
    if "" in dense:
        return Parsed(dense[""][0])
    if "targets" in dense and "labels" in dense:
        return None
    key = "targets" if "targets" in dense else "labels" if "labels" in dense else None
    main = "logits" if role == "logits" else key
    if main is None or main not in dense:
        return None
    targets = dense[key][0] if role == "logits" and key is not None else None
    return Parsed(dense[main][0], targets, names)
