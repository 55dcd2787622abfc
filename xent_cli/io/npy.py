"""``.npy`` and ``.npz`` input -> numpy arrays, never unpickling anything. A ``.npy`` file is
memory-mapped; one from a pipe or an ``.npz`` is read from bytes (a big one from standard
input is :mod:`.npy_stream`'s, with the header checks here).
"""

from __future__ import annotations

import io
import math
import os
import warnings
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from .. import system
from ..errors import InputError, human_size
from .json import class_name
from .text import Parsed

if TYPE_CHECKING:
    import zipfile


NPY_MAGIC = b"\x93NUMPY"
NPZ_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip
#: Deflate cannot compress better than about 1032:1, and ``np.savez`` writes nothing else: a
#: member that claims more is a lie or a zip bomb (sparse one-hot arrays reach about 750:1).
MAX_RATIO = 1100


def _zip_errors() -> tuple[type[BaseException], ...]:
    """What a damaged ``.npz`` can raise (zipfile and its codecs load only for an ``.npz``)."""
    import zipfile  # start-up: only an .npz needs these
    import zlib

    try:
        import lzma  # start-up: only an .npz needs it

        lzma_error: type[BaseException] = lzma.LZMAError
    except ImportError:  # pragma: no cover - a Python built without lzma
        lzma_error = zlib.error  # a stand-in already in the tuple
    return (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        lzma_error,
        OSError,
        EOFError,
        ValueError,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # an unsupported compression method
    )


def one_line(err: BaseException) -> str:
    """An exception's text on one line, cut at 120 characters."""
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
    return one_line(err)


Header = tuple[tuple[int, ...], bool, np.dtype, int]  # shape, Fortran order, dtype, offset


def read_header(fp: BinaryIO, source: str) -> Header:
    """Read the magic and header of a .npy stream: ``(shape, fortran_order, dtype, offset)``."""
    import tokenize  # start-up: for its error only, 3 ms that a literal does not need

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


def check_array(
    shape: tuple[int, ...], dtype: np.dtype, available: int, source: str, role: str
) -> None:
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


def finish(array: np.ndarray, source: str) -> np.ndarray:
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
    shape, fortran, dtype, offset = read_header(io.BytesIO(data), source)
    check_array(shape, dtype, len(data) - offset, source, role)
    try:
        flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=offset)
        array = flat.reshape(shape, order="F" if fortran else "C")
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: damaged .npy file ({one_line(err)})") from None
    return finish(array, source)


def load_npy_path(path: str, source: str, role: str) -> np.ndarray:
    """Memory-map a ``.npy`` file (``mmap_mode="r"``, ``allow_pickle=False``).

    The result is a read-only :class:`numpy.memmap` in the file's own dtype."""
    try:
        with open(path, "rb") as fp:
            shape, _, dtype, offset = read_header(fp, source)
            size = os.fstat(fp.fileno()).st_size
        check_array(shape, dtype, size - offset, source, role)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "created on Python 2", as in read_header
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except InputError:
        raise
    except OSError as err:
        raise InputError(f"{source}: cannot read the file ({err.strerror or err})") from None
    except (ValueError, TypeError, EOFError) as err:
        raise InputError(f"{source}: damaged .npy file ({one_line(err)})") from None
    return finish(array, source)


def _pick(names: list[str], role: str, source: str) -> tuple[str, str | None]:
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
    show = human_size
    if size > 1 << 20 and size / packed > MAX_RATIO:
        raise InputError(
            f"{where}: declares {show(size)} compressed into {show(packed)} "
            f"({size // packed}:1, more than np.savez ever writes); refusing a likely zip bomb"
        )
    available = system.available_memory()
    if available is not None and size > available:
        raise InputError(
            f"{where}: unpacks to {show(size)}, more than the {show(available)} of memory "
            "available; save the arrays as .npy files, which xent memory-maps"
        )


def load_npz(file: str | BinaryIO, source: str, role: str) -> Parsed:
    """Read the ``logits`` (or single) array of an ``.npz``, with ``targets``/``labels`` and
    ``classes`` when present. ``file`` is a path or a binary stream.

    Each member's declared size is checked (against the memory available, and for a
    compression ratio no ``np.savez`` writes) before it is decompressed."""
    import zipfile  # start-up: only an .npz needs it

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
        raise InputError(f"{source}: damaged .npz archive ({one_line(err)})") from None
    return Parsed(array, targets, names)
