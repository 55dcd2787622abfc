"""The bulk text and JSON paths give exactly what the reference readers give.

Every input is read three or four ways and the results compared to the bit: the reference
(cell by cell / ``json`` walked leaf by leaf), NumPy's bulk parse (``np.loadtxt``, the NumPy
conversion of nested lists), and the ``fast`` extra (polars, pysimdjson) where installed,
with the size thresholds lowered to 0 so that small inputs take every path. Errors must be
the same messages. No timings here: speed is measured by ``bench/parse.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import ExitStack, contextmanager

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import xent_cli.io.json as jsonin
import xent_cli.io.json_simd as json_simd
import xent_cli.io.text_bulk as text_bulk
from xent_cli import limits
from xent_cli.errors import InputError
from xent_cli.io.sources import load, read_json, read_text

MODES = ("reference", "numpy", "fast")


@contextmanager
def mode(name: str):
    """Take one path of ``read_text``/``read_json``: the reference parsers, NumPy's bulk
    parse, or the fast extra."""
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        if name == "reference":
            stack.enter_context(limits.override(text_bulk_bytes=1 << 62, json_fast_bytes=1 << 62))
            mp.setattr(jsonin, "_dense", lambda value: None)
        else:
            stack.enter_context(
                limits.override(text_bulk_bytes=0, text_fast_bytes=0, json_fast_bytes=0)
            )
        if name == "numpy":  # the engines made unavailable, as without the extra
            mp.setitem(sys.modules, "polars", None)
            mp.setitem(sys.modules, "simdjson", None)
        yield


def outcome(parse, data: bytes, role: str):
    try:
        return parse(data, "x", role)
    except InputError as err:
        return str(err)


def same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return a.view(np.int64).tobytes() == b.view(np.int64).tobytes()
    return np.array_equal(a, b)


def assert_all_paths_agree(parse, data: bytes, role: str = "logits") -> None:
    results = {}
    for name in MODES:
        with mode(name):
            results[name] = outcome(parse, data, role)
    ref = results["reference"]
    for name in MODES[1:]:
        got = results[name]
        if isinstance(ref, str) or isinstance(got, str):
            assert got == ref, (name, data[:200])
            continue
        assert same(got.array, ref.array), (name, data[:200])
        assert same(got.targets, ref.targets), (name, data[:200])
        assert got.class_names == ref.class_names, (name, data[:200])
        assert got.array.flags.c_contiguous and got.array.flags.writeable


CSV_CASES = [
    b"1,2,3\n4,5,6\n",
    b"a,b,c\n1,2,3\n4,5,6\n",
    b"a,b,label\n1,2,0\n3,4,1\n5,6,1\n",
    b"label,a,b\n0,1,2\n1,3,4\n",
    b"a,b,label\n1,2,cat\n3,4,dog\n",
    b"a,b,label\n1,2,0\n3,4,\n",
    b"0,1,2\n1.5,2.5,3.5\n",  # a first row of numbers is data
    b"# comment\n\n1,2\n3,4 # trailing\n\n# end\n",
    b"1,2\r\n3,4\r\n",
    b"a,b\r\n1,2\r\n3,4",
    b"1,2\r3,4\r",
    b"\xef\xbb\xbfa,b\n1,2\n3,4\n",
    b"\xef\xbb\xbf1,2\n3,4\n",
    b"1\t2\t3\n4\t5\t6\n",
    b"a\tb\n1 \t 2\n3\t4\n",
    b"1;2;3\n4;5;6\n",
    b"a;b;target\n1;2;0\n3;4;1\n",
    b"1 2 3\n  4   5\t6  \n",
    b"nan,inf,-inf\n-0.0,1e-320,1e400\nNaN,Infinity,-0\n",
    b"1_000,2\n3,4\n",
    b'"1",2\n3,4\n',
    b'a,b\n"1","2"\n3,4\n',
    b"1,2\n3,4,5\n",
    b"1,2\n3\n",
    b"1,2\n3,x\n",
    b"1,2\n3,\n",
    b"1,2\n   \n3,4\n",
    b"1,2\n,\n",
    b"1 ,2\n3 , 4\n",
    b"a,,b\n1,2,3\n",
    b"a,label,target\n1,2,3\n",
    b"label\n1\n2\n",
    b"a,b\n",
    b"1,2\n",
    b"1\n2\n3\n",
    b"\n\n1,2\n",
    b"a,b\n1,2\n\xff,3\n",
    b"x,1,2\n3,4,5\n",
    b"1,2,3\n4,5,6 # a\n7,8,9\n",
]


@pytest.mark.parametrize("data", CSV_CASES)
def test_csv_paths_agree(data: bytes) -> None:
    assert_all_paths_agree(read_text, data)


@pytest.mark.parametrize("data", [data * 1 for data in CSV_CASES[:6]])
def test_csv_paths_agree_for_targets(data: bytes) -> None:
    assert_all_paths_agree(read_text, data, role="targets")


def _cell(value: float, style: int) -> str:
    if style == 0:
        return repr(value)
    if style == 1:
        return f"{value:.25g}"
    if style == 2:
        return f"{value:.3e}"
    if not abs(value) < 3e38:
        return repr(value)
    return repr(float(np.float32(value)))


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(finite_or_not, min_size=6, max_size=60),
    width=st.integers(1, 6),
    style=st.integers(0, 3),
    delimiter=st.sampled_from([",", "\t", ";", " "]),
    header=st.booleans(),
    crlf=st.booleans(),
)
def test_csv_numbers_bit_for_bit(values, width, style, delimiter, header, crlf) -> None:
    rows = [values[i : i + width] for i in range(0, len(values) - width + 1, width)]
    lines = [delimiter.join(_cell(v, style) for v in row) for row in rows]
    if header:
        lines.insert(0, delimiter.join(f"c{j}" for j in range(width)))
    data = ("\r\n" if crlf else "\n").join(lines).encode()
    assert_all_paths_agree(read_text, data)


def test_large_csv_with_header_label_and_comments(tmp_path) -> None:
    """Above the real thresholds, through ``load``: the same as the reference."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 7)) * 10.0 ** rng.integers(-30, 30, (3000, 7))
    x[5, 2], x[9, 0], x[11, 6] = np.nan, -np.inf, -0.0
    labels = rng.integers(0, 7, 3000)
    lines = ["# exported by hand", "a,b,c,label,d,e,f,g"]
    for row, k in zip(x.tolist(), labels.tolist(), strict=True):
        lines.append(",".join([*map(repr, row[:3]), str(k), *map(repr, row[3:])]))
    path = tmp_path / "big.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert path.stat().st_size > limits.current().text_bulk_bytes
    loaded = load(str(path))
    assert loaded.array.tobytes() == x.tobytes()
    assert loaded.targets.tolist() == labels.astype(float).tolist()
    assert loaded.class_names == ("a", "b", "c", "d", "e", "f", "g")
    assert_all_paths_agree(read_text, path.read_bytes())


def test_large_csv_error_names_row_and_column() -> None:
    body = "\n".join("1.5,2.5,3.5" for _ in range(30000))
    data = f"{body}\n1,2,oops\n".encode()
    for name in MODES:
        with mode(name), pytest.raises(InputError, match=r"x, row 30001, column 3: 'oops'"):
            read_text(data, "x", "logits")


JSON_CASES = [
    b"[[1, 2.5], [3, 4]]",
    b"[1, 2, 3]",
    b"[[1e-320, -0.0], [-0, 9007199254740993]]",
    b"[[18446744073709551615, 1], [9223372036854775807, -9223372036854775808]]",
    b"[[123456789012345678901234567890, 1]]",
    b"[[1e400, 1]]",
    b"[[NaN, Infinity], [-Infinity, 1]]",
    b"[[1, null], [3, 4]]",
    b"[[1, true], [3, 4]]",
    b'[[1, "2"], [3, 4]]',
    b"[[1, 2], [3]]",
    b"[[1, 2], [3, [4]]]",
    b"[[1], [[2]]]",
    b"[[1, 2], [[3, 4, 5]], 6]",
    b"[[[1, 2]], [[3, 4]]]",
    b"[[]]",
    b"[]",
    b"5",
    b"\xef\xbb\xbf[[1, 2]]",
    b'{"logits": [[1, 2], [3, 4]], "targets": [1, 0]}',
    b'{"logits": [[1, 2], [3, 4]], "labels": [1, 0], "classes": ["a", "b"]}',
    b'{"logits": [[1, 2], [3, 4]], "targets": [[0.5, 0.5], [0, 1]]}',
    b'{"logits": [[1, 2], [3, 4]], "targets": ["cat", "dog"], "classes": ["cat", "dog"]}',
    b'{"logits": [[1, 2]], "classes": ["[x]", "y"]}',
    b'{"logits": [[1, 2]], "classes": ["\\u005bx", "y"]}',
    b'{"logits": [[1, 2]], "classes": [2, 4.0]}',
    b'{"logits": [[1, 2]], "classes": [[1], 2]}',
    b'{"logits": [[1, 2]], "logits": [[3, 4]]}',
    b'{"logits": [[1, 2]], "\\u006cogits": [[3, 4]]}',
    b'{"logits": [[1, 2]], "targets": [1], "labels": [0]}',
    b'{"logits": [[1, 2]], "note": "x"}',
    b'{"targets": [1, 0]}',
    b"[[1, 2], [3, 4]] x",
    b"[[1, 2], [3, 4]",
    b'["\xff"]',
]


@pytest.mark.parametrize("role", ["logits", "targets"])
@pytest.mark.parametrize("data", JSON_CASES)
def test_json_paths_agree(data: bytes, role: str) -> None:
    assert_all_paths_agree(read_json, data, role)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=40),
    ints=st.lists(st.integers(-(2**64), 2**64), max_size=5),
    width=st.integers(1, 5),
)
def test_json_numbers_bit_for_bit(values, ints, width) -> None:
    flat: list = [*values, *ints]
    rows = [flat[i : i + width] for i in range(0, len(flat) - width + 1, width)]
    assert_all_paths_agree(read_json, json.dumps(rows).encode())
    assert_all_paths_agree(read_json, json.dumps({"logits": rows, "targets": flat}).encode())


def test_engines_can_be_made_unavailable() -> None:
    with mode("numpy"):
        assert text_bulk.polars_engine() is None
        assert json_simd.simdjson_engine() is None
        assert text_bulk.bulk_logits(b"1,2\n3,4\n", "x").array.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_small_inputs_import_no_engine(tmp_path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    small_json = tmp_path / "small.json"
    small_json.write_text("[[1, 2]]")
    code = (
        "import sys; from xent_cli.io.sources import load; "
        f"load({str(small)!r}); load({str(small_json)!r}); load('1,2;3,4'); "
        "print(sorted(m for m in ('polars', 'simdjson', 'pyarrow', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
