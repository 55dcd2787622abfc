"""A big ``.npy`` on standard input -> a read-only memory map, in bounded memory.

Its one job is :func:`load_npy_stream`; the header checks are :mod:`.npy`'s.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from ..errors import InputError, human_size, os_reason
from ..system import free_bytes, temp_directory
from .npy import NPY_MAGIC, check_array, finish, load_npy_bytes, one_line, read_header

#: Bytes copied from a stream to the temporary file at a time (one reused buffer).
_COPY_CHUNK = 1 << 20
#: numpy refuses a ``.npy`` header longer than this (``max_header_size``).
_MAX_HEADER = 10000
_ADVICE = "set TMPDIR to a directory with room, or give the .npy file by its path"


def _declared_header_end(head: bytes) -> int | None:
    """Where the header of a ``.npy`` starting with ``head`` claims to end (None if unknown)."""
    major = head[len(NPY_MAGIC)] if len(head) > len(NPY_MAGIC) else None
    if major == 1 and len(head) >= 10:
        return 10 + int(struct.unpack("<H", head[8:10])[0])
    if major in (2, 3) and len(head) >= 12:
        return 12 + int(struct.unpack("<I", head[8:12])[0])
    return None


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``stream`` as far as it goes: the byte count (short only at EOF).

    ``readinto1`` (one system call at a time, back in Python between them) where the stream
    has it: a buffered ``readinto`` loops in C until the view is full, so a Ctrl-C arriving
    between two of its reads would wait for the writer's next bytes to be noticed."""
    done = 0
    readinto = getattr(stream, "readinto1", None) or getattr(stream, "readinto", None)
    while done < len(view):
        if readinto is not None:
            count = readinto(view[done:])
        else:  # a stream without readinto (a text stream handed in by a caller)
            chunk = stream.read(len(view) - done)
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8", "surrogateescape")
            count = len(chunk)
            view[done : done + count] = chunk
        if not count:
            break
        done += count
    return done


def _open_spool(directory: str, size: int, source: str) -> BinaryIO:
    """A new temporary file in ``directory`` for ``size`` bytes, nameless once open."""
    import tempfile  # start-up: only a big .npy from a pipe needs it

    where = f"a temporary file in {directory!r}"
    room = free_bytes(directory)  # None: no such directory (reported below), or not POSIX
    if room is not None and room < size:
        raise InputError(
            f"{source}: the .npy data ({human_size(size)}) goes to {where} to be read in "
            f"blocks, but that file system has only {human_size(room)} free; {_ADVICE}"
        )
    try:
        return tempfile.TemporaryFile(prefix="xent-stdin-", suffix=".npy", dir=directory)
    except OSError as err:
        raise InputError(f"{source}: cannot create {where} ({os_reason(err)}); {_ADVICE}") from None


def _copy(
    head: bytes | memoryview,
    stream: BinaryIO,
    spool: BinaryIO,
    size: int,
    fail: Callable[[OSError], InputError],
) -> int:
    """Write ``head`` and then up to ``size`` bytes in all from ``stream`` to ``spool``, a chunk
    at a time through one reused buffer: the count written (less than ``size`` at EOF).
    ``fail(err)`` makes the error to raise for an ``OSError`` writing ``spool``."""
    buffer = memoryview(bytearray(min(_COPY_CHUNK, max(size - len(head), 1))))
    piece, copied = memoryview(head), 0
    while True:
        try:
            spool.write(piece)
        except OSError as err:
            raise fail(err) from None
        copied += len(piece)
        if copied >= size:
            return copied
        count = _read_into(stream, buffer[: min(len(buffer), size - copied)])
        if not count:
            return copied
        piece = buffer[:count]


def _file_position(stream: BinaryIO, consumed: int) -> int | None:
    """Where in its file a stream started, ``consumed`` bytes ago, if it reads a regular
    file (standard input redirected from one); None for a pipe, a device or no file."""
    try:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        return stream.tell() - consumed
    except (OSError, AttributeError, ValueError):  # no fileno (BytesIO), not seekable
        return None


def _map_in_place(
    stream: BinaryIO,
    offset: int,
    shape: tuple[int, ...],
    fortran: bool,
    dtype: np.dtype,
    source: str,
    role: str,
) -> np.ndarray:
    """A read-only memory map of the data of a ``.npy`` at ``offset`` in the file ``stream``
    reads, checked against the file's size first."""
    try:
        size = os.fstat(stream.fileno()).st_size
    except OSError as err:
        raise InputError(f"{source}: cannot read ({err.strerror or err})") from None
    check_array(shape, dtype, size - offset, source, role)
    try:
        array = np.memmap(
            stream,
            dtype=dtype,
            mode="r",
            offset=offset,
            shape=tuple(shape),
            order="F" if fortran else "C",
        )
    except OSError as err:
        raise InputError(f"{source}: cannot read ({err.strerror or err})") from None
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: damaged .npy file ({one_line(err)})") from None
    return finish(array, source)


def load_npy_stream(head: bytes, stream: BinaryIO, source: str, role: str) -> np.ndarray:
    """Load a big ``.npy`` from standard input in bounded memory, never unpickling.

    ``head`` holds the first bytes of the stream (the header and more). The header is checked
    first, as for a file. Standard input that reads a regular file is memory-mapped where it
    is; a pipe is copied a chunk at a time to a nameless temporary file (nothing is left
    behind, ``kill -9`` included), memory-mapped read-only. Bytes after the data are not read.
    A bad header, a short stream or a temporary file that cannot be made is an
    :class:`InputError`; an error reading ``stream`` is an ``OSError``."""
    end = _declared_header_end(head)
    if end is not None and end > len(head):  # a header of megabytes: numpy refuses it anyway
        raise InputError(
            f"{source}: damaged .npy header (longer than the {_MAX_HEADER} bytes numpy reads "
            "safely)"
        )
    shape, fortran, dtype, offset = read_header(io.BytesIO(head), source)
    expected = math.prod(shape) * dtype.itemsize
    check_array(shape, dtype, expected, source, role)  # all but the length, known only at the end
    if offset + expected <= len(head):
        return load_npy_bytes(head, source, role)
    start = _file_position(stream, len(head))
    if start is not None:  # standard input is a file (``< big.npy``): map it where it is
        return _map_in_place(stream, start + offset, shape, fortran, dtype, source, role)
    directory = temp_directory()

    def fail(err: OSError) -> InputError:
        return InputError(
            f"{source}: cannot write a temporary file in {directory!r} "
            f"({os_reason(err)}); {_ADVICE}"
        )

    with _open_spool(directory, expected, source) as spool:
        copied = _copy(memoryview(head)[offset : offset + expected], stream, spool, expected, fail)
        check_array(shape, dtype, copied, source, role)  # a short stream: "truncated file"
        try:
            spool.flush()
            array = np.memmap(
                spool, dtype=dtype, mode="r", shape=tuple(shape), order="F" if fortran else "C"
            )
        except OSError as err:
            raise fail(err) from None
        except (ValueError, TypeError) as err:
            raise InputError(f"{source}: damaged .npy file ({one_line(err)})") from None
    return finish(array, source)
