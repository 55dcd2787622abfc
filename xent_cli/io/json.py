"""JSON input -> numpy arrays, with errors that name the JSON path (``$.logits[2][1]``): the
reference reader (the standard library's ``json``). Large plain arrays go to
:mod:`.json_simd` first (the caller, :mod:`.sources`, decides); this module imports nothing
of it.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ..errors import InputError, plural
from .text import Parsed, decode

#: Deeper nesting than this is refused (a loss input has a handful of axes).
MAX_DEPTH = 32
#: The keys of a JSON object of logits.
KEYS = frozenset({"logits", "targets", "labels", "classes"})


def class_name(value: object) -> str:
    """The text of a class name given as a string or a number (``2.0`` -> ``'2'``).

    >>> class_name("cat"), class_name(2), class_name(2.0), class_name(0.5)
    ('cat', '2', '2', '0.5')
    """
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {plural(len(value), 'value')}"
    return "a number"


def _leaf(value: object, where: str, texts: bool, out: list[float | str]) -> bool:
    """Append one leaf to ``out``; return True if it is a string. Raise if it cannot be one."""
    kind = type(value)
    if kind is float:
        out.append(cast(float, value))
        return False
    if kind is int:
        try:
            out.append(float(cast(int, value)))
        except OverflowError:
            digits = str(value)
            shown = digits if len(digits) <= 20 else f"{digits[:6]}...{digits[-3:]}"
            raise InputError(
                f"{where}: {shown} ({len(digits)} digits) is too large for a float64"
            ) from None
        return False
    if value is None and not texts:
        out.append(float("nan"))  # what our own JSON writer writes for a non-finite number
        return False
    if kind is str and texts:
        out.append(cast(str, value))
        return True
    if kind is str:
        raise InputError(f"{where}: {value!r} is not a number")
    expected = "a number or a class name" if texts else "a number"
    raise InputError(f"{where}: {_describe(value)}, expected {expected}")


def _dense(value: object) -> np.ndarray | None:
    """A rectangular nested list of numbers (no booleans: the caller made sure) as float64,
    converted by NumPy in C; None for anything else (then walked leaf by leaf)."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):  # ragged, or an int no int64 holds
        return None
    if array.dtype.kind not in "fiu" or not 0 < array.ndim <= MAX_DEPTH or not array.size:
        return None
    return array.astype(np.float64, copy=False)


def to_array(
    value: object, path: str, source: str, role: str, no_booleans: bool = False
) -> np.ndarray:
    """Turn a rectangular nested list into an array: float64, or unicode when ``role`` is
    "targets" and a leaf is a string (numbers are then kept as their text).

    ``no_booleans``: ``value`` holds no ``True``/``False``, so NumPy may convert it at once.

    >>> to_array([[1, 2], [3, 4.5]], "$", "x.json", "logits").tolist()
    [[1.0, 2.0], [3.0, 4.5]]
    """
    if no_booleans and isinstance(value, list):
        array = _dense(value)
        if array is not None:
            return array
    texts = role != "logits"
    shape: list[int] = []
    node = value
    while isinstance(node, list):
        shape.append(len(node))
        if len(shape) > MAX_DEPTH:
            raise InputError(f"{source}, {path}: nested more than {MAX_DEPTH} levels deep")
        if not node:
            break
        node = node[0]
    if not texts and not shape and not isinstance(value, list):
        raise InputError(f"{source}, {path}: {_describe(value)}, expected a list of numbers")
    leaves: list[float | str] = []
    any_text = False

    def walk(node: object, where: str, depth: int) -> None:
        nonlocal any_text
        if depth == len(shape):
            if isinstance(node, list):
                raise InputError(f"{source}, {where}: {_describe(node)}, expected a number")
            any_text |= _leaf(node, f"{source}, {where}", texts, leaves)
            return
        if not isinstance(node, list):
            raise InputError(
                f"{source}, {where}: {_describe(node)}, expected a list of "
                f"{plural(shape[depth], 'value')}"
            )
        if len(node) != shape[depth]:
            raise InputError(
                f"{source}, {where}: {plural(len(node), 'value')}, expected {shape[depth]} "
                f"(as in {path + '[0]' * depth})"
            )
        for i, child in enumerate(node):
            walk(child, f"{where}[{i}]", depth + 1)

    walk(value, path, 0)
    if any_text:
        array = np.array([class_name(leaf) for leaf in leaves], dtype=str)
    else:
        array = np.array(leaves, dtype=np.float64)
    if array.size == 0:
        raise InputError(f"{source}, {path}: no data (an empty list)")
    return array.reshape(shape)


def read_names(value: object, path: str, source: str) -> tuple[str, ...]:
    """The class names of a JSON list (strings or numbers), or an error naming the item.

    >>> read_names(["cat", 2.0], "$.classes", "x.json")
    ('cat', '2')
    """
    if not isinstance(value, list) or not value:
        raise InputError(f"{source}, {path}: {_describe(value)}, expected a list of class names")
    names = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise InputError(f"{source}, {path}[{i}]: {_describe(item)}, expected a class name")
        names.append(class_name(item))
    return tuple(names)


def _targets_key(obj: dict[str, object], source: str) -> str | None:
    keys = [key for key in ("targets", "labels") if key in obj]
    if len(keys) == 2:
        raise InputError(f'{source}: both "targets" and "labels" keys are given; keep one')
    return keys[0] if keys else None


def from_object(
    obj: dict[str, object], source: str, role: str, no_booleans: bool = False
) -> Parsed:
    """Read ``{"logits": ..., "targets"|"labels": ..., "classes": [...]}``."""
    key = _targets_key(obj, source)
    main = "logits" if role == "logits" else key
    if main is None or main not in obj:
        import json  # start-up: only an error needs it here

        found = ", ".join(json.dumps(k) for k in obj) or "none"
        wanted = '"logits"' if role == "logits" else '"targets" or "labels"'
        raise InputError(f"{source}: no {wanted} key in the JSON object (keys found: {found})")
    array = to_array(obj[main], f"$.{main}", source, role, no_booleans)
    targets = None
    if role == "logits" and key is not None:
        targets = to_array(obj[key], f"$.{key}", source, "targets", no_booleans)
    names = read_names(obj["classes"], "$.classes", source) if "classes" in obj else None
    return Parsed(array, targets, names)


def parse_json(data: bytes, source: str, role: str) -> Parsed:
    """Parse JSON bytes (a nested list, or an object with ``logits``) into arrays.

    ``NaN``, ``Infinity`` and ``null`` are read as float NaN/inf (null as NaN).

    >>> parse_json(b'{"logits": [[1, 2]], "targets": [1]}', "x.json", "logits")[1].tolist()
    [1.0]
    """
    import json  # start-up: a literal or a CSV needs no JSON parser

    text = decode(data, source)
    no_booleans = "true" not in text and "false" not in text

    def unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
        obj: dict[str, object] = {}
        for key, item in pairs:
            if key in obj and key in KEYS:
                raise InputError(f"{source}: the key {json.dumps(key)} is given twice; keep one")
            obj[key] = item
        return obj

    try:
        value = json.loads(text, parse_constant=float, object_pairs_hook=unique)
    except InputError:
        raise
    except json.JSONDecodeError as err:
        raise InputError(
            f"{source}, line {err.lineno}, column {err.colno}: invalid JSON ({err.msg})"
        ) from None
    except RecursionError:
        raise InputError(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as err:  # e.g. an integer with more than 4300 digits
        if "integer string conversion" in str(err):
            what = "an integer of more than 4300 digits"
            raise InputError(f"{source}: invalid JSON ({what})") from None
        raise InputError(f"{source}: invalid JSON ({err})") from None
    if isinstance(value, dict):
        return from_object(value, source, role, no_booleans)
    return Parsed(to_array(value, "$", source, role, no_booleans))
