"""How much memory an in-memory input would take, checked before it is taken.

Private helper of the readers. Text, JSON, ``.npz`` members and anything but a ``.npy`` read
from a pipe are held in memory (a ``.npy`` file is memory-mapped, and a big ``.npy`` from a pipe
is copied to a temporary file that is); an input bigger than the memory
left would get the process killed by the kernel, with no message. So the readers estimate what
a parse needs and compare it with :func:`available_memory` first, and say so when it does not
fit. The estimates are deliberately on the high side (they were measured with ``tracemalloc``
on the parsers: about 80 bytes per text cell and 300 more per row, 60 per JSON value).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import BinaryIO

from ._errors import InputError

__all__ = [
    "available_memory",
    "check_memory",
    "human_size",
    "json_need",
    "read_bounded",
    "text_need",
]

#: Bytes read from a pipe or device at a time.
CHUNK = 1 << 22
_TEXT_PER_CELL = 80
_TEXT_PER_ROW = 320
_JSON_PER_VALUE = 60
_ADVICE = "save it as .npy, which xent memory-maps and reads in blocks"


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", "rb") as fp:
            for line in fp:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as fp:
            return int(fp.read().strip())
    except (OSError, ValueError):
        return None  # absent, or "max"


def _cgroup_available() -> int | None:
    """The room left under a cgroup v2 memory limit (containers), if there is one."""
    limit = _read_int("/sys/fs/cgroup/memory.max")
    used = _read_int("/sys/fs/cgroup/memory.current")
    if limit is None or used is None:
        return None
    return max(limit - used, 0)


def _address_space_available() -> int | None:
    """The room left under ``ulimit -v`` (RLIMIT_AS), if one is set."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", "rb") as fp:
            size = int(fp.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError, AttributeError):
        return None
    return max(limit - size, 0)


def available_memory() -> int | None:
    """Bytes this process can still allocate, or None where that cannot be told.

    The smallest of ``MemAvailable`` (``/proc/meminfo``, else ``SC_AVPHYS_PAGES`` × page
    size), the room under a cgroup v2 limit, and the room under ``ulimit -v``.

    >>> isinstance(available_memory(), (int, type(None)))
    True
    """
    known = [
        value
        for value in (_meminfo_available(), _cgroup_available(), _address_space_available())
        if value is not None
    ]
    return min(known) if known else None


def human_size(count: int) -> str:
    """A byte count for people: ``1.5 GB`` (powers of 1000, as disks and ``ls -h --si``).

    >>> human_size(999), human_size(1_500_000), human_size(16 * 10**9)
    ('999 bytes', '1.5 MB', '16.0 GB')
    """
    if count < 1000:
        return f"{count} bytes"
    size = float(count)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        size /= 1000
        if size < 1000 or unit == "PB":
            break
    return f"{size:.1f} {unit}"


def check_memory(needed: int, source: str, what: str) -> None:
    """Raise :class:`InputError` when ``needed`` bytes exceed the memory available.

    ``what`` says what the memory is for ("reading this CSV text").

    >>> check_memory(1, "x.csv", "reading this CSV text")  # a byte always fits
    """
    available = available_memory()
    if available is not None and needed > available:
        raise InputError(
            f"{source}: {what} needs about {human_size(needed)} of memory, but only "
            f"{human_size(available)} is available; {_ADVICE}"
        )


def text_need(data: bytes) -> int:
    """Estimated peak bytes to parse ``data`` as delimited text (beyond ``data`` itself).

    >>> text_need(b"1,2\\n3,4\\n") > 0
    True
    """
    if len(data) > 4 * _SAMPLE:
        # Counting every byte six times cost a third of a fast parse: scale the densest of
        # a few samples instead (an estimate, and a generous one).
        step = (len(data) - _SAMPLE) // 7
        parts = [data[i : i + _SAMPLE] for i in range(0, 8 * step, step)]
        rows, cells = max((_counts(part) for part in parts), key=lambda rc: rc[0] + rc[1])
        scale = len(data) / _SAMPLE
        rows, cells = int(rows * scale) + 1, int(cells * scale) + 1
    else:
        rows, cells = _counts(data)
    return 2 * len(data) + _TEXT_PER_CELL * cells + _TEXT_PER_ROW * rows


_SAMPLE = 1 << 18  # bytes per sample of a big text


def _counts(data: bytes) -> tuple[int, int]:
    """Rows and cells of delimited text, counted generously (every separator splits)."""
    rows = data.count(b"\n") + data.count(b"\r") + 1
    return rows, rows + sum(data.count(sep) for sep in (b",", b";", b"\t", b" "))


def json_need(data: bytes) -> int:
    """Estimated peak bytes to parse ``data`` as JSON (beyond ``data`` itself).

    >>> json_need(b"[[1, 2], [3, 4]]") > 0
    True
    """
    values = data.count(b",") + data.count(b"[") + 1
    return 2 * len(data) + _JSON_PER_VALUE * values


def read_bounded(
    stream: BinaryIO,
    source: str,
    size_hint: int | None = None,
    first: Callable[[bytes], None] | None = None,
    head: bytes = b"",
) -> bytes:
    """Read a whole stream (a pipe, a device, a file) without outgrowing the memory left.

    ``size_hint`` (a regular file's size) is checked before anything is read; a stream of
    unknown size is read in chunks and refused as soon as holding it (twice, while the chunks
    are joined) would not fit. ``first`` sees the first chunk of such a stream and may refuse
    it at once (``/dev/urandom`` is not read to the end of the memory to learn it is not text).
    ``head`` is what the caller has already read of the stream: it comes first in the result
    and counts towards the memory held (``first`` then sees the next chunk only).
    """
    if size_hint is not None:
        check_memory(2 * (size_hint + len(head)), source, "reading this input")
        return head + stream.read()
    chunks: list[bytes] = [head] if head else []
    total = len(head)
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if isinstance(chunk, str):  # a text stream handed in by a caller
            chunk = chunk.encode("utf-8", "surrogateescape")
        if first is not None and total == len(head):
            first(chunk)
        chunks.append(chunk)
        total += len(chunk)
        available = available_memory()
        if available is not None and 2 * total > available:
            raise InputError(
                f"{source}: the input is larger than the memory available "
                f"({human_size(available)}; read {human_size(total)} so far); {_ADVICE}"
            )
    return b"".join(chunks)
