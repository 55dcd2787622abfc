"""Will a parse fit in memory? Estimates, checked before the memory is taken.

Text, JSON and ``.npz`` members are held in memory; one bigger than the memory left would
get the process killed with no message. So the readers estimate what a parse needs (on the
high side, measured with ``tracemalloc``: 80 bytes per text cell and 320 per row, 60 per JSON
value) and compare it with ``system.available_memory()`` first (looked up at each call).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from .. import system
from ..errors import InputError, human_size
from ..limits import current

_TEXT_PER_CELL = 80
_TEXT_PER_ROW = 320
_JSON_PER_VALUE = 60
_ADVICE = "save it as .npy, which xent memory-maps and reads in blocks"
_SAMPLE = 1 << 18  # bytes per sample of a big text


def check_memory(needed: int, source: str, what: str) -> None:
    """Raise :class:`InputError` when ``needed`` bytes exceed the memory available.

    ``what`` says what the memory is for ("reading this CSV text").

    >>> check_memory(1, "x.csv", "reading this CSV text")  # a byte always fits
    """
    available = system.available_memory()
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
    unknown size is read ``read_chunk`` at a time and refused once holding it twice would not
    fit. ``first`` sees the first chunk and may refuse it (``/dev/urandom`` is not text);
    ``head``, already read by the caller, comes first and counts towards the memory held."""
    if size_hint is not None:
        check_memory(2 * (size_hint + len(head)), source, "reading this input")
        return head + stream.read()
    chunks: list[bytes] = [head] if head else []
    total = len(head)
    while True:
        chunk: bytes | str = stream.read(current().read_chunk)
        if not chunk:
            break
        if isinstance(chunk, str):  # a text stream handed in by a caller
            chunk = chunk.encode("utf-8", "surrogateescape")
        if first is not None and total == len(head):
            first(chunk)
        chunks.append(chunk)
        total += len(chunk)
        available = system.available_memory()
        if available is not None and 2 * total > available:
            raise InputError(
                f"{source}: the input is larger than the memory available "
                f"({human_size(available)}; read {human_size(total)} so far); {_ADVICE}"
            )
    return b"".join(chunks)
