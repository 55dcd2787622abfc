"""A corpus of hostile inputs: each with the command that reads it, the exit code and a message.

``CASES`` is the corpus; :func:`build` writes a case's file. Binary files are built here rather
than stored, so the corpus stays readable and reviewable. ``tests/cli/test_hostile.py`` runs every
case; ``python -m tests.hostile DIR`` (from the repository root) writes the files out, to try
them by hand.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["CASES", "Case", "build", "npy_bytes", "npz_bytes", "pickle_npy"]

LOGITS = "1,2,3,4;5,6,7,8;9,10,11,12"  # the post's worked example, as a literal


@dataclass(frozen=True)
class Case:
    """One hostile input: ``content`` is written to ``name`` (bytes, or a function giving
    them); ``args`` are the command line, with ``{f}`` standing for the file."""

    id: str
    args: tuple[str, ...]
    code: int
    fragment: str
    name: str = ""
    content: bytes | Callable[[], bytes] | None = None
    stdin: bytes | None = None


def npy_bytes(header: str, data: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    """A ``.npy`` file with any header text (padded as numpy pads it) and any data."""
    text = header.encode("latin1")
    text += b" " * (64 - (10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY" + version + struct.pack("<H", len(text)) + text + data


def _save(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive with the given members (raw bytes, usually ``.npy`` files)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return buffer.getvalue()


class _Touch:
    """Unpickling this creates the file ``path``: the proof that a reader unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (self.path, "w"))


def pickle_npy(path: str) -> bytes:
    """An object ``.npy`` whose unpickling would create ``path``."""
    return _save(np.array([_Touch(path), None], dtype=object), allow_pickle=True)


def _bomb() -> bytes:
    """A small deflated member whose central directory declares 4 GB (a zip-bomb header)."""
    data = bytearray(npz_bytes({"logits.npy": _save(np.zeros(100))}, zipfile.ZIP_DEFLATED))
    at = data.index(b"PK\x01\x02")  # the central directory entry
    data[at + 24 : at + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    return bytes(data)


def _bad_crc() -> bytes:
    data = bytearray(npz_bytes({"logits.npy": _save(np.arange(6.0).reshape(2, 3))}))
    data[-200] ^= 0xFF  # a byte of the stored array data
    return bytes(data)


def _random_binary() -> bytes:
    return np.random.default_rng(4).integers(0, 256, 512, dtype=np.uint8).tobytes() + b"\x00"


_F8 = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }"

CASES: tuple[Case, ...] = (
    # --- delimited text ---------------------------------------------------------------------
    Case(
        "ragged rows",
        ("softmax", "{f}"),
        1,
        "ragged.csv, row 2: 2 values, expected 3 (as in row 1)",
        "ragged.csv",
        b"1,2,3\n4,5\n",
    ),
    Case(
        "non-numeric cell",
        ("softmax", "{f}"),
        1,
        "cell.csv, row 2, column 2: 'x' is not a number",
        "cell.csv",
        b"1,2,3\n4,x,6\n",
    ),
    Case(
        "empty cell",
        ("softmax", "{f}"),
        1,
        "hole.csv, row 1, column 2: empty cell, expected a number",
        "hole.csv",
        b"1,,3\n",
    ),
    Case(
        "stray word in a data row",
        ("softmax", "{f}"),
        1,
        "word.csv, row 2, column 1: 'foo' is not a number",
        "word.csv",
        b"1,2\nfoo,3\n",
    ),
    Case(
        "mixed delimiters",
        ("softmax", "{f}"),
        1,
        "mixed.csv, row 2: 1 value, expected 2",
        "mixed.csv",
        b"1 2\n3,4\n",
    ),
    Case(
        "a newline in the file name",
        ("softmax", "{f}"),
        1,
        "Error: a\\nb.csv, row 2: 1 value, expected 2",
        "a\nb.csv",
        b"1,2\n3\n",
    ),
    Case(
        "not UTF-8",
        ("softmax", "{f}"),
        1,
        "latin1.csv, row 2: not UTF-8 text (byte 0xe9 at offset 6); save the file as UTF-8",
        "latin1.csv",
        b"1,2\n3,\xe94\n",
    ),
    Case(
        "UTF-16",
        ("softmax", "{f}"),
        1,
        "utf16.csv: UTF-16 text",
        "utf16.csv",
        "1,2\n".encode("utf-16"),
    ),
    Case(
        "random binary",
        ("softmax", "{f}"),
        1,
        "noise.bin: binary data, not text",
        "noise.bin",
        _random_binary,
    ),
    Case(
        "empty file",
        ("softmax", "{f}"),
        1,
        "empty.csv: no data (expected rows of numbers)",
        "empty.csv",
        b"",
    ),
    Case(
        "only comments and blank lines",
        ("softmax", "{f}"),
        1,
        "blank.csv: no data",
        "blank.csv",
        b"# nothing here\n\n   \n",
    ),
    Case(
        "header only",
        ("softmax", "{f}"),
        1,
        "header.csv: a header row but no data",
        "header.csv",
        b"cat,dog,bird\n",
    ),
    Case(
        "targets header only",
        ("compute", LOGITS, "{f}"),
        1,
        "labels.csv: a header row but no data (expected rows of targets)",
        "labels.csv",
        b"label\n",
    ),
    Case(
        "unclosed quote",
        ("softmax", "{f}"),
        1,
        'quote.csv, row 1: a quote (") that is not',
        "quote.csv",
        b'"cat,dog\n1,2\n',
    ),
    Case(
        "index column",
        ("softmax", "{f}"),
        1,
        "an empty header cell (an index column?",
        "pandas.csv",
        b",cat,dog\n0,1,2\n",
    ),
    Case(
        "two target columns",
        ("softmax", "{f}"),
        1,
        "two target columns",
        "two.csv",
        b"a,b,label,target\n1,2,0,1\n",
    ),
    Case(
        "only a label column",
        ("softmax", "{f}"),
        1,
        "only a 'label' column",
        "only.csv",
        b"label\n1\n",
    ),
    Case(
        "gzip",
        ("softmax", "{f}"),
        1,
        "gz.csv.gz: gzip-compressed data; decompress it first",
        "gz.csv.gz",
        gzip.compress(b"1,2\n", mtime=0),
    ),
    Case(
        "pickle",
        ("softmax", "{f}"),
        1,
        "p.pkl: a Python pickle, refused (never unpickled)",
        "p.pkl",
        pickle.dumps([1.0, 2.0], protocol=4),
    ),
    Case(
        "HDF5",
        ("softmax", "{f}"),
        1,
        "h.h5: an HDF5 file",
        "h.h5",
        b"\x89HDF\r\n\x1a\n" + bytes(64),
    ),
    Case(
        "empty stdin", ("softmax", "-"), 1, "<stdin>: no data (expected rows of numbers)", stdin=b""
    ),
    Case(
        "binary stdin",
        ("softmax", "-"),
        1,
        "<stdin>: binary data, not text",
        stdin=b"\x00\xff\xfe\x00",
    ),
    # --- JSON -------------------------------------------------------------------------------
    Case(
        "invalid JSON",
        ("softmax", "{f}"),
        1,
        "bad.json, line 1, column 8: invalid JSON (Expecting value)",
        "bad.json",
        b"[[1,2],",
    ),
    Case(
        "ragged JSON",
        ("softmax", "{f}"),
        1,
        "ragged.json, $[1]: 1 value, expected 2",
        "ragged.json",
        b"[[1,2],[3]]",
    ),
    Case(
        "string in JSON logits",
        ("softmax", "{f}"),
        1,
        "str.json, $[0][1]: 'x' is not a number",
        "str.json",
        b'[[1,"x"]]',
    ),
    Case(
        "boolean in JSON",
        ("softmax", "{f}"),
        1,
        "bool.json, $[0][0]: true, expected a number",
        "bool.json",
        b"[[true,1]]",
    ),
    Case(
        "JSON nested 100000 deep",
        ("softmax", "{f}"),
        1,
        "nested more than 32 levels deep",
        "deep.json",
        b"[" * 100_000 + b"]" * 100_000,
    ),
    Case(
        "JSON nested 40 deep",
        ("softmax", "{f}"),
        1,
        "deep40.json, $: nested more than 32 levels deep",
        "deep40.json",
        b"[" * 40 + b"1" + b"]" * 40,
    ),
    Case(
        "JSON object without logits",
        ("softmax", "{f}"),
        1,
        'obj.json: no "logits" key in the JSON object (keys found: "scores")',
        "obj.json",
        b'{"scores": [[1, 2]]}',
    ),
    Case(
        "JSON with targets and labels",
        ("compute", "{f}"),
        1,
        'both "targets" and "labels" keys are given; keep one',
        "both.json",
        b'{"logits": [[1, 2]], "targets": [0], "labels": [1]}',
    ),
    Case(
        "JSON key given twice",
        ("softmax", "{f}"),
        1,
        'twice.json: the key "logits" is given twice; keep one',
        "twice.json",
        b'{"logits": [[1, 2]], "logits": [[3, 4]]}',
    ),
    Case(
        "empty JSON list",
        ("softmax", "{f}"),
        1,
        "none.json, $: no data (an empty list)",
        "none.json",
        b"[]",
    ),
    Case(
        "JSON scalar",
        ("softmax", "{f}"),
        1,
        "one.json, $: a number, expected a list",
        "one.json",
        b"3",
    ),
    Case(
        "JSON integer too large",
        ("softmax", "{f}"),
        1,
        "is too large for a float64",
        "huge.json",
        b"[1" + b"0" * 400 + b"]",
    ),
    Case(
        "JSON number with 5000 digits",
        ("softmax", "{f}"),
        1,
        "digits.json: invalid JSON",
        "digits.json",
        b"[" + b"7" * 5000 + b"]",
    ),
    Case(
        "JSON classes of the wrong length",
        ("compute", "{f}"),
        1,
        "1 class name but the logits have 2 classes",
        "classes.json",
        json.dumps({"logits": [[1, 2]], "targets": [0], "classes": ["cat"]}).encode(),
    ),
    # --- .npy -------------------------------------------------------------------------------
    Case(
        "object .npy (pickle)",
        ("softmax", "{f}"),
        1,
        "obj.npy: object arrays are refused (they would need unpickling)",
        "obj.npy",
        lambda: pickle_npy("/nonexistent/never-created"),
    ),
    Case(
        "object .npy from stdin",
        ("softmax", "-"),
        1,
        "<stdin>: object arrays are refused",
        stdin=pickle_npy("/nonexistent/never"),
    ),
    Case(
        "truncated .npy",
        ("softmax", "{f}"),
        1,
        "short.npy: truncated file (the header promises 8000 bytes of data, found 80)",
        "short.npy",
        npy_bytes(_F8 % "(1000,)", bytes(80)),
    ),
    Case(
        "absurd .npy shape",
        ("softmax", "{f}"),
        1,
        "absurd.npy: truncated file (the header promises 8000000000000000000 bytes",
        "absurd.npy",
        npy_bytes(_F8 % "(1000000000, 1000000000)", bytes(80)),
    ),
    Case(
        "absurd .npy shape from stdin",
        ("softmax", "-"),
        1,
        "<stdin>: truncated file (the header promises 8000000000000000000 bytes",
        stdin=npy_bytes(_F8 % "(1000000000, 1000000000)", bytes(80)),
    ),
    Case(
        "negative .npy shape",
        ("softmax", "{f}"),
        1,
        "neg.npy: damaged .npy header (shape (-1,))",
        "neg.npy",
        npy_bytes(_F8 % "(-1,)", bytes(8)),
    ),
    Case(
        "code in a .npy header",
        ("softmax", "{f}"),
        1,
        "code.npy: damaged .npy header",
        "code.npy",
        npy_bytes(_F8 % "(__import__('os').system('touch PWNED'),)", bytes(8)),
    ),
    Case(
        "oversized .npy header",
        ("softmax", "{f}"),
        1,
        "big.npy: damaged .npy header",
        "big.npy",
        npy_bytes(_F8 % "(2,)" + " " * 20000, bytes(16)),
    ),
    Case(
        "magic only",
        ("softmax", "{f}"),
        1,
        "magic.npy: damaged .npy header",
        "magic.npy",
        b"\x93NUMPY\x01\x00",
    ),
    Case(
        "unknown .npy version",
        ("softmax", "{f}"),
        1,
        "unsupported .npy format version 9.9",
        "v9.npy",
        npy_bytes(_F8 % "(1,)", bytes(8), version=b"\x09\x09"),
    ),
    Case(
        "complex .npy",
        ("softmax", "{f}"),
        1,
        "c.npy: complex numbers are refused",
        "c.npy",
        lambda: _save(np.array([1 + 2j])),
    ),
    Case(
        "strings as logits",
        ("softmax", "{f}"),
        1,
        "s.npy: an array of strings (<U3)",
        "s.npy",
        lambda: _save(np.array(["cat", "dog"])),
    ),
    Case(
        "booleans as logits",
        ("softmax", "{f}"),
        1,
        "b.npy: an array of booleans",
        "b.npy",
        lambda: _save(np.array([[True, False]])),
    ),
    Case(
        "record .npy",
        ("softmax", "{f}"),
        1,
        "r.npy: structured (record) arrays are refused",
        "r.npy",
        lambda: _save(np.zeros(2, dtype=[("a", "<f8")])),
    ),
    Case(
        "datetime .npy",
        ("softmax", "{f}"),
        1,
        "arrays of dtype datetime64[s] are refused",
        "t.npy",
        lambda: _save(np.zeros(2, dtype="M8[s]")),
    ),
    Case(
        "empty .npy",
        ("softmax", "{f}"),
        1,
        "zero.npy: no data (the array has shape (0, 3))",
        "zero.npy",
        lambda: _save(np.zeros((0, 3))),
    ),
    Case(
        "0-d .npy",
        ("softmax", "{f}"),
        1,
        "a single number; expected a row of class scores",
        "scalar.npy",
        lambda: _save(np.array(3.0)),
    ),
    # --- .npz and other zips ----------------------------------------------------------------
    Case(
        "zip magic, no zip",
        ("softmax", "{f}"),
        1,
        "fake.npz: damaged .npz archive (File is not a zip file)",
        "fake.npz",
        b"PK\x03\x04garbage",
    ),
    Case(
        "empty zip",
        ("softmax", "{f}"),
        1,
        "empty.npz: no arrays in the .npz archive",
        "empty.npz",
        lambda: npz_bytes({}),
    ),
    Case(
        "object .npz member",
        ("softmax", "{f}"),
        1,
        "obj.npz, member 'logits': object arrays are refused",
        "obj.npz",
        lambda: npz_bytes({"logits.npy": pickle_npy("/nonexistent/never-created")}),
    ),
    Case(
        ".npz without logits",
        ("softmax", "{f}"),
        1,
        "other.npz: no array named 'logits' (arrays found: 'a', 'b')",
        "other.npz",
        lambda: npz_bytes({"a.npy": _save(np.zeros(2)), "b.npy": _save(np.zeros(2))}),
    ),
    Case(
        "zip bomb header",
        ("softmax", "{f}"),
        1,
        "bomb.npz, member 'logits': declares 4.3 GB compressed into",
        "bomb.npz",
        _bomb,
    ),
    Case(
        "corrupted .npz member",
        ("softmax", "{f}"),
        1,
        "crc.npz: damaged .npz archive (Bad CRC-32",
        "crc.npz",
        _bad_crc,
    ),
    Case(
        "truncated .npz member",
        ("softmax", "{f}"),
        1,
        "cut.npz, member 'logits': truncated file",
        "cut.npz",
        lambda: npz_bytes({"logits.npy": npy_bytes(_F8 % "(100,)", bytes(8))}),
    ),
    Case(
        "PyTorch file",
        ("softmax", "{f}"),
        1,
        "t.pt: a PyTorch file (torch.save), refused",
        "t.pt",
        lambda: npz_bytes({"archive/data.pkl": pickle.dumps([1]), "archive/x": b"3"}),
    ),
    # --- targets, weights and shapes --------------------------------------------------------
    Case(
        "labels look 1-based",
        ("compute", LOGITS, "1,2,4"),
        1,
        "Target 4 is out of bounds at index 2: 4 classes, expected 0..3 or the ignore index "
        "-100; labels look 1-based: use 0..3",
    ),
    Case(
        "label -1",
        ("compute", "--", LOGITS, "-1,2,3"),
        1,
        "to skip such targets pass --ignore-index -1",
    ),
    Case(
        "fractional label",
        ("compute", LOGITS, "1,2.5,3"),
        1,
        "targets literal: target at index 1 is 2.5; expected an integer class index",
    ),
    Case(
        "NaN label",
        ("compute", LOGITS, "1,nan,3"),
        1,
        "targets literal: target at index 1 is nan; expected a class index",
    ),
    Case(
        "NaN label in a file",
        ("compute", LOGITS, "{f}"),
        1,
        "targets y.csv: target at index 2 is nan",
        "y.csv",
        b"label\n1\n2\nnan\n",
    ),
    Case(
        "too few labels",
        ("compute", LOGITS, "1,2"),
        1,
        "targets have shape (2,) but the input (3, 4) with classes on axis 1 needs class "
        "indices of shape (3,)",
    ),
    Case(
        "class names without --classes",
        ("compute", LOGITS, "cat,dog,cat"),
        1,
        "name the classes with --classes (or a header row)",
    ),
    Case(
        "probabilities of the wrong shape",
        ("compute", LOGITS, "1,2,3", "--targets-kind", "prob"),
        1,
        "probability targets have shape (1, 3), expected the input's shape (3, 4)",
    ),
    Case(
        "weights of the wrong length",
        ("compute", LOGITS, "1,2,3", "--weight", "1,2"),
        1,
        "--weight: weight has 2 values, expected one per class (4)",
    ),
    Case(
        "weight that is not a number",
        ("compute", LOGITS, "1,2,3", "--weight", "1,2,x,4"),
        1,
        "--weight: 'x' is not a number",
    ),
    Case(
        "NaN weight",
        ("compute", LOGITS, "1,2,3", "--weight", "1,2,3,nan"),
        1,
        "--weight: weight holds a non-finite value",
    ),
    Case(
        "sample weights of the wrong length",
        ("compute", LOGITS, "1,2,3", "--sample-weight", "1,2"),
        1,
        "--sample-weight: sample weight has 2 values, expected one per sample (3)",
    ),
    Case(
        "weight file with a bad cell",
        ("compute", LOGITS, "1,2,3", "--weight", "{f}"),
        1,
        "--weight: 'heavy' is not a number (item 2 of w.csv)",
        "w.csv",
        b"1\nheavy\n1\n1\n",
    ),
    Case(
        "--classes of the wrong length",
        ("compute", LOGITS, "1,2,3", "--classes", "a,b"),
        1,
        "--classes: 2 class names but the logits have 4 classes",
    ),
    Case(
        "class axis out of range",
        ("softmax", LOGITS, "--class-axis", "5"),
        2,
        "--class-axis 5: class axis 5 is out of range for a 2-D input (expected -2..1)",
    ),
    # --- paths ------------------------------------------------------------------------------
    Case("missing file", ("softmax", "nope.csv"), 1, "cannot read logits 'nope.csv': no such file"),
    Case("directory", ("softmax", "."), 1, "cannot read logits '.': it is a directory"),
    Case(
        "endless random device",
        ("softmax", "/dev/urandom"),
        1,
        "/dev/urandom: binary data, not text",
    ),
    Case(
        "endless zero device",
        ("softmax", "/dev/zero"),
        1,
        "/dev/zero: binary data, not text (byte 0x00 at offset 0)",
    ),
    Case(
        "unreadable device",
        ("softmax", "/proc/self/mem"),
        1,
        "cannot read logits '/proc/self/mem': Input/output error",
    ),
    Case(
        "-o onto the input",
        ("softmax", "{f}", "-o", "{f}"),
        2,
        "Error: -o x.npy is one of the inputs; refusing to overwrite it",
        "x.npy",
        lambda: _save(np.arange(4.0)),
    ),
    # --- usage (exit 2) ---------------------------------------------------------------------
    Case(
        "unknown output format",
        ("softmax", LOGITS, "-o", "out.xlsx"),
        2,
        "-o out.xlsx: unknown output format '.xlsx'; use .npy, .csv, .txt or .json",
    ),
    Case(
        "unknown reduction",
        ("compute", LOGITS, "1,2,3", "--reduction", "avg"),
        2,
        "Invalid value for '--reduction': 'avg' is not one of 'mean', 'sum', 'none'.",
    ),
    Case(
        "negative label smoothing",
        ("compute", LOGITS, "1,2,3", "--label-smoothing", "-0.1"),
        2,
        "'--label-smoothing': -0.1 is not in the range 0.0<=x<=1.0",
    ),
    Case(
        "label smoothing above 1",
        ("compute", LOGITS, "1,2,3", "--label-smoothing", "1.5"),
        2,
        "'--label-smoothing': 1.5 is not in the range",
    ),
    Case(
        "zero threads",
        ("compute", LOGITS, "1,2,3", "--threads", "0"),
        2,
        "'--threads': 0 is not in the range x>=1",
    ),
    Case(
        "unknown input format",
        ("softmax", LOGITS, "--input-format", "xml"),
        2,
        "'--input-format': 'xml' is not one of",
    ),
    Case(
        "ignore index not an integer",
        ("compute", LOGITS, "1,2,3", "--ignore-index", "abc"),
        2,
        "'--ignore-index': 'abc' is not a valid integer",
    ),
    Case(
        "ignore index with probabilities",
        ("compute", "1,2;3,4", "0.5,0.5;1,0", "--ignore-index", "1"),
        2,
        "--ignore-index applies to class-index targets",
    ),
    Case(
        "both inputs from stdin",
        ("compute", "-", "-"),
        2,
        "LOGITS and TARGETS cannot both be read from standard input",
    ),
    Case("missing targets", ("compute", LOGITS), 2, "missing TARGETS"),
    Case("unknown option", ("compute", LOGITS, "1,2,3", "--bogus"), 2, "No such option '--bogus'"),
)


def build(case: Case) -> bytes:
    """The bytes of a case's file."""
    return case.content() if callable(case.content) else (case.content or b"")
