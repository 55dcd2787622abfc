"""Arrays -> files (``-o/--output``): ``.npy``, ``.csv``, ``.txt`` or ``.json`` by extension.

Files are written atomically: the data goes to a temporary file in the target's directory,
which is synced to disk and replaces the target only once it is complete; on any failure
(Ctrl-C included) the temporary file is removed and the target is left as it was.

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
import secrets
import stat
from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from ._errors import InputError

__all__ = ["OUTPUT_EXTENSIONS", "npy_output", "write_array"]

#: The output formats, by file extension.
OUTPUT_EXTENSIONS = (".npy", ".csv", ".txt", ".json")


def _reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "permission denied"
    return err.strerror or str(err)


def _open_temp(path: str) -> tuple:
    """Create a new, empty temporary file next to ``path``: ``(fd, temp_path)``."""
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as err:
            raise InputError(f"cannot write {path!r}: {_reason(err)}") from None
    raise InputError(f"cannot write {path!r}: no free temporary file name in {directory!r}")


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
        raise InputError(f"cannot write {path!r}: it exists and is not a regular file")
    fd, temp = _open_temp(path)
    os.close(fd)
    done = False
    try:
        yield temp
        with open(temp, "rb+") as fp:
            os.fsync(fp.fileno())  # on disk before the rename, so a crash leaves old or new
        with contextlib.suppress(OSError):
            os.chmod(temp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temp, path)
        done = True
    except OSError as err:
        raise InputError(f"cannot write {path!r}: {_reason(err)}") from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _atomic_write(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Run ``write`` on a temporary file, then move it onto ``path``; clean up on failure."""
    with _atomic(path) as temp, open(temp, "wb") as fp:
        write(fp)


@contextlib.contextmanager
def npy_output(path: str, shape: tuple[int, ...], dtype: npt.DTypeLike) -> Iterator[np.ndarray]:
    """A writable ``.npy`` memory map for a result too big to hold: fill it block by block;
    it replaces ``path`` (atomically, synced) only when the ``with`` body succeeds.

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     out = str(pathlib.Path(directory) / "g.npy")
    ...     with npy_output(out, (2, 2), np.float64) as mm:
    ...         mm[:] = 1.5
    ...     np.load(out).tolist()
    [[1.5, 1.5], [1.5, 1.5]]
    """
    with _atomic(path) as temp:
        mm = np.lib.format.open_memmap(temp, mode="w+", dtype=dtype, shape=tuple(shape))
        yield mm
        mm.flush()
        del mm


def _text_writer(array: np.ndarray, separator: str) -> Callable[[BinaryIO], None]:
    """One row per line (1-D: one value per line), each value as ``repr(float(v))``."""
    rows = array.reshape(-1, 1) if array.ndim < 2 else array

    def write(fp: BinaryIO) -> None:
        for row in rows:
            values = np.asarray(row, dtype=np.float64).tolist()
            fp.write((separator.join(map(repr, values)) + "\n").encode("ascii"))

    return write


def _json_bytes(array: np.ndarray) -> bytes:
    """Nested lists with non-finite numbers written as ``null``; always valid JSON."""
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            values = array.astype(object)
            values[~finite] = None
            return (json.dumps(values.tolist(), allow_nan=False) + "\n").encode("ascii")
    return (json.dumps(array.tolist(), allow_nan=False) + "\n").encode("ascii")


def write_array(path: str, array: npt.ArrayLike) -> None:
    """Write an array to ``path``; the extension chooses the format.

    - ``.npy``: :func:`numpy.save` (dtype and shape kept, no pickles);
    - ``.csv`` / ``.txt``: one row per line, values comma / space separated in full precision
      (``repr(float(v))``, so ``nan``/``inf`` read back); a 1-D array is one value per line,
      a 0-d array one value; more than 2 dimensions is an error (use ``.npy`` or ``.json``);
    - ``.json``: nested lists, non-finite values as ``null``.

    Raises :class:`InputError` for an unknown extension, an array that does not fit the
    format, or a file that cannot be written; the target is then left untouched.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_EXTENSIONS:
        shown = repr(extension) if extension else "(no extension)"
        raise InputError(f"{path}: unknown output format {shown}; use .npy, .csv, .txt or .json")
    data = np.asarray(array)
    if data.dtype.kind not in "biuf":
        raise InputError(f"{path}: cannot write an array of dtype {data.dtype} (expected numbers)")
    if extension == ".npy":
        _atomic_write(path, lambda fp: np.save(fp, data, allow_pickle=False))
    elif extension == ".json":
        payload = _json_bytes(data)
        _atomic_write(path, lambda fp: fp.write(payload))
    else:
        if data.ndim > 2:
            raise InputError(
                f"{path}: a {data.ndim}-D array does not fit a {extension} file "
                "(one row per line); use .npy or .json"
            )
        _atomic_write(path, _text_writer(data, "," if extension == ".csv" else " "))
