"""Bytes, paths and literals -> numpy arrays, with one-line errors that name the place.

``load`` reads the LOGITS and TARGETS arguments, ``load_list`` list options (``--weight``).
Any bad input is an :class:`InputError` naming the source (the path, ``'<stdin>'`` or
``'literal'``), the place, what was found and what was expected; no other exception escapes.
Formats are told by content first (magic bytes, a leading ``[`` or ``{``), extension second.

>>> load("1,2,3,4;5,6,7,8").array.shape
(2, 4)
>>> load_list("1,2,0.5", option="--weight").tolist()
[1.0, 2.0, 0.5]
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

import numpy as np

from ..errors import InputError
from ..limits import current
from ..spec import INPUT_FORMATS
from .json import class_name, parse_json
from .memory import check_memory, json_need, read_bounded, text_need
from .npy import NPY_MAGIC, NPZ_MAGICS, load_npy_bytes, load_npy_path, load_npz
from .text import Parsed, is_number, looks_like_path, parse_literal, parse_text, refuse_binary

_ROLES = ("logits", "targets")
_EXTENSIONS = {".json": "json", ".npy": "npy", ".npz": "npz"}
_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*[\[{]")
_LIST_SPLIT = re.compile(r"\s*[,;]\s*|\s+")
_BINARY_MAGICS = (NPY_MAGIC, *NPZ_MAGICS)
#: Binary formats people pass by mistake, by magic bytes: what it is and what to do.
_FOREIGN = (
    (b"\x1f\x8b", "gzip-compressed data; decompress it first (zcat FILE | xent ... -)"),
    (b"\x89HDF", "an HDF5 file; export the array with np.save"),
    (b"\x80\x02", "a Python pickle, refused (never unpickled); save the array with np.save"),
    (b"\x80\x03", "a Python pickle, refused (never unpickled); save the array with np.save"),
    (b"\x80\x04", "a Python pickle, refused (never unpickled); save the array with np.save"),
    (b"\x80\x05", "a Python pickle, refused (never unpickled); save the array with np.save"),
)


class Loaded(NamedTuple):
    """What one input yields: its main array; its display name (``source``); class names
    (a CSV header, a JSON/npz ``classes`` key); targets carried by a logits input (a
    ``targets``/``labels`` key, a CSV ``label`` column)."""

    array: np.ndarray
    source: str
    class_names: tuple[str, ...] | None = None
    targets: np.ndarray | None = None


def sniff_format(data: bytes, name: str = "") -> str:
    """The format of input bytes: by magic bytes, a leading ``[``/``{``, then the extension.

    >>> sniff_format(b"\\x93NUMPY..."), sniff_format(b"  [1, 2]"), sniff_format(b"1,2", "a.csv")
    ('npy', 'json', 'csv')
    """
    if data.startswith(NPY_MAGIC):
        return "npy"
    if data.startswith(NPZ_MAGICS):
        return "npz"
    if _JSON_START.match(data):
        return "json"
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower(), "csv")


def _from_bytes(data: bytes, source: str, role: str, input_format: str, name: str) -> Loaded:
    fmt = sniff_format(data, name) if input_format == "auto" else input_format
    if fmt == "npy":
        return Loaded(load_npy_bytes(data, source, role), source)
    if fmt in ("csv", "json"):
        for magic, what in _FOREIGN:
            if data.startswith(magic):
                raise InputError(f"{source}: {what}")
    if fmt == "npz":
        array, targets, names = load_npz(io.BytesIO(data), source, role)
    elif fmt == "json":
        check_memory(json_need(data), source, "parsing this JSON")
        array, targets, names = read_json(data, source, role)
    else:
        check_memory(text_need(data), source, "parsing this text")
        array, targets, names = read_text(data, source, role)
    return Loaded(array, source, names, targets)


def read_json(data: bytes, source: str, role: str) -> Parsed:
    """JSON: pysimdjson for a large plain array (``fast`` extra), else the reference reader."""
    from .json_simd import fast_json  # start-up: a reader is imported when its format is met

    return fast_json(data, source, role) or parse_json(data, source, role)


def read_text(data: bytes, source: str, role: str) -> Parsed:
    """Text: a large plain table of logits parsed whole (polars or NumPy), else cell by cell."""
    parsed = None
    if role == "logits" and len(data) >= current().text_bulk_bytes:
        from .text_bulk import bulk_logits  # start-up: as fast_json in read_json

        parsed = bulk_logits(data, source)
    return parsed or parse_text(data, source, role)


def _text_only(source: str, input_format: str, head: bytes = b"") -> Callable[[bytes], None]:
    """For a stream: refuse binary bytes at the first chunk, unless they are .npy/.npz."""

    def check(chunk: bytes) -> None:
        start = head + chunk
        if input_format in ("auto", "csv", "json") and not start.startswith(_BINARY_MAGICS):
            refuse_binary(start, source)

    return check


def _read_head(stream: BinaryIO, size: int) -> bytes:
    """The first ``size`` bytes of a stream, or all of it when it is shorter.

    ``read1`` where the stream has it (one system call at a time, so that a Ctrl-C is seen
    at once even when the writer is silent; a buffered ``read`` loops in C until it has all)."""
    read = getattr(stream, "read1", None) or stream.read
    chunks: list[bytes] = []
    total = 0
    while total < size:
        chunk = read(size - total)
        if not chunk:
            break
        if isinstance(chunk, str):  # a text stream handed in by a caller
            chunk = chunk.encode("utf-8", "surrogateescape")
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_stream(
    stream: BinaryIO, source: str, role: str, input_format: str, head: bytes = b""
) -> np.ndarray | bytes:
    """A pipe or a device (``head``: what was read of it already): a ``.npy`` longer than
    ``blocked_bytes`` (the size the engine computes block-wise) is copied to a temporary file
    and memory-mapped (see :func:`.npy_stream.load_npy_stream`), the array returned; anything
    else is read into memory, if it fits, and its bytes returned. An error reading is an
    ``OSError``."""
    spool = current().blocked_bytes
    head += _read_head(stream, spool + 1 - len(head))
    if len(head) <= spool:
        if head:
            _text_only(source, input_format)(head)
        return head
    if input_format in ("auto", "npy") and head.startswith(NPY_MAGIC):
        from .npy_stream import load_npy_stream  # start-up: as fast_json in read_json

        return load_npy_stream(head, stream, source, role)
    _text_only(source, input_format)(head)
    return read_bounded(stream, source, head=head)


def _from_stdin(stdin: BinaryIO | None, role: str, input_format: str) -> Loaded:
    """Standard input: a big ``.npy`` in bounded memory, anything else in memory."""
    source = "<stdin>"
    stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputError(f"{source}: there is no standard input to read")
    try:
        data = _read_stream(stream, source, role, input_format)
    except OSError as err:
        raise InputError(f"{source}: cannot read ({err.strerror or err})") from None
    if isinstance(data, np.ndarray):
        return Loaded(data, source)
    return _from_bytes(data, source, role, input_format, "")


def _from_path(path: str, role: str, input_format: str) -> Loaded:
    if os.path.isdir(path):
        raise InputError(f"cannot read {role} {path!r}: it is a directory")
    shown = path if path.isprintable() else repr(path)[1:-1]  # one line, whatever the name
    try:
        with open(path, "rb") as fp:
            head = fp.read(len(NPY_MAGIC))
            regular = stat.S_ISREG(os.fstat(fp.fileno()).st_mode)
            binary = input_format if input_format in ("npy", "npz") else None
            if input_format == "auto" and head.startswith(NPY_MAGIC):
                binary = "npy"
            elif input_format == "auto" and head.startswith(NPZ_MAGICS):
                binary = "npz"
            data: np.ndarray | bytes = b""
            if regular and not binary:  # text: read into memory, if it fits
                size = os.fstat(fp.fileno()).st_size - len(head)
                check = _text_only(shown, input_format, head)
                data = head + read_bounded(fp, shown, size, check)
            elif not regular:  # a pipe or a device (``<(zcat x.npy.gz)``): as standard input
                data = _read_stream(fp, shown, role, input_format, head)
    except OSError as err:
        reason = "permission denied" if isinstance(err, PermissionError) else err.strerror
        raise InputError(f"cannot read {role} {path!r}: {reason or err}") from None
    if isinstance(data, np.ndarray):
        return Loaded(data, shown)
    if binary == "npy" and regular:
        return Loaded(load_npy_path(path, shown, role), shown)
    if binary == "npz" and regular:
        array, targets, names = load_npz(path, shown, role)
        return Loaded(array, shown, names, targets)
    return _from_bytes(data, shown, role, input_format, path)


def _from_literal(spec: str, role: str) -> Loaded:
    text = spec.strip()
    if text.startswith(("[", "{")):
        array, targets, names = parse_json(text.encode("utf-8", "surrogateescape"), "literal", role)
        return Loaded(array, "literal", names, targets)
    literal = parse_literal(spec, role)
    if literal is None:
        example = "1,2,3;4,5,6" if role == "logits" else "1,0,3"
        raise InputError(
            f"cannot read {role} {spec!r}: no such file (and not a literal list like {example})"
        )
    return Loaded(literal, "literal")


def load(
    spec: str, *, role: str = "logits", input_format: str = "auto", stdin: BinaryIO | None = None
) -> Loaded:
    """Read logits or targets from a path, ``-`` (standard input) or a literal.

    A literal is tried only when no file of that name exists: ``1,2,3,4`` is one row,
    ``1,2,3,4;5,6,7,8`` two, ``[...]``/``{...}`` JSON; text is always 2-D. ``role``
    ``"targets"`` lets cells be class names; ``input_format`` is one of ``INPUT_FORMATS``.

    >>> load("[1, 2, 3]").array.tolist()
    [1.0, 2.0, 3.0]
    >>> load("cat,dog", role="targets").array.tolist()
    [['cat', 'dog']]
    """
    if role not in _ROLES:
        raise ValueError(f"role must be one of {_ROLES}, not {role!r}")
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {INPUT_FORMATS}, not {input_format!r}")
    if spec == "-":
        return _from_stdin(stdin, role, input_format)
    if os.path.exists(spec):
        return _from_path(spec, role, input_format)
    return _from_literal(spec, role)


def _as_list(array: np.ndarray, numeric: bool, option: str, source: str) -> np.ndarray:
    """Flatten to 1-D: float64 when ``numeric``, else the items as strings."""
    items = np.asarray(array).reshape(-1)
    if items.dtype.kind in "US":
        values = [str(item) for item in items.tolist()]
        if not numeric:
            return np.array(values, dtype=str)
        for position, value in enumerate(values, 1):
            if not is_number(value):
                where = "" if source == "literal" else f" (item {position} of {source})"
                raise InputError(f"{option}: {value!r} is not a number{where}")
        return np.array([float(value) for value in values], dtype=np.float64)
    if numeric:
        return np.array(items, dtype=np.float64)
    return np.array([class_name(item) for item in items.tolist()], dtype=str)


def load_list(
    spec: str, *, option: str, numeric: bool = True, stdin: BinaryIO | None = None
) -> np.ndarray:
    """Read a list option (``--weight``, ``--sample-weight``, ``--labels``, ``--classes``).

    ``spec`` is a literal (``1,2,0.5``, also with ``;`` or spaces, or a JSON list), ``-`` or a
    file :func:`load` reads; flattened to float64 when ``numeric``, else to text (``'2'``).

    >>> load_list("1; 2 0.5", option="--weight").tolist()
    [1.0, 2.0, 0.5]
    >>> load_list("2,4,8", option="--classes", numeric=False).tolist()
    ['2', '4', '8']
    """
    text = spec.strip()
    if spec == "-" or os.path.exists(spec) or text.startswith(("[", "{")):
        try:
            loaded = load(spec, role="targets", stdin=stdin)
        except InputError as err:
            raise InputError(f"{option}: {err}") from None
        return _as_list(loaded.array, numeric, option, loaded.source)
    items = _LIST_SPLIT.split(text) if text else []
    if not items:
        raise InputError(f"{option}: an empty list (expected a list like 1,2,0.5)")
    if looks_like_path(text) or (numeric and len(items) == 1 and not is_number(items[0])):
        raise InputError(f"{option}: no such file {spec!r} (and not a literal list like 1,2,0.5)")
    for position, item in enumerate(items, 1):
        if not item:
            raise InputError(f"{option}: item {position} is empty (expected a list like 1,2,0.5)")
    return _as_list(np.array(items, dtype=str), numeric, option, "literal")
