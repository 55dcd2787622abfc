"""xent_cli.io.sources: every input format from a file, from stdin and as a literal, and the
one-line InputError for every kind of bad input (source + place + what was expected)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from xent_cli.errors import InputError
from xent_cli.io.sources import Loaded, load, load_list, sniff_format
from xent_cli.spec import INPUT_FORMATS


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(path)


def stdin(data: bytes, **kwargs: object) -> Loaded:
    return load("-", stdin=io.BytesIO(data), **kwargs)


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npz_bytes(compressed: bool = False, **arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def error(**kwargs: object) -> str:
    """The message of the InputError that load(**kwargs) raises."""
    with pytest.raises(InputError) as info:
        load(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- text: CSV, TSV, whitespace


def test_csv_file_is_2d_float64(tmp_path: Path) -> None:
    path = write(tmp_path, "logits.csv", "1,2,3,4\n5,6,7,8\n9,10,11,12\n")
    loaded = load(path)
    assert loaded.source == path
    assert loaded.array.dtype == np.float64
    assert loaded.array.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert loaded.class_names is None and loaded.targets is None


def test_single_row_csv_stays_2d(tmp_path: Path) -> None:
    assert load(write(tmp_path, "one.csv", "0.5,1.5,-2\n")).array.shape == (1, 3)


def test_crlf_bom_comments_blank_lines(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbf# logits\r\n\r\n1,2 # first\r\n   \r\n# more\r\n3,4\r\n"
    assert load(write(tmp_path, "x.csv", text)).array.tolist() == [[1, 2], [3, 4]]


def test_rows_are_numbered_as_lines_in_an_editor(tmp_path: Path) -> None:
    path = write(tmp_path, "logits.csv", "# header comment\r\n\r\n1,2\r\n3,abc\r\n")
    assert error(spec=path) == f"{path}, row 4, column 2: 'abc' is not a number"


def test_old_mac_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, "cr.csv", "1,2\r3,4\rx,5\r")
    assert error(spec=path) == f"{path}, row 3, column 1: 'x' is not a number"


@pytest.mark.parametrize(
    "text",
    ["1\t2\t3\n4\t5\t6\n", "1;2;3\n4;5;6\n", "1 2   3\n  4\t5 6\n", "1, 2, 3\n4 ,5 , 6\n"],
    ids=["tab", "semicolon", "whitespace", "comma-with-spaces"],
)
def test_delimiters_are_sniffed(tmp_path: Path, text: str) -> None:
    assert load(write(tmp_path, "x.txt", text)).array.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_numbers_parse_like_python_float(tmp_path: Path) -> None:
    array = load(write(tmp_path, "x.csv", "nan,inf,-inf,1e-3,-0.5,+2,1E2\n")).array
    assert np.isnan(array[0, 0])
    assert array[0, 1:].tolist() == [np.inf, -np.inf, 0.001, -0.5, 2.0, 100.0]


def test_header_row_gives_class_names(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "x.csv", "cat,dog,bird\n1,2,3\n4,5,6\n"))
    assert loaded.class_names == ("cat", "dog", "bird")
    assert loaded.array.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_quoted_header_cells(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "x.csv", '"a, b","c"\n1,2\n'))
    assert loaded.class_names == ("a, b", "c")


def test_unclosed_quote(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", '"a,b\n1,2\n')
    assert error(spec=path) == f'{path}, row 1: a quote (") that is not closed'


def test_label_column_with_numbers(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "x.csv", "a,Label,b\n1,0,2\n3,1,4\n"))
    assert loaded.array.tolist() == [[1, 2], [3, 4]]
    assert loaded.targets is not None
    assert loaded.targets.dtype == np.float64 and loaded.targets.tolist() == [0.0, 1.0]
    assert loaded.class_names == ("a", "b")


def test_target_column_with_names(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "x.tsv", "cat\tdog\tTARGET\n1\t2\tdog\n3\t4\t1\n"))
    assert loaded.targets is not None
    assert loaded.targets.dtype.kind == "U" and loaded.targets.tolist() == ["dog", "1"]
    assert loaded.class_names == ("cat", "dog")


def test_label_column_with_numeric_class_names(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "x.csv", "label,0,1,2\n2,0.1,0.2,0.3\n"))
    assert loaded.class_names is None
    assert loaded.array.tolist() == [[0.1, 0.2, 0.3]]
    assert loaded.targets is not None and loaded.targets.tolist() == [2.0]


def test_two_label_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "label,a,target\n1,2,3\n")
    assert error(spec=path) == (
        f"{path}, row 1: two target columns ('label' in column 1 and 'target' in column 3); "
        "keep one"
    )


def test_only_a_label_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "label\n1\n")
    assert (
        error(spec=path) == f"{path}, row 1: only a 'label' column (expected columns of logits too)"
    )


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "# names\ncat,dog\n")
    assert (
        error(spec=path) == f"{path}: a header row but no data (expected rows of numbers after it)"
    )


def test_empty_header_cell_is_an_index_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", ",a,b\n0,1,2\n")
    assert error(spec=path).startswith(f"{path}, row 1, column 1: an empty header cell (an index")


def test_first_row_with_a_typo_is_not_a_header(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "1,abc\n2,3\n")
    assert error(spec=path) == f"{path}, row 1, column 2: 'abc' is not a number"


def test_non_numeric_cell_after_header(tmp_path: Path) -> None:
    path = write(tmp_path, "logits.csv", "a,b\n1,2\n3,abc\n")
    assert error(spec=path) == f"{path}, row 3, column 2: 'abc' is not a number"


def test_empty_cell(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "1,2,3\n4,,6\n")
    assert error(spec=path) == f"{path}, row 2, column 2: empty cell, expected a number"


def test_ragged_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "file.csv", "1,2,3,4\n5,6,7,8\n\n9,10,11\n")
    assert error(spec=path) == f"{path}, row 4: 3 values, expected 4 (as in row 1)"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n  # and another\n", "\ufeff"])
def test_no_data(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "file.csv", text)
    assert error(spec=path) == f"{path}: no data (expected rows of numbers)"


def test_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", b"1,2\n3,\xff\n")
    assert error(spec=path) == (
        f"{path}, row 2: not UTF-8 text (byte 0xff at offset 6); save the file as UTF-8"
    )


def test_targets_one_per_line_with_header(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "y.csv", "label\n1\n2\n3\n"), role="targets")
    assert loaded.array.dtype == np.float64 and loaded.array.tolist() == [[1], [2], [3]]


@pytest.mark.parametrize("name", ["labels", "Target", "y", "CLASS"])
def test_targets_header_names(tmp_path: Path, name: str) -> None:
    loaded = load(write(tmp_path, "y.csv", f"{name}\n0\n"), role="targets")
    assert loaded.array.tolist() == [[0.0]]


def test_targets_as_names(tmp_path: Path) -> None:
    array = load(write(tmp_path, "y.txt", "cat dog\ncat 2\n"), role="targets").array
    assert array.dtype.kind == "U" and array.tolist() == [["cat", "dog"], ["cat", "2"]]


def test_probability_targets_with_class_names(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, "p.csv", "cat,dog\n0.25,0.75\n"), role="targets")
    assert loaded.array.tolist() == [[0.25, 0.75]] and loaded.class_names == ("cat", "dog")


def test_targets_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, "y.csv", "label\n")
    assert error(spec=path, role="targets") == (
        f"{path}: a header row but no data (expected rows of targets)"
    )


def test_text_from_stdin() -> None:
    loaded = stdin(b"a\tb\r\n1\t2\r\n")
    assert loaded.source == "<stdin>" and loaded.class_names == ("a", "b")
    assert loaded.array.tolist() == [[1, 2]]


def test_stdin_defaults_to_sys_stdin_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1,2\n3,4\n")))
    assert load("-").array.tolist() == [[1, 2], [3, 4]]


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "spec,shape",
    [("1,2,3,4", (1, 4)), ("1,2,3,4;5,6,7,8", (2, 4)), ("1 2 3", (1, 3)), ("-1,-2;", (1, 2))],
)
def test_literal_rows(spec: str, shape: tuple) -> None:
    loaded = load(spec)
    assert loaded.source == "literal" and loaded.array.shape == shape
    assert loaded.array.dtype == np.float64


def test_json_literal_keeps_its_rank() -> None:
    assert load("[1,2,3]").array.tolist() == [1.0, 2.0, 3.0]
    loaded = load('{"logits": [[1, 2]], "targets": [1]}')
    assert loaded.targets is not None and loaded.targets.tolist() == [1.0]


def test_literal_targets() -> None:
    assert load("1,2,3", role="targets").array.tolist() == [[1.0, 2.0, 3.0]]
    names = load("cat,dog", role="targets").array
    assert names.dtype == np.dtype("<U3") and names.tolist() == [["cat", "dog"]]


def test_literal_errors() -> None:
    assert error(spec="1,2;3") == "literal, row 2: 1 value, expected 2 (as in row 1)"
    assert error(spec="1,2;3,x") == "literal, row 2, column 2: 'x' is not a number"
    assert error(spec="1,,2") == "literal, row 1, column 2: empty cell, expected a number"


@pytest.mark.parametrize(
    "spec,role,example",
    [
        ("foo.csv", "logits", "1,2,3;4,5,6"),
        ("logits", "logits", "1,2,3;4,5,6"),
        ("cat", "targets", "1,0,3"),
        ("labels.csv", "targets", "1,0,3"),
        ("data/a,b", "targets", "1,0,3"),
    ],
)
def test_missing_file_that_is_no_literal(spec: str, role: str, example: str) -> None:
    assert error(spec=spec, role=role) == (
        f"cannot read {role} {spec!r}: no such file (and not a literal list like {example})"
    )


def test_file_wins_over_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "1,2", "7,8,9\n")
    monkeypatch.chdir(tmp_path)
    assert load("1,2").array.tolist() == [[7, 8, 9]]
    assert load("1,2").source == "1,2"


def test_directory(tmp_path: Path) -> None:
    assert error(spec=str(tmp_path)) == f"cannot read logits {str(tmp_path)!r}: it is a directory"


# ---------------------------------------------------------------- JSON


def test_json_nested_list_file(tmp_path: Path) -> None:
    array = load(write(tmp_path, "x.json", "[[1, 2.5], [-3, 4e-1]]")).array
    assert array.dtype == np.float64 and array.tolist() == [[1, 2.5], [-3, 0.4]]


def test_json_object_with_targets_and_classes(tmp_path: Path) -> None:
    text = '{"logits": [[1, 2], [3, 4]], "targets": ["b", "a"], "classes": ["a", "b"], "x": 1}'
    loaded = load(write(tmp_path, "x.json", text))
    assert loaded.array.tolist() == [[1, 2], [3, 4]] and loaded.class_names == ("a", "b")
    assert loaded.targets is not None and loaded.targets.tolist() == ["b", "a"]


def test_json_object_labels_key_and_numeric_classes() -> None:
    loaded = stdin(b'{"logits": [[1, 2]], "labels": [1], "classes": [4, 2.0]}')
    assert loaded.targets is not None and loaded.targets.tolist() == [1.0]
    assert loaded.class_names == ("4", "2")


def test_json_object_for_targets() -> None:
    loaded = stdin(b'{"logits": [[1]], "labels": [[0, 1]]}', role="targets")
    assert loaded.array.tolist() == [[0.0, 1.0]]


def test_json_nan_infinity_null() -> None:
    array = stdin(b"[NaN, Infinity, -Infinity, null, 1]").array
    assert np.isnan(array[[0, 3]]).all() and array[[1, 2, 4]].tolist() == [np.inf, -np.inf, 1]


def test_json_targets_may_be_strings() -> None:
    array = stdin(b'["cat", "dog", 3]', role="targets").array
    assert array.dtype.kind == "U" and array.tolist() == ["cat", "dog", "3"]


@pytest.mark.parametrize(
    "text,message",
    [
        (b"[[1, 2], [3, 4], [5, 6, 7]]", "$[2]: 3 values, expected 2 (as in $[0])"),
        (b"[[1, 2], 3]", "$[1]: a number, expected a list of 2 values"),
        (b"[1, [2]]", "$[1]: a list of 1 value, expected a number"),
        (b'{"logits": [[1, 2], [3, 4], [5, "abc"]]}', "$.logits[2][1]: 'abc' is not a number"),
        (b"[true, 1]", "$[0]: true, expected a number"),
        (b"[[]]", "$: no data (an empty list)"),
        (b"3", "$: a number, expected a list of numbers"),
        (b'{"logits": [1], "classes": "ab"}', "$.classes: 'ab', expected a list of class names"),
    ],
)
def test_json_errors_name_the_path(text: bytes, message: str) -> None:
    assert error(spec="-", stdin=io.BytesIO(text), input_format="json") == f"<stdin>, {message}"


def test_json_invalid_syntax(tmp_path: Path) -> None:
    path = write(tmp_path, "x.json", "[[1, 2],\n [3 4]]")
    assert error(spec=path) == f"{path}, line 2, column 5: invalid JSON (Expecting ',' delimiter)"


def test_json_missing_and_double_keys() -> None:
    assert error(spec='{"x": 1, "y": 2}') == (
        'literal: no "logits" key in the JSON object (keys found: "x", "y")'
    )
    assert error(spec='{"logits": [1], "targets": [0], "labels": [0]}') == (
        'literal: both "targets" and "labels" keys are given; keep one'
    )


def test_json_depth_limit() -> None:
    assert error(spec="-", stdin=io.BytesIO(b"[" * 33 + b"1" + b"]" * 33)) == (
        "<stdin>, $: nested more than 32 levels deep"
    )
    assert stdin(b"[" * 32 + b"1" + b"]" * 32).array.shape == (1,) * 32
    deep = b"[" * 200_000 + b"]" * 200_000  # deeper than the interpreter's recursion limit
    assert error(spec="-", stdin=io.BytesIO(deep)) == "<stdin>: nested more than 32 levels deep"


def test_json_extension_second(tmp_path: Path) -> None:
    path = write(tmp_path, "x.json", "1,2\n")
    assert error(spec=path) == f"{path}, line 1, column 2: invalid JSON (Extra data)"


def test_json_detected_by_content(tmp_path: Path) -> None:
    assert load(write(tmp_path, "x.txt", "\ufeff  \n [[1, 2]]")).array.tolist() == [[1, 2]]


# ---------------------------------------------------------------- .npy


def test_npy_file_is_memory_mapped(tmp_path: Path) -> None:
    path = str(tmp_path / "big.npy")
    np.save(path, np.arange(12.0).reshape(3, 4))
    loaded = load(path)
    assert isinstance(loaded.array, np.memmap)
    assert loaded.array.dtype == np.float64 and loaded.array.shape == (3, 4)
    assert loaded.array[2, 3] == 11.0 and loaded.source == path


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "uint8", ">f8"])
def test_npy_keeps_its_dtype(tmp_path: Path, dtype: str) -> None:
    path = str(tmp_path / "x.npy")
    np.save(path, np.arange(6).reshape(2, 3).astype(dtype))
    array = load(path).array
    assert array.dtype == np.dtype(dtype) and array.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_npy_from_stdin_and_by_magic_whatever_the_extension(tmp_path: Path) -> None:
    data = npy_bytes(np.array([0.5, 1.5], dtype=np.float16))
    from_pipe = stdin(data).array
    assert not isinstance(from_pipe, np.memmap) and from_pipe.dtype == np.float16
    assert load(write(tmp_path, "really-npy.csv", data)).array.tolist() == [0.5, 1.5]


def test_npy_pickle_refused(tmp_path: Path) -> None:
    data = npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    path = write(tmp_path, "x.npy", data)
    assert error(spec=path) == f"{path}: object arrays are refused (they would need unpickling)"
    assert error(spec="-", stdin=io.BytesIO(data)) == (
        "<stdin>: object arrays are refused (they would need unpickling)"
    )


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]), "structured (record) arrays are refused"),
        (np.ones(2, dtype=complex), "complex numbers are refused (expected real numbers)"),
        (np.array(["a", "b"]), "an array of strings (<U1); expected numbers"),
        (np.array([True, False]), "an array of booleans; expected numbers"),
        (np.zeros((0, 3)), "no data (the array has shape (0, 3))"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "arrays of dtype datetime64[D] are refused"),
    ],
)
def test_npy_refused_dtypes(tmp_path: Path, array: np.ndarray, message: str) -> None:
    path = str(tmp_path / "x.npy")
    np.save(path, array)
    assert error(spec=path).startswith(f"{path}: {message}")


def test_npy_strings_are_fine_as_targets(tmp_path: Path) -> None:
    path = str(tmp_path / "y.npy")
    np.save(path, np.array(["cat", "dog"]))
    assert load(path, role="targets").array.tolist() == ["cat", "dog"]
    np.save(path, np.array([b"cat", b"\xff"]))
    assert error(spec=path, role="targets") == f"{path}: byte strings that are not ASCII text"


def test_npy_truncated(tmp_path: Path) -> None:
    data = npy_bytes(np.arange(10.0))
    path = write(tmp_path, "x.npy", data[:-5])
    message = "truncated file (the header promises 80 bytes of data, found 75)"
    assert error(spec=path) == f"{path}: {message}"
    assert error(spec="-", stdin=io.BytesIO(data[:-5])) == f"<stdin>: {message}"


def test_npy_extension_but_not_npy(tmp_path: Path) -> None:
    path = write(tmp_path, "x.npy", "1,2\n")
    assert error(spec=path) == f"{path}: not a .npy file (it does not start with \\x93NUMPY)"
    assert error(spec="-", stdin=io.BytesIO(b"1,2"), input_format="npy") == (
        "<stdin>: not a .npy file (it does not start with \\x93NUMPY)"
    )


def test_damaged_npy_never_raises_anything_else(tmp_path: Path) -> None:
    data = npy_bytes(np.arange(6.0).reshape(2, 3))
    rng = np.random.default_rng(0)
    variants = [data[:n] for n in range(len(data))]
    for _ in range(300):
        damaged = bytearray(data)
        damaged[rng.integers(6, 128)] = rng.integers(0, 256)
        variants.append(bytes(damaged))
    path = tmp_path / "x.npy"
    for variant in variants:
        path.write_bytes(variant)
        for spec, stream in ((str(path), None), ("-", io.BytesIO(variant))):
            try:
                load(spec, stdin=stream)
            except InputError as err:
                assert "\n" not in str(err)


# ---------------------------------------------------------------- .npz


def test_npz_logits_targets_classes(tmp_path: Path) -> None:
    path = str(tmp_path / "x.npz")
    np.savez(
        path, logits=np.ones((2, 3)), targets=np.array([0, 2]), classes=np.array(["a", "b", "c"])
    )
    loaded = load(path)
    assert loaded.array.shape == (2, 3) and loaded.class_names == ("a", "b", "c")
    assert loaded.targets is not None and loaded.targets.tolist() == [0, 2]
    assert load(path, role="targets").array.tolist() == [0, 2]


def test_npz_labels_key_compressed_from_stdin() -> None:
    data = npz_bytes(compressed=True, logits=np.zeros((1, 2), np.float32), labels=np.array([1]))
    loaded = stdin(data)
    assert loaded.array.dtype == np.float32 and loaded.source == "<stdin>"
    assert loaded.targets is not None and loaded.targets.tolist() == [1]


def test_npz_single_array_is_the_main_array() -> None:
    assert stdin(npz_bytes(scores=np.arange(3.0))).array.tolist() == [0.0, 1.0, 2.0]


def test_npz_missing_key_lists_the_keys(tmp_path: Path) -> None:
    path = str(tmp_path / "x.npz")
    np.savez(path, a=np.ones(2), b=np.ones(2))
    assert error(spec=path) == (
        f"{path}: no array named 'logits' (arrays found: 'a', 'b'); expected 'logits' and "
        "optionally 'targets' or 'labels', or a single array"
    )


def test_npz_errors() -> None:
    both = npz_bytes(logits=np.ones((1, 2)), targets=np.ones(1), labels=np.ones(1))
    assert error(spec="-", stdin=io.BytesIO(both)) == (
        "<stdin>: both 'targets' and 'labels' arrays are given; keep one"
    )
    assert (
        error(spec="-", stdin=io.BytesIO(npz_bytes())) == "<stdin>: no arrays in the .npz archive"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logits.npy", npy_bytes(np.array([1, None], dtype=object), True))
    assert error(spec="-", stdin=io.BytesIO(buffer.getvalue())) == (
        "<stdin>, member 'logits': object arrays are refused (they would need unpickling)"
    )


def test_damaged_npz_never_raises_anything_else() -> None:
    rng = np.random.default_rng(1)
    for compressed in (False, True):
        data = npz_bytes(compressed, logits=np.arange(40.0).reshape(4, 10), targets=np.arange(4))
        variants = [data[:n] for n in range(0, len(data), 7)]
        for _ in range(300):
            damaged = bytearray(data)
            for _ in range(3):
                damaged[rng.integers(0, len(data))] = rng.integers(0, 256)
            variants.append(bytes(damaged))
        for variant in variants:
            try:
                stdin(variant, input_format="npz")
            except InputError as err:
                assert "\n" not in str(err)


# ---------------------------------------------------------------- formats and robustness


def test_sniff_format() -> None:
    assert sniff_format(npy_bytes(np.ones(1))) == "npy"
    assert sniff_format(npz_bytes(a=np.ones(1))) == "npz"
    assert sniff_format(b"\xef\xbb\xbf \n{") == "json"
    assert sniff_format(b"1,2", "x.NPY") == "npy"
    assert sniff_format(b"1,2", "x.dat") == "csv"


def test_forced_format() -> None:
    assert error(spec="-", stdin=io.BytesIO(b"[1, 2]\n[3, 4]"), input_format="csv") == (
        "<stdin>, row 2, column 1: '[3' is not a number"
    )
    assert stdin(b"\n[1, 2]", input_format="json").array.tolist() == [1.0, 2.0]


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="role"):
        load("1,2", role="weights")
    with pytest.raises(ValueError, match="input_format"):
        load("1,2", input_format="xlsx")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    prefix=st.sampled_from([b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00", b"PK\x03\x04", b"[", b"{"]),
    body=st.binary(max_size=300),
    role=st.sampled_from(["logits", "targets"]),
    input_format=st.sampled_from(INPUT_FORMATS),
)
def test_any_bytes_give_loaded_or_input_error(
    prefix: bytes, body: bytes, role: str, input_format: str
) -> None:
    try:
        loaded = stdin(prefix + body, role=role, input_format=input_format)
    except InputError as err:
        assert "\n" not in str(err)
    else:
        assert isinstance(loaded, Loaded) and isinstance(loaded.array, np.ndarray)


@settings(max_examples=300, deadline=None)
@given(spec=st.text(max_size=40), role=st.sampled_from(["logits", "targets"]))
def test_any_literal_gives_loaded_or_input_error(spec: str, role: str) -> None:
    try:
        load(spec, role=role, stdin=io.BytesIO(b"1,2"))
    except InputError as err:
        assert "\n" not in str(err)


# ---------------------------------------------------------------- load_list


@pytest.mark.parametrize("spec", ["1,2,0.5", "1;2;0.5", "1 2  0.5", " 1, 2 ,0.5 ", "[1, 2, 0.5]"])
def test_load_list_literals(spec: str) -> None:
    values = load_list(spec, option="--weight")
    assert values.dtype == np.float64 and values.tolist() == [1.0, 2.0, 0.5]


def test_load_list_names() -> None:
    assert load_list("cat,dog", option="--classes", numeric=False).tolist() == ["cat", "dog"]
    classes = load_list("2,4,8,1,3,5", option="--classes", numeric=False)
    assert classes.dtype.kind == "U" and classes.tolist() == ["2", "4", "8", "1", "3", "5"]
    assert load_list('[[0.5, "a"]]', option="--classes", numeric=False).tolist() == ["0.5", "a"]


def test_load_list_from_files(tmp_path: Path) -> None:
    assert load_list(write(tmp_path, "w.csv", "weight\n1\n2\n"), option="--weight").tolist() == [
        1.0,
        2.0,
    ]
    assert load_list(write(tmp_path, "row.txt", "1 2 3\n"), option="--weight").tolist() == [1, 2, 3]
    assert load_list(write(tmp_path, "w.json", "[[1], [2]]"), option="--weight").tolist() == [1, 2]
    npy = str(tmp_path / "w.npy")
    np.save(npy, np.array([[1, 2], [3, 4]], dtype=np.int32))
    values = load_list(npy, option="--sample-weight")
    assert values.dtype == np.float64 and values.tolist() == [1, 2, 3, 4]
    names = write(tmp_path, "classes.txt", "class\ncat\ndog\n")
    assert load_list(names, option="--classes", numeric=False).tolist() == ["cat", "dog"]
    numbers = write(tmp_path, "c.csv", "2\n4.0\n0.5\n")
    assert load_list(numbers, option="--classes", numeric=False).tolist() == ["2", "4", "0.5"]


def test_load_list_from_stdin() -> None:
    values = load_list("-", option="--weight", stdin=io.BytesIO(b"1\n2\n"))
    assert values.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "spec,message",
    [
        ("1,x,2", "--weight: 'x' is not a number"),
        ("", "--weight: an empty list (expected a list like 1,2,0.5)"),
        ("1,,2", "--weight: item 2 is empty (expected a list like 1,2,0.5)"),
        ("w.csv", "--weight: no such file 'w.csv' (and not a literal list like 1,2,0.5)"),
        ("weights", "--weight: no such file 'weights' (and not a literal list like 1,2,0.5)"),
        ('["a", 1]', "--weight: 'a' is not a number"),
        ("[1, [2]]", "--weight: literal, $[1]: a list of 1 value, expected a number"),
    ],
)
def test_load_list_errors(spec: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        load_list(spec, option="--weight")
    assert str(info.value) == message


def test_load_list_file_errors_name_option_file_and_place(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", "1\n2\nheavy\n")
    with pytest.raises(InputError) as info:
        load_list(path, option="--sample-weight")
    assert str(info.value) == f"--sample-weight: 'heavy' is not a number (item 3 of {path})"
    ragged = write(tmp_path, "r.csv", "1,2\n3\n")
    with pytest.raises(InputError) as info:
        load_list(ragged, option="--weight")
    assert str(info.value) == f"--weight: {ragged}, row 2: 1 value, expected 2 (as in row 1)"


def test_permission_denied_whoever_runs_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xent_cli.io import sources

    path = write(tmp_path, "secret.csv", "1,2\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sources, "open", denied, raising=False)
    assert error(spec=path) == f"cannot read logits {path!r}: permission denied"
