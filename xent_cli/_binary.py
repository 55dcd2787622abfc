"""``.npy`` and ``.npz`` input -> numpy arrays, never unpickling anything.

Private helper of :mod:`xent_cli.readers`. A ``.npy`` file on disk is memory-mapped (big files
are not read into memory); a big one from a pipe is copied, a chunk at a time, to a temporary
file that is memory-mapped in turn (:func:`load_npy_stream`); a small one, or one inside an
``.npz``, is read from bytes.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from . import _memory
from ._errors import InputError, os_reason
from ._jsonin import class_name
from ._text import Parsed

if TYPE_CHECKING:
    import zipfile


__all__ = [
    "NPY_MAGIC",
    "NPZ_MAGICS",
    "SPOOL_BYTES",
    "load_npy_bytes",
    "load_npy_path",
    "load_npy_stream",
    "load_npz",
    "spool_directory",
]

NPY_MAGIC = b"\x93NUMPY"
NPZ_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
#: Deflate cannot compress better than about 1032:1, and ``np.savez`` writes nothing else: a
#: member that claims more is a lie or a zip bomb (sparse one-hot arrays reach about 750:1).
MAX_RATIO = 1100

#: A ``.npy`` stream longer than this is copied to a temporary file and memory-mapped rather
#: than held in memory: the size from which the kernel works in blocks (``core._BLOCKED_BYTES``).
SPOOL_BYTES = 4 << 20
#: Bytes copied from a stream to the temporary file at a time (one reused buffer).
_COPY_CHUNK = 1 << 20
#: numpy refuses a ``.npy`` header longer than this (``max_header_size``).
_MAX_HEADER = 10000
_ADVICE = "set TMPDIR to a directory with room, or give the .npy file by its path"

def _zip_errors() -> tuple[type[BaseException], ...]:
    """What a damaged ``.npz`` can raise (zipfile and its codecs load only for an ``.npz``)."""
    import zipfile
    import zlib

    try:
        from lzma import LZMAError
    except ImportError:  # pragma: no cover - a Python built without lzma
        LZMAError = zlib.error  # noqa: N806 - a stand-in already in the tuple
    return (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        LZMAError,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # an unsupported compression method
    )


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _why(err: BaseException) -> str:
    """What is wrong with a header, in words for the user rather than numpy's."""
    text = str(err)
    if isinstance(err, EOFError) or text.startswith("EOF"):
        return "the file ends inside the header"
    if "malformed node" in text:  # ast.literal_eval met code (a call, an operator)
        return "not a plain Python literal; nothing in it was run"
    if "max_header_size" in text:
        return "longer than the 10000 bytes numpy reads safely"
    return _one_line(err)


def _header(fp: BinaryIO, source: str) -> tuple:
    """Read the magic and header of a .npy stream: ``(shape, fortran_order, dtype, offset)``."""
    import tokenize  # for its error only; 3 ms of start-up that a literal does not need

    start = fp.read(len(NPY_MAGIC))
    if start != NPY_MAGIC:
        raise InputError(f"{source}: not a .npy file (it does not start with \\x93NUMPY)")
    fp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "created on Python 2": we read it all the same
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                major, minor = version
                raise InputError(f"{source}: unsupported .npy format version {major}.{minor}")
    except InputError:
        raise
    except (
        ValueError,
        SyntaxError,
        TypeError,
        EOFError,
        OverflowError,
        RecursionError,  # a pathologically nested header
        tokenize.TokenError,  # numpy re-tokenises headers that might come from Python 2
    ) as err:
        raise InputError(f"{source}: damaged .npy header ({_why(err)})") from None
    if not all(type(size) is int and size >= 0 for size in shape):
        raise InputError(f"{source}: damaged .npy header (shape {shape})")
    return shape, fortran, dtype, fp.tell()


def _check(shape: tuple, dtype: np.dtype, available: int, source: str, role: str) -> None:
    """Refuse dtypes that are not plain numbers (or strings, for targets) and short files."""
    kind = dtype.kind
    if dtype.hasobject:
        raise InputError(f"{source}: object arrays are refused (they would need unpickling)")
    if dtype.names is not None or dtype.subdtype is not None:
        raise InputError(f"{source}: structured (record) arrays are refused; save a plain array")
    if kind == "c":
        raise InputError(f"{source}: complex numbers are refused (expected real numbers)")
    if kind in "US" and role == "logits":
        raise InputError(f"{source}: an array of strings ({dtype.str}); expected numbers")
    if kind == "b" and role == "logits":
        raise InputError(f"{source}: an array of booleans; expected numbers")
    if kind not in "iufbUS":
        raise InputError(f"{source}: arrays of dtype {dtype} are refused; expected numbers")
    count = math.prod(shape)
    if count == 0:
        raise InputError(f"{source}: no data (the array has shape {tuple(shape)})")
    expected = count * dtype.itemsize
    if available < expected:
        raise InputError(
            f"{source}: truncated file (the header promises {expected} bytes of data, "
            f"found {max(available, 0)})"
        )


def _finish(array: np.ndarray, source: str) -> np.ndarray:
    """Byte strings become text; text must hold real characters (numpy does not check)."""
    if array.dtype.kind == "S":
        try:
            return array.astype(str)
        except UnicodeDecodeError:
            raise InputError(f"{source}: byte strings that are not ASCII text") from None
    if array.dtype.kind == "U":
        codes = np.frombuffer(array.tobytes(), dtype=np.dtype(array.dtype.byteorder + "u4"))
        if ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))).any():
            raise InputError(f"{source}: strings that are not valid text (bad code points)")
    return array


def load_npy_bytes(data: bytes, source: str, role: str) -> np.ndarray:
    """Load a ``.npy`` held in memory (from a pipe or an ``.npz`` member), never unpickling.

    The array is a read-only view of ``data`` (no copy): the header is checked first, so an
    absurd shape or a short buffer is refused before anything is allocated.

    >>> buffer = io.BytesIO(); np.save(buffer, np.arange(3.0))
    >>> load_npy_bytes(buffer.getvalue(), "<stdin>", "logits").tolist()
    [0.0, 1.0, 2.0]
    """
    shape, fortran, dtype, offset = _header(io.BytesIO(data), source)
    _check(shape, dtype, len(data) - offset, source, role)
    try:
        flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
        array = flat.reshape(shape, order="F" if fortran else "C")
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: damaged .npy file ({_one_line(err)})") from None
    return _finish(array, source)


def load_npy_path(path: str, source: str, role: str) -> np.ndarray:
    """Memory-map a ``.npy`` file (``mmap_mode="r"``, ``allow_pickle=False``).

    The result is a read-only :class:`numpy.memmap` in the file's own dtype.
    """
    try:
        with open(path, "rb") as fp:
            shape, _, dtype, offset = _header(fp, source)
            size = os.fstat(fp.fileno()).st_size
        _check(shape, dtype, size - offset, source, role)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "created on Python 2", as in _header
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except InputError:
        raise
    except OSError as err:
        raise InputError(f"{source}: cannot read the file ({err.strerror or err})") from None
    except (ValueError, TypeError, EOFError) as err:
        raise InputError(f"{source}: damaged .npy file ({_one_line(err)})") from None
    return _finish(array, source)


def spool_directory() -> str:
    """Where a big ``.npy`` from a pipe is copied: ``$TMPDIR`` (then ``$TEMP``, ``$TMP``) when
    set, else :func:`tempfile.gettempdir`.

    A directory named in the environment is used as it is, never silently replaced by
    another: it is where the user wants the room taken (``/tmp`` may be a small ``tmpfs``,
    which is memory).
    """
    for name in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(name)
        if value:
            return value
    import tempfile

    return tempfile.gettempdir()


def _declared_header_end(head: bytes) -> int | None:
    """Where the header of a ``.npy`` starting with ``head`` claims to end (None if unknown)."""
    major = head[len(NPY_MAGIC)] if len(head) > len(NPY_MAGIC) else None
    if major == 1 and len(head) >= 10:
        return 10 + struct.unpack("<H", head[8:10])[0]
    if major in (2, 3) and len(head) >= 12:
        return 12 + struct.unpack("<I", head[8:12])[0]
    return None


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``stream`` as far as it goes: the byte count (short only at EOF).

    ``readinto1`` (one system call at a time, back in Python between them) where the stream
    has it: a buffered ``readinto`` loops in C until the view is full, so a Ctrl-C arriving
    between two of its reads would wait for the writer's next bytes to be noticed.
    """
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
    import tempfile

    where = f"a temporary file in {directory!r}"
    try:
        stats = os.statvfs(directory)
        room = stats.f_bavail * stats.f_frsize
    except (OSError, AttributeError):  # no such directory (reported below), or not POSIX
        room = None
    if room is not None and room < size:
        show = _memory.human_size
        raise InputError(
            f"{source}: the .npy data ({show(size)}) goes to {where} to be read in blocks, "
            f"but that file system has only {show(room)} free; {_ADVICE}"
        )
    try:
        return tempfile.TemporaryFile(prefix="xent-stdin-", suffix=".npy", dir=directory)
    except OSError as err:
        raise InputError(f"{source}: cannot create {where} ({os_reason(err)}); {_ADVICE}") from None


def _copy(
    head: bytes | memoryview, stream: BinaryIO, spool: BinaryIO, size: int, fail: Callable
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
    shape: tuple,
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
    _check(shape, dtype, size - offset, source, role)
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
        raise InputError(f"{source}: damaged .npy file ({_one_line(err)})") from None
    return _finish(array, source)


def load_npy_stream(head: bytes, stream: BinaryIO, source: str, role: str) -> np.ndarray:
    """Load a big ``.npy`` from standard input in bounded memory, never unpickling.

    ``head`` holds the first bytes of the stream (the header and more); ``stream`` the rest.
    The header is checked first, as for a file (an absurd shape allocates nothing). When the
    stream reads a regular file (``xent compute - y.npy < x.npy``) the data is memory-mapped
    where it is. From a pipe, it is copied a chunk at a time (one reused 1 MiB buffer) to a
    temporary file in :func:`spool_directory`, and the result is a read-only
    :class:`numpy.memmap` of that file. The file has no name once it is open (POSIX:
    ``O_TMPFILE``, or unlinked at once), so nothing is left behind whatever happens, Ctrl-C and
    ``kill -9`` included; its space is freed with the map. Bytes after the data are not read.

    Raises :class:`InputError` for a bad header, a stream shorter than the header promises
    (``truncated file``, as for a file), or a temporary file that cannot be created or
    written (naming the directory); an error reading ``stream`` is an ``OSError``.
    """
    end = _declared_header_end(head)
    if end is not None and end > len(head):  # a header of megabytes: numpy refuses it anyway
        raise InputError(
            f"{source}: damaged .npy header (longer than the {_MAX_HEADER} bytes numpy reads "
            "safely)"
        )
    shape, fortran, dtype, offset = _header(io.BytesIO(head), source)
    expected = math.prod(shape) * dtype.itemsize
    _check(shape, dtype, expected, source, role)  # all but the length, known only at the end
    if offset + expected <= len(head):
        return load_npy_bytes(head, source, role)
    start = _file_position(stream, len(head))
    if start is not None:  # standard input is a file (``< big.npy``): map it where it is
        return _map_in_place(stream, start + offset, shape, fortran, dtype, source, role)
    directory = spool_directory()

    def fail(err: OSError) -> InputError:
        return InputError(
            f"{source}: cannot write a temporary file in {directory!r} "
            f"({os_reason(err)}); {_ADVICE}"
        )

    with _open_spool(directory, expected, source) as spool:
        copied = _copy(memoryview(head)[offset : offset + expected], stream, spool, expected, fail)
        _check(shape, dtype, copied, source, role)  # a short stream: "truncated file"
        try:
            spool.flush()
            array = np.memmap(
                spool, dtype=dtype, mode="r", shape=tuple(shape), order="F" if fortran else "C"
            )
        except OSError as err:
            raise fail(err) from None
        except (ValueError, TypeError) as err:
            raise InputError(f"{source}: damaged .npy file ({_one_line(err)})") from None
    return _finish(array, source)


def _pick(names: list, role: str, source: str) -> tuple:
    """Choose the main array and the targets array of an archive from its member names."""
    found = ", ".join(repr(name) for name in names) or "none"
    if "targets" in names and "labels" in names:
        raise InputError(f"{source}: both 'targets' and 'labels' arrays are given; keep one")
    target = "targets" if "targets" in names else "labels" if "labels" in names else None
    wanted = "logits" if role == "logits" else target
    if wanted is None or wanted not in names:
        if len(names) == 1:
            return names[0], None
        expected = "'logits'" if role == "logits" else "'targets' or 'labels'"
        raise InputError(
            f"{source}: no array named {expected} (arrays found: {found}); expected 'logits' "
            "and optionally 'targets' or 'labels', or a single array"
        )
    return wanted, (target if role == "logits" else None)


def _check_member(info: zipfile.ZipInfo, where: str) -> None:
    """Refuse a member whose declared size is absurd, before decompressing a byte of it."""
    size, packed = info.file_size, max(info.compress_size, 1)
    show = _memory.human_size
    if size > 1 << 20 and size / packed > MAX_RATIO:
        raise InputError(
            f"{where}: declares {show(size)} compressed into {show(packed)} "
            f"({size // packed}:1, more than np.savez ever writes); refusing a likely zip bomb"
        )
    available = _memory.available_memory()
    if available is not None and size > available:
        raise InputError(
            f"{where}: unpacks to {show(size)}, more than the {show(available)} of memory "
            "available; save the arrays as .npy files, which xent memory-maps"
        )


def load_npz(file: str | BinaryIO, source: str, role: str) -> Parsed:
    """Read the ``logits`` (or single) array of an ``.npz``, with ``targets``/``labels`` and
    ``classes`` when present. ``file`` is a path or a binary stream.

    Each member's declared size is checked (against the memory available, and for a
    compression ratio no ``np.savez`` writes) before it is decompressed.
    """
    import zipfile

    try:
        with zipfile.ZipFile(file) as archive:
            names_in = archive.namelist()
            members = {n[: -len(".npy")]: n for n in names_in if n.endswith(".npy")}
            if not members and any(n.endswith("data.pkl") for n in names_in):
                raise InputError(
                    f"{source}: a PyTorch file (torch.save), refused: it would need "
                    "unpickling; save the tensor with np.save(path, tensor.numpy())"
                )
            if not members:
                raise InputError(f"{source}: no arrays in the .npz archive")

            def member(key: str, member_role: str) -> np.ndarray:
                where = f"{source}, member {key!r}"
                info = archive.getinfo(members[key])
                _check_member(info, where)
                with archive.open(info) as fp:
                    data = fp.read(info.file_size + 1)
                return load_npy_bytes(data, where, member_role)

            main, target = _pick(list(members), role, source)
            array = member(main, role)
            targets = member(target, "targets") if target else None
            names = None
            if "classes" in members and main != "classes":
                values = member("classes", "targets")
                if values.ndim != 1:
                    raise InputError(
                        f"{source}, member 'classes': shape {values.shape}, expected a 1-D list"
                    )
                names = tuple(class_name(v) for v in values.tolist())
    except InputError:
        raise
    except _zip_errors() as err:
        raise InputError(f"{source}: damaged .npz archive ({_one_line(err)})") from None
    return Parsed(array, targets, names)
