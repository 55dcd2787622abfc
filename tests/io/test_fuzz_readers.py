"""Fuzzing every reader: whatever the bytes, only ``InputError`` may escape (issue 4).

Arbitrary bytes, and near-valid input (real CSV, JSON, ``.npy`` and ``.npz`` bytes with random
edits: inserted delimiters, quotes, brackets, NULs, invalid UTF-8, deletions, duplications,
truncation). The last tests push near-valid files through the whole CLI: exit 0 or 1, never a
traceback or an internal error (70).

Budget: ``EXAMPLES`` examples per test, 100 by default: the whole file (9 tests, 900 inputs)
takes about 3 s on one core. ``XENT_FUZZ_EXAMPLES=3000`` makes a long run (about a minute).
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from xent_cli.cli.app import cli
from xent_cli.errors import InputError
from xent_cli.io.json import parse_json
from xent_cli.io.npy import load_npy_bytes, load_npz
from xent_cli.io.sources import load, load_list, read_json, read_text
from xent_cli.io.text import parse_literal, parse_text
from xent_cli.spec import INPUT_FORMATS

EXAMPLES = int(os.environ.get("XENT_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ROLES = ("logits", "targets")

# Bytes that matter to some parser: delimiters, quotes, brackets, signs, NaN/inf letters,
# NUL, invalid UTF-8, a BOM, a UTF-16 BOM, a zip and an npy magic.
_PIECES = [
    b",",
    b";",
    b"\t",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b'"',
    b"#",
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b"-",
    b".",
    b"e",
    b"nan",
    b"inf",
    b"1e999",
    b"label",
    b"null",
    b"true",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"PK\x03\x04",
    b"\x93NUMPY",
    b"9" * 30,
]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few random edits."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "truncate", "flip"]))
        if op == "insert":
            data[at:at] = draw(st.sampled_from(_PIECES) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        elif data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
    return bytes(data)


def _only_input_error(call: object, *args: object, **kwargs: object) -> None:
    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except InputError as err:
        assert "\n" not in str(err) and str(err)  # one line, never empty


# --- valid-looking material --------------------------------------------------------------

numbers = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-300, 300)
grids = st.integers(1, 4).flatmap(
    lambda width: st.lists(
        st.lists(numbers, min_size=width, max_size=width), min_size=1, max_size=5
    )
)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    rows = draw(grids)
    sep = draw(st.sampled_from([",", "\t", ";", " ", "  "]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [sep.join(repr(v) if isinstance(v, float) else str(v) for v in row) for row in rows]
    if draw(st.booleans()):
        names = ["label" if draw(st.booleans()) else f"c{j}" for j in range(len(rows[0]))]
        lines.insert(0, sep.join(names))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "# a comment")
    text = end.join(lines) + draw(st.sampled_from(["", end]))
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    return bom + text.encode()


json_values = st.recursive(
    numbers | st.none() | st.booleans() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=12,
)


@st.composite
def json_bytes(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        value: object = draw(grids)
    else:
        value = draw(json_values)
    if draw(st.booleans()):
        keys = draw(
            st.lists(st.sampled_from(["logits", "targets", "labels", "classes", "x"]), max_size=4)
        )
        value = {key: (value if key == "logits" else draw(json_values)) for key in keys}
    return json.dumps(value, allow_nan=True).encode()


dtypes = st.sampled_from(
    ["<f8", ">f8", "<f4", "<f2", "<i8", "|u1", "<u8", "|b1", "<U3", "|S2", "<c16", "<M8[s]"]
)


@st.composite
def npy_bytes(draw: st.DrawFn) -> bytes:
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    array = np.zeros(shape, dtype=draw(dtypes))
    if array.dtype.kind == "f" and array.size:
        array.flat[0] = draw(st.floats(width=16))
    buffer = io.BytesIO()
    np.save(buffer, np.asfortranarray(array) if draw(st.booleans()) else array)
    return buffer.getvalue()


@st.composite
def npz_bytes(draw: st.DrawFn) -> bytes:
    names = draw(
        st.lists(
            st.sampled_from(["logits", "targets", "labels", "classes", "a"]),
            min_size=0,
            max_size=3,
            unique=True,
        )
    )
    buffer = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name in names:
            archive.writestr(f"{name}.npy", draw(npy_bytes()))
    return buffer.getvalue()


# --- every reader, arbitrary bytes -------------------------------------------------------


@FUZZ
@given(
    data=st.binary(max_size=300), fmt=st.sampled_from(INPUT_FORMATS), role=st.sampled_from(ROLES)
)
def test_load_arbitrary_bytes(data: bytes, fmt: str, role: str) -> None:
    _only_input_error(load, "-", role=role, input_format=fmt, stdin=io.BytesIO(data))


@FUZZ
@given(data=st.binary(max_size=300), role=st.sampled_from(ROLES))
def test_private_readers_arbitrary_bytes(data: bytes, role: str) -> None:
    for reader in (read_text, read_json, parse_text, parse_json, load_npy_bytes):
        _only_input_error(reader, data, "<fuzz>", role)
    _only_input_error(load_npz, io.BytesIO(data), "<fuzz>", role)


@FUZZ
@given(text=st.text(max_size=40), numeric=st.booleans(), role=st.sampled_from(ROLES))
def test_literals_and_list_options(text: str, numeric: bool, role: str) -> None:
    if text == "-" or os.path.exists(text):  # a real path (".", "/") is not a literal
        return
    _only_input_error(load_list, text, option="--weight", numeric=numeric, stdin=io.BytesIO())
    _only_input_error(load, text, role=role)
    _only_input_error(parse_literal, text, role)


# --- near-valid input --------------------------------------------------------------------


@FUZZ
@given(data=csv_bytes().flatmap(mutated), role=st.sampled_from(ROLES))
def test_near_valid_csv(data: bytes, role: str) -> None:
    _only_input_error(load, "-", role=role, stdin=io.BytesIO(data))
    _only_input_error(load, "-", role=role, input_format="csv", stdin=io.BytesIO(data))


@FUZZ
@given(data=json_bytes().flatmap(mutated), role=st.sampled_from(ROLES))
def test_near_valid_json(data: bytes, role: str) -> None:
    _only_input_error(load, "-", role=role, input_format="json", stdin=io.BytesIO(data))


@FUZZ
@given(data=npy_bytes().flatmap(mutated), role=st.sampled_from(ROLES))
def test_near_valid_npy(data: bytes, role: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _only_input_error(load, "-", role=role, stdin=io.BytesIO(data))
    path = tmp_path_factory.mktemp("npy") / "x.npy"  # the memory-mapped path
    path.write_bytes(data)
    _only_input_error(load, str(path), role=role)


@FUZZ
@given(data=npz_bytes().flatmap(mutated), role=st.sampled_from(ROLES))
def test_near_valid_npz(data: bytes, role: str) -> None:
    _only_input_error(load, "-", role=role, input_format="npz", stdin=io.BytesIO(data))


# --- the whole CLI -----------------------------------------------------------------------


def _cli_survives(args: list[str], data: bytes) -> None:
    r = CliRunner().invoke(cli, args, input=data)
    assert r.exit_code in (0, 1), (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    if r.exit_code == 1:
        assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1


@FUZZ
@given(data=st.one_of(csv_bytes(), json_bytes(), npy_bytes()).flatmap(mutated))
def test_cli_softmax_near_valid(data: bytes) -> None:
    _cli_survives(["softmax", "--json", "-"], data)


@FUZZ
@given(data=st.one_of(csv_bytes(), json_bytes(), npy_bytes()).flatmap(mutated))
def test_cli_compute_near_valid_targets(data: bytes) -> None:
    _cli_survives(["compute", "--reduction", "none", "1,2,3;4,5,6", "-"], data)
