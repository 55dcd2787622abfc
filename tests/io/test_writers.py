"""xent_cli.io.writers.write_array: every extension round-trips through the readers, and a failed
write leaves neither a temporary file nor a half-written target behind."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from xent_cli.errors import OutputError
from xent_cli.io import writers
from xent_cli.io.sources import load
from xent_cli.io.writers import write_array
from xent_cli.limits import Limits


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_npy_round_trip_keeps_dtype_and_shape(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    path = str(tmp_path / "out.npy")
    write_array(path, array)
    back = np.load(path, allow_pickle=False)
    assert back.dtype == np.float32 and back.shape == (2, 3, 4)
    assert np.array_equal(back, array)
    assert np.array_equal(load(path).array, array)
    assert files(tmp_path) == ["out.npy"]


def test_csv_2d_one_row_per_line_in_full_precision(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_array(str(path), np.array([[0.1 + 0.2, 1.0, -2.5e-300], [np.nan, np.inf, -np.inf]]))
    assert path.read_text() == "0.30000000000000004,1.0,-2.5e-300\nnan,inf,-inf\n"
    back = load(str(path)).array
    assert back[0].tolist() == [0.1 + 0.2, 1.0, -2.5e-300]
    assert np.isnan(back[1, 0]) and back[1, 1:].tolist() == [np.inf, -np.inf]


def test_csv_1d_is_one_value_per_line(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    write_array(str(path), np.array([1.4401896985611957, 2.0]))
    assert path.read_text() == "1.4401896985611957\n2.0\n"


def test_csv_0d_is_one_value(tmp_path: Path) -> None:
    path = tmp_path / "loss.csv"
    write_array(str(path), np.float64(1.4401896985611957))
    assert path.read_text() == "1.4401896985611957\n"


def test_csv_float32_is_written_exactly(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_array(str(path), np.array([[0.1]], dtype=np.float32))
    assert path.read_text() == "0.10000000149011612\n"
    assert load(str(path)).array.astype(np.float32).tolist() == [[np.float32(0.1)]]


def test_csv_ints_are_floats(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    write_array(str(path), np.array([[1, 2]], dtype=np.int64))
    assert path.read_text() == "1.0,2.0\n"


def test_txt_is_space_separated(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    array = np.array([[0.25, 0.75], [1 / 3, 2 / 3]])
    write_array(str(path), array)
    assert path.read_text() == "0.25 0.75\n0.3333333333333333 0.6666666666666666\n"
    assert np.array_equal(load(str(path)).array, array)


def test_json_nested_lists_and_null(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_array(str(path), np.array([[[0.5, np.nan]], [[np.inf, -1.0]]]))
    assert path.read_text() == "[[[0.5, null]], [[null, -1.0]]]\n"
    back = load(str(path)).array
    assert back.shape == (2, 1, 2) and back[0, 0, 0] == 0.5 and np.isnan(back[1, 0, 0])


def test_json_round_trip_and_ints(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    array = np.array([[0.1, 0.2], [1e-310, 3.0]], dtype=np.float64)
    write_array(str(path), array)
    assert np.array_equal(load(str(path)).array, array)
    write_array(str(path), np.array([1, 2], dtype=np.int32))
    assert json.loads(path.read_text()) == [1, 2]
    write_array(str(path), np.float64(np.nan))
    assert path.read_text() == "null\n"


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "OUT.CSV"
    write_array(str(path), np.array([1.0]))
    assert path.read_text() == "1.0\n"


@pytest.mark.parametrize("name,shown", [("out.xlsx", "'.xlsx'"), ("out", "(no extension)")])
def test_unknown_extension(tmp_path: Path, name: str, shown: str) -> None:
    path = str(tmp_path / name)
    with pytest.raises(OutputError) as info:
        write_array(path, np.ones(2))
    assert (
        str(info.value) == f"{path}: unknown output format {shown}; use .npy, .csv, .txt or .json"
    )
    assert files(tmp_path) == []


@pytest.mark.parametrize("extension", [".csv", ".txt"])
def test_text_refuses_more_than_2d(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"out{extension}"
    path.write_text("old\n")
    with pytest.raises(OutputError) as info:
        write_array(str(path), np.ones((2, 2, 2)))
    assert str(info.value) == (
        f"{path}: a 3-D array does not fit a {extension} file (one row per line); use .npy or .json"
    )
    assert path.read_text() == "old\n" and files(tmp_path) == [path.name]


@pytest.mark.parametrize("array", [np.array([1 + 2j]), np.array(["a"]), np.array([None])])
def test_non_numbers_are_refused(tmp_path: Path, array: np.ndarray) -> None:
    path = str(tmp_path / "out.npy")
    with pytest.raises(OutputError, match=r"out\.npy: cannot write an array of dtype"):
        write_array(path, array)
    assert files(tmp_path) == []


def test_missing_directory(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere" / "out.csv")
    with pytest.raises(OutputError) as info:
        write_array(path, np.ones(2))
    assert str(info.value) == f"cannot write {path!r}: No such file or directory"


def test_target_is_a_directory_leaves_no_temp_file(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OutputError, match=r"^cannot write '.*out\.csv': "):
        write_array(str(tmp_path / "out.csv"), np.ones(2))
    assert files(tmp_path) == ["out.csv"]


def test_failure_mid_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.npy"
    path.write_bytes(b"old contents")

    def broken_save(fp: object, array: object, allow_pickle: bool = False) -> None:
        fp.write(b"half of an array")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OutputError) as info:
        write_array(str(path), np.ones(3))
    assert str(info.value) == f"cannot write {str(path)!r}: No space left on device"
    assert path.read_bytes() == b"old contents" and files(tmp_path) == ["out.npy"]


def test_interrupted_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fp: object, array: object, allow_pickle: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_array(str(tmp_path / "out.npy"), np.ones(3))
    assert files(tmp_path) == []


def test_temp_file_is_in_the_target_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((os.path.dirname(src), os.path.basename(src), os.path.exists(src)))
        real_replace(src, dst)

    monkeypatch.setattr(writers.os, "replace", spy)
    write_array(str(tmp_path / "out.json"), np.ones(2))
    [(directory, name, existed)] = seen
    assert directory == str(tmp_path) and name.startswith(".out.json.") and existed
    assert files(tmp_path) == ["out.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_modes_new_file_follows_umask_overwrite_keeps_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        new = tmp_path / "new.csv"
        write_array(str(new), np.ones(1))
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.csv"
        kept.write_text("x\n")
        kept.chmod(0o600)
        write_array(str(kept), np.ones(1))
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and kept.read_text() == "1.0\n"
    finally:
        os.umask(old_umask)


def test_relative_path_in_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_array("rel.txt", np.array([[1.0, 2.0]]))
    assert (tmp_path / "rel.txt").read_text() == "1.0 2.0\n" and files(tmp_path) == ["rel.txt"]


# --- streaming: the same bytes as the whole-array writers, in bounded memory --------------


def reference_json(array: np.ndarray) -> bytes:
    """The JSON writer as it was: the whole array as one ``json.dumps`` (kept as the oracle)."""
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            values = array.astype(object)
            values[~finite] = None
            return (json.dumps(values.tolist(), allow_nan=False) + "\n").encode("ascii")
    return (json.dumps(array.tolist(), allow_nan=False) + "\n").encode("ascii")


def reference_text(array: np.ndarray, separator: str) -> bytes:
    """The CSV/TXT writer as it was: one ``tolist()`` per row (kept as the oracle)."""
    rows = array.reshape(-1, 1) if array.ndim < 2 else array
    lines = []
    for row in rows:
        values = np.asarray(row, dtype=np.float64).tolist()
        lines.append((separator.join(map(repr, values)) + "\n").encode("ascii"))
    return b"".join(lines)


def written(write: object) -> bytes:
    buffer = io.BytesIO()
    write(buffer)  # type: ignore[operator]
    return buffer.getvalue()


SHAPES = [
    (),
    (0,),
    (1,),
    (5,),
    (40,),
    (0, 3),
    (3, 0),
    (0, 0),
    (40, 3),
    (3, 40),
    (1, 1),
    (2, 3, 4),
    (4, 0, 5),
    (1, 1, 1, 1),
    (30, 2, 2),
    (2, 30, 2),
    (2, 2, 30),
    (50, 0),
]
DTYPES = ["f8", "f4", "f2", ">f8", "i1", "i8", "u8", "?"]


def sample(shape: tuple[int, ...], dtype: str, rng: np.random.Generator) -> np.ndarray:
    array = (rng.normal(size=shape) * 1000).astype(dtype)
    if array.dtype.kind == "f" and array.size:
        flat = array.reshape(-1)
        flat[rng.random(flat.size) < 0.15] = np.nan
        flat[rng.random(flat.size) < 0.1] = np.inf
        flat[rng.random(flat.size) < 0.1] = -np.inf
        flat[rng.random(flat.size) < 0.05] = 1e-310  # subnormal
    return array


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, Limits().write_values])
def test_streamed_text_is_byte_identical_to_the_whole_array_writers(
    chunk: int, limits: Callable[..., Limits]
) -> None:
    """Every shape (0-d, empty, 1-D, 2-D, K-D), dtype, layout and slice size: same bytes."""
    limits(write_values=chunk)
    rng = np.random.default_rng(chunk)
    for shape in SHAPES:
        for dtype in DTYPES:
            array = sample(shape, dtype, rng)
            for view in (array, np.asfortranarray(array), array[::-1] if array.ndim else array):
                where = (chunk, shape, dtype)
                assert written(writers._json_writer(view)) == reference_json(view), where
                if view.ndim <= 2:
                    for separator in (",", " "):
                        got = written(writers._text_writer(view, separator))
                        assert got == reference_text(view, separator), where
    all_finite = np.arange(12.0).reshape(3, 4)
    assert written(writers._json_writer(all_finite)) == reference_json(all_finite)


@pytest.mark.parametrize("extension", [".json", ".csv", ".txt"])
def test_write_array_streams_the_same_bytes_to_the_file(
    extension: str, tmp_path: Path, limits: Callable[..., Limits]
) -> None:
    limits(write_values=5)
    array = sample((23, 4), "f4", np.random.default_rng(3))
    path = tmp_path / f"out{extension}"
    write_array(str(path), array)
    if extension == ".json":
        assert path.read_bytes() == reference_json(array)
    else:
        assert path.read_bytes() == reference_text(array, "," if extension == ".csv" else " ")
    assert files(tmp_path) == [path.name]


def big_memmap(directory: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 ``.npy`` memory map with some non-finite values (the null path)."""
    mm = np.lib.format.open_memmap(directory / "big.npy", "w+", np.float32, shape)
    mm[:] = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    mm.reshape(-1)[::997] = np.nan
    mm.flush()
    del mm
    return np.load(directory / "big.npy", mmap_mode="r")


@pytest.mark.parametrize(
    "extension,shape", [(".json", (4_000, 50)), (".json", (1, 200_000)), (".csv", (200_000,))]
)
def test_writing_a_big_memory_map_keeps_memory_bounded(
    extension: str, shape: tuple[int, ...], tmp_path: Path
) -> None:
    """Python's allocations while a 200,000-value memory map is written as ~4 MB of text stay
    under the size of the text: one slice at a time (about 2.6 MB here, whatever the array;
    the whole-array writers took 16 MB for JSON and 32 MB for CSV)."""
    import tracemalloc

    array = big_memmap(tmp_path, shape)
    path = tmp_path / f"out{extension}"
    tracemalloc.start()
    try:
        write_array(str(path), array)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = path.stat().st_size
    assert size > 3_500_000
    assert peak < min(size, 4_000_000), (peak, size)
    tail, last = path.read_bytes()[-64:], np.asarray(array.reshape(-1)[-1:])
    if extension == ".json":
        assert tail.endswith(b"]\n") and tail.rstrip(b"]\n").endswith(reference_json(last)[1:-2])
    else:
        assert tail.endswith(reference_text(last, ","))
