"""Per-sample vectors that leave RAM when they are big: memory-mapped temporary files.

A few vectors hold one value per sample (the losses, the targets as int64, which samples
count): at C = 10 the float64 losses are 0.8x the size of the float32 logits. When the data
they come from is on disk (:func:`on_disk`) and they pass ``spill_bytes``, :func:`empty`
makes them in a nameless temporary file, its space reserved first (a full disk is one error
line, never a SIGBUS), and maps it: anonymous memory stays bounded whatever the number of
samples, and nothing is left behind, even after ``kill -9``. Arrays in memory keep theirs in
memory: a library call on them never touches the disk.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import InputError, human_size, os_reason
from ..limits import current
from ..system import free_bytes, reserve_space, temp_directory

_ADVICE = "set TMPDIR to a directory with room"


def on_disk(array: object) -> bool:
    """Whether ``array`` is (a view of) a memory map, data the user keeps on disk; for a
    tuple, whether any of its arrays is.

    >>> on_disk(np.zeros(3)), on_disk((np.zeros(3), None))
    (False, False)
    """
    if isinstance(array, tuple):
        return any(on_disk(item) for item in array)
    mm = sys.modules.get("mmap")  # start-up: not imported here; no map exists before it is
    maps = (np.memmap,) if mm is None else (np.memmap, mm.mmap)
    base = array
    while base is not None:
        if isinstance(base, maps):
            return True
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return False


def empty(
    n: int, dtype: np.typing.DTypeLike, what: str = "per-sample values", *, spill: bool = True
) -> np.ndarray:
    """An uninitialised vector of ``n`` values: ``np.empty``, or with ``spill`` and past
    ``spill_bytes`` a memory map of a nameless temporary file in ``$TMPDIR``; ``what`` names
    it in the :class:`InputError` when the file cannot be made or the disk is too full.

    >>> empty(3, np.float64).shape
    (3,)
    """
    dt = np.dtype(dtype)
    size = int(n) * dt.itemsize
    if size <= current().spill_bytes or not spill:
        return np.empty(int(n), dt)
    import tempfile  # 5 ms of start-up that small inputs never need

    directory = temp_directory()
    where = f"{what} ({human_size(size)}) go to a temporary file in {directory!r}"
    try:
        room = free_bytes(directory)
        if room is not None and room < size:
            raise InputError(f"{where}, which has only {human_size(room)} free; {_ADVICE}")
        with tempfile.TemporaryFile(prefix="xent-spill-", dir=directory) as fp:
            if not reserve_space(fp.fileno(), size):
                os.ftruncate(fp.fileno(), size)  # pragma: no cover - no fallocate there
            return np.memmap(fp, dtype=dt, mode="r+", shape=(int(n),))
    except OSError as err:
        reason = os_reason(err)
        reason = reason[:1].lower() + reason[1:]
        raise InputError(f"{where}, which cannot be made there: {reason}; {_ADVICE}") from None


def empty_like(n: int, dtype: np.typing.DTypeLike, what: str, like: object) -> np.ndarray:
    """:func:`empty`, on disk when ``like`` (the data it is made from: an array or a tuple
    of them) is: the :class:`~xent_cli.core.Empty` for data that may be memory-mapped.

    >>> type(empty_like(3, np.int64, "labels", np.zeros(3))).__name__
    'ndarray'
    """
    return empty(n, dtype, what, spill=on_disk(like))
