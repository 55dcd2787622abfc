"""Results -> files: arrays (``-o``: ``.npy``, ``.csv``, ``.txt`` or ``.json`` by extension),
text (``--export``), and the checks of an output path made before any work.

The one atomic writer: a temporary file beside the target, synced, replaces it only when
complete; on any failure (Ctrl-C included) it is removed and the target left as it was.
Failures are :class:`~xent_cli.errors.OutputError`.

>>> import pathlib, tempfile
>>> with tempfile.TemporaryDirectory() as directory:
...     out = pathlib.Path(directory) / "p.csv"
...     write_array(str(out), np.array([[0.25, 0.75], [1 / 3, 2 / 3]]))
...     print(out.read_text(), end="")
0.25,0.75
0.3333333333333333,0.6666666666666666
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np

from ..errors import OutputError, UsageError, os_reason
from ..limits import current
from ..spec import OUTPUT_EXTENSIONS
from ..system import reserve_space, temp_directory


def _create_temp(path: str, created: list[str]) -> None:
    """Create a new, empty temporary file next to ``path``; its name goes into ``created``.

    The name is recorded *before* the file exists: Python runs signal handlers between
    bytecodes, and a Ctrl-C landing just after the creation (before a returned name could be
    stored) must still find the file to remove."""
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        created.append(os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp"))
        try:
            os.close(os.open(created[-1], flags, 0o666))
            return
        except FileExistsError:
            created.pop()  # someone else's file: never remove it
        except OSError as err:
            created.pop()
            raise OutputError(f"cannot write {path!r}: {os_reason(err)}") from None
    raise OutputError(f"cannot write {path!r}: no free temporary file name in {directory!r}")


@contextlib.contextmanager
def _atomic(path: str) -> Iterator[str]:
    """A new temporary file beside ``path`` for the ``with`` body to fill; it replaces
    ``path`` (synced to disk first, keeping the mode of a file it overwrites) only when the
    body succeeds, and is removed otherwise."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):  # a device or a pipe must not be replaced
        raise OutputError(f"cannot write {path!r}: it exists and is not a regular file")
    created: list[str] = []
    done = False
    try:
        _create_temp(path, created)
        temp = created[0]
        yield temp
        with open(temp, "rb+") as fp:
            os.fsync(fp.fileno())  # on disk before the rename, so a crash leaves old or new
        with contextlib.suppress(OSError):
            os.chmod(temp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temp, path)
        done = True
    except OSError as err:
        raise OutputError(f"cannot write {path!r}: {os_reason(err)}") from None
    finally:
        if not done:
            for name in created:
                with contextlib.suppress(OSError):
                    os.unlink(name)


def _atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Run ``write`` on a temporary file, then move it onto ``path``; clean up on failure."""
    with _atomic(path) as temp, open(temp, "wb") as fp:
        write(fp)


def write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (an ``--export`` picture or page)."""

    def write(fp: BinaryIO) -> None:
        fp.write(text.encode("utf-8"))

    _atomic_write(path, write)


@contextlib.contextmanager
def npy_output(
    path: str, shape: tuple[int, ...], dtype: np.typing.DTypeLike
) -> Iterator[np.ndarray]:
    """A writable ``.npy`` memory map that replaces ``path`` when the ``with`` body succeeds.

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     out = str(pathlib.Path(directory) / "g.npy")
    ...     with npy_output(out, (2, 2), np.float64) as mm:
    ...         mm[:] = 1.5
    ...     np.load(out).tolist()
    [[1.5, 1.5], [1.5, 1.5]]
    """
    with _atomic(path) as temp:
        mm = result_map(temp, shape, dtype, f"cannot write {path!r}")
        yield mm
        mm.flush()
        del mm


@contextlib.contextmanager
def result_file(
    shape: tuple[int, ...], dtype: np.typing.DTypeLike, path: str | None = None
) -> Iterator[tuple[np.ndarray, bool]]:
    """A memory map for an array result too big to hold, ``(map, written)``: ``-o FILE.npy``
    itself (``written``: it replaces ``path`` when the ``with`` body succeeds), else a
    temporary ``.npy`` in ``$TMPDIR``, removed at the end, for the caller to write or print a
    chunk at a time."""
    if path and path.lower().endswith(".npy"):
        with npy_output(path, shape, dtype) as mm:
            yield mm, True
        return
    import tempfile  # start-up: only a big result needs it

    directory = temp_directory()  # $TMPDIR as given: never a silent fall-back to /tmp
    advice = "set TMPDIR to a directory with room, or write the result with -o FILE.npy"
    try:
        temporary = tempfile.TemporaryDirectory(prefix="xent-", dir=directory)
    except OSError as err:
        raise OutputError(
            f"cannot make a temporary folder in {directory!r} for the result "
            f"({os_reason(err)}); {advice}"
        ) from None
    with temporary as folder:
        where = f"cannot write the result to a temporary file in {directory!r}"
        mm = result_map(os.path.join(folder, "result.npy"), shape, dtype, where, advice)
        yield mm, False
        del mm


def result_map(
    path: str, shape: tuple[int, ...], dtype: np.typing.DTypeLike, what: str, advice: str = ""
) -> np.memmap:
    """A new ``.npy`` at ``path`` opened as a writable memory map, its disk space reserved.

    A sparse memory map learns of a full disk only when a page is written (SIGBUS); the
    blocks are allocated here instead, so a full disk is an :class:`OutputError` (``what:
    reason; advice``) before any work."""
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=tuple(shape))
    fd = os.open(path, os.O_RDWR)
    try:
        reserve_space(fd, os.fstat(fd).st_size)
    except OSError as err:
        del mm
        tail = f"; {advice}" if advice else ""
        raise OutputError(f"{what}: {os_reason(err)}{tail}") from None
    finally:
        os.close(fd)
    return mm


def _text_writer(array: np.ndarray, separator: str) -> Callable[[BinaryIO], None]:
    """One row per line (1-D: one value per line), each value as ``repr(float(v))``.

    Rows are converted a block at a time (about ``write_values`` values), and a row longer
    than that a piece at a time, so memory stays bounded (a few MB) whatever the array's size
    (a memory map is read a slice at a time)."""
    rows = array.reshape(-1, 1) if array.ndim < 2 else array
    count, width = rows.shape

    def write(fp: BinaryIO) -> None:
        chunk_values = current().write_values
        if width == 0:  # empty lines
            for start in range(0, count, chunk_values):
                fp.write(b"\n" * min(chunk_values, count - start))
        elif width == 1:  # one value per line: a flat list, not a list of 1-lists
            for start in range(0, count, chunk_values):
                values = np.asarray(rows[start : start + chunk_values, 0], dtype=np.float64)
                fp.write(("\n".join(map(repr, values.tolist())) + "\n").encode("ascii"))
        elif width <= chunk_values:
            step = chunk_values // width
            for start in range(0, count, step):
                block = np.asarray(rows[start : start + step], dtype=np.float64).tolist()
                lines = [separator.join(map(repr, row)) for row in block]
                fp.write(("\n".join(lines) + "\n").encode("ascii"))
        else:  # a very long row: a piece of it at a time
            for row in rows:
                for start in range(0, width, chunk_values):
                    piece = np.asarray(row[start : start + chunk_values], dtype=np.float64)
                    text = separator.join(map(repr, piece.tolist()))
                    fp.write(((separator if start else "") + text).encode("ascii"))
                fp.write(b"\n")

    return write


def _items(shape: tuple[int, ...]) -> int:
    """How many values ``tolist()`` makes of an array of ``shape``: numbers and lists."""
    total, count = 0, 1
    for size in shape:
        count *= size
        total += count
    return total


def _json_text(part: np.ndarray) -> tuple[str, bool]:
    """``json.dumps(part.tolist())`` with non-finite numbers written as ``null``, and whether
    there was any."""
    if part.dtype.kind != "f":
        return json.dumps(part.tolist(), allow_nan=False), False
    text = json.dumps(part.tolist())  # NaN, Infinity, -Infinity: never part of a number
    if "N" not in text and "I" not in text:
        return text, False
    text = text.replace("-Infinity", "null").replace("Infinity", "null")
    return text.replace("NaN", "null"), True


def _json_writer(
    array: np.ndarray, on_null: Callable[[], None] | None = None
) -> Callable[[BinaryIO], None]:
    """Nested lists, non-finite numbers as ``null`` (always valid JSON), then a newline.

    The bytes of ``json.dumps(array.tolist())``, written ``write_values`` values at a time
    (memory stays bounded); ``on_null()`` runs after the last byte when any ``null`` was."""

    chunk_values = current().write_values

    def walk(fp: BinaryIO, part: np.ndarray) -> bool:
        if part.ndim == 0 or _items(part.shape) <= chunk_values:
            text, nulls = _json_text(part)
            fp.write(text.encode("ascii"))
            return nulls
        fp.write(b"[")
        nulls = False
        row = _items(part.shape[1:]) + 1
        if row <= chunk_values:  # several rows at a time, without their outer brackets
            step = chunk_values // row
            for start in range(0, part.shape[0], step):
                text, bad = _json_text(part[start : start + step])
                fp.write(((", " if start else "") + text[1:-1]).encode("ascii"))
                nulls |= bad
        else:
            for index in range(part.shape[0]):
                if index:
                    fp.write(b", ")
                nulls |= walk(fp, part[index])
        fp.write(b"]")
        return nulls

    def write(fp: BinaryIO) -> None:
        nulls = walk(fp, array)
        fp.write(b"\n")
        if nulls and on_null is not None:
            on_null()

    return write


def check_fits(path: str, ndim: int) -> None:
    """Raise :class:`OutputError` when an ``ndim``-D array cannot be written to ``path``:
    ``.csv`` and ``.txt`` hold one row per line, so at most 2 dimensions. Cheap, so callers
    run it before any work, as soon as the result's shape is known."""
    extension = os.path.splitext(path)[1].lower()
    if extension in (".csv", ".txt") and ndim > 2:
        raise OutputError(
            f"{path}: a {ndim}-D array does not fit a {extension} file "
            "(one row per line); use .npy or .json"
        )


def write_array(
    path: str, array: np.typing.ArrayLike, *, on_null: Callable[[], None] | None = None
) -> None:
    """Write an array to ``path``, in the format of its extension: ``.npy`` (``np.save``);
    ``.csv``/``.txt`` (one row per line, ``repr(float(v))``: ``nan``/``inf`` read back; at
    most 2-D); ``.json`` (nested lists, non-finite values as ``null``, then ``on_null()``,
    before the file replaces ``path``: if it raises, ``path`` is left as it was). Text goes
    a slice of ``write_values`` values at a time: a memory map is never held whole."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_EXTENSIONS:
        shown = repr(extension) if extension else "(no extension)"
        raise OutputError(f"{path}: unknown output format {shown}; use .npy, .csv, .txt or .json")
    data = np.asarray(array)
    if data.dtype.kind not in "biuf":
        raise OutputError(f"{path}: cannot write an array of dtype {data.dtype} (expected numbers)")
    if extension == ".npy":
        _atomic_write(path, lambda fp: np.save(fp, data, allow_pickle=False))
    elif extension == ".json":
        _atomic_write(path, _json_writer(data, on_null))
    else:
        check_fits(path, data.ndim)
        _atomic_write(path, _text_writer(data, "," if extension == ".csv" else " "))


def check_array_output(path: str, inputs: Iterable[str | None]) -> None:
    """Check ``-o FILE`` before any work: a known extension, an existing folder, not an input."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_EXTENSIONS:
        raise UsageError(
            f"-o {path}: unknown output format {extension or '(no extension)'!r}; "
            "use .npy, .csv, .txt or .json"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"-o {path}: the folder {folder} does not exist")
    check_output_path(path, inputs)


def check_output_path(path: str, inputs: Iterable[str | None]) -> None:
    """Refuse an output path that is one of the command's input files (it would be lost)."""
    target = os.path.realpath(path)
    for spec in inputs:
        if spec and spec != "-" and os.path.exists(spec) and os.path.realpath(spec) == target:
            raise UsageError(f"-o {path} is one of the inputs; refusing to overwrite it")
