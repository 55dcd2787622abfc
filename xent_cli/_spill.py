"""Per-sample vectors that leave RAM when they are big: memory-mapped temporary files.

The blocked passes keep the logits on disk, but a few vectors hold one value per sample
(the losses, the targets as int64, which samples count). Below 64 classes those are not
small: at C = 10 the float64 losses are 0.8x the size of the float32 logits. When the data
they come from is itself on disk (a memory-mapped ``.npy``: :func:`on_disk`) and they pass
:data:`SPILL_BYTES`, :func:`empty` makes them in a nameless temporary file in ``$TMPDIR``
(:func:`xent_cli._npy_stream.spool_directory`) and maps it, so anonymous memory stays
bounded whatever the number of samples: the pages are file-backed, and the kernel can
write them out and drop them under memory pressure. The disk space is checked and
reserved first (a full disk is one error line, never a SIGBUS); the file has no name from
the start, so nothing is left behind, even after ``kill -9``. Arrays held in memory keep
their per-sample vectors in memory too (smaller than they are): a library call on them
never touches the disk.

NumPy and the standard library only.
"""

from __future__ import annotations

import errno
import mmap
import os

import numpy as np
import numpy.typing as npt

from ._errors import InputError, os_reason

__all__ = ["SPILL_BYTES", "empty", "free_bytes", "on_disk", "reserve_space"]

#: Vectors up to this size stay in memory (1M float64 values).
SPILL_BYTES = 8 << 20

_ADVICE = "set TMPDIR to a directory with room"


def on_disk(array: object) -> bool:
    """Whether ``array`` is (a view of) a memory map: data the user keeps on disk.

    >>> on_disk(np.zeros(3))
    False
    """
    base = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return False


def empty(
    n: int, dtype: npt.DTypeLike, what: str = "per-sample values", *, spill: bool = True
) -> np.ndarray:
    """An uninitialised vector of ``n`` values: ``np.empty``, or with ``spill`` (callers
    pass :func:`on_disk` of the data it is made from) and past :data:`SPILL_BYTES` a
    ``np.memmap`` of a nameless temporary file in ``$TMPDIR``, its space reserved.

    ``what`` names the vector in the error raised (:class:`InputError`) when the file
    cannot be made or the disk is too full to hold it.

    >>> empty(3, np.float64).shape
    (3,)
    """
    dt = np.dtype(dtype)
    size = int(n) * dt.itemsize
    if size <= SPILL_BYTES or not spill:
        return np.empty(int(n), dt)
    import tempfile  # lazily: 5 ms of start-up that small inputs never need

    from ._npy_stream import spool_directory

    directory = spool_directory()
    where = f"{what} ({_human(size)}) go to a temporary file in {directory!r}"
    try:
        room = free_bytes(directory)
        if room is not None and room < size:
            raise InputError(f"{where}, which has only {_human(room)} free; {_ADVICE}")
        with tempfile.TemporaryFile(prefix="xent-spill-", dir=directory) as fp:
            if not reserve_space(fp.fileno(), size):
                os.ftruncate(fp.fileno(), size)  # pragma: no cover - no fallocate there
            return np.memmap(fp, dtype=dt, mode="r+", shape=(int(n),))
    except OSError as err:
        reason = os_reason(err)
        reason = reason[:1].lower() + reason[1:]
        raise InputError(f"{where}, which cannot be made there: {reason}; {_ADVICE}") from None


def free_bytes(directory: str) -> int | None:
    """Bytes free to this user in ``directory``'s file system, or None when unknown (not
    POSIX, or no such directory: whoever makes a file there reports that)."""
    try:
        stats = os.statvfs(directory)
    except (OSError, AttributeError):  # a missing directory fails below, with its reason
        return None
    return stats.f_bavail * stats.f_frsize


def reserve_space(fd: int, size: int) -> bool:
    """Allocate the first ``size`` bytes of file ``fd`` on disk (``posix_fallocate``, which
    also extends the file), so that writing through a memory map of it never meets a full
    disk (SIGBUS): False where that cannot be done (no such call, or a file system without
    it), an ``OSError`` (``ENOSPC``: the disk is full) when it fails."""
    reserve = getattr(os, "posix_fallocate", None)
    if reserve is None:  # pragma: no cover - not on Linux
        return False
    try:
        reserve(fd, 0, size)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return False
        raise
    return True


def _human(size: int) -> str:
    """``size`` bytes for people (``_memory.human_size``, imported when needed)."""
    from ._memory import human_size

    return human_size(size)
