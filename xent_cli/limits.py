"""Every size threshold, in one object: what is big, how big a block is, when to go to disk.

Code reads :func:`current` when it needs a figure, so a test reaches any path with small
data by overriding it for a while (:func:`override`). Only :mod:`xent_cli.api` turns
``blocked_bytes`` into the choice between the in-memory core and the blocked engine.

>>> current().blocked_bytes == 4 << 20
True
>>> with override(blocked_bytes=0):
...     current().blocked_bytes
0
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple


class Limits(NamedTuple):
    """The thresholds, in bytes unless said otherwise."""

    #: An input array larger than this is computed by the blocked engine (bounded memory, every
    #: core), and a result array larger than this is computed into a memory map; a ``.npy`` read
    #: from a pipe larger than this is copied to a temporary file and memory-mapped.
    blocked_bytes: int = 4 << 20
    #: About this much input (in the compute precision) per block of the engine (fits in L2).
    block_bytes: int = 1 << 20
    #: Below this many classes, the engine's blocks are transposed to (classes, samples).
    col_classes: int = 64
    #: Rows per block of the analyses (insight, usual mistakes), counted as float64.
    rows_bytes: int = 2 << 20
    #: A vector of one value per sample, made from data on disk, goes to a temporary file
    #: (memory-mapped) past this size.
    spill_bytes: int = 8 << 20
    #: Values of a one-per-sample vector checked at a time (no full-size temporary).
    vector_part: int = 1 << 20
    #: Samples summed at a time for the mean's divisor (their partial sums added exactly).
    sum_part: int = 1 << 18
    #: Losses placed into the histogram's bins at a time.
    hist_chunk: int = 1 << 16
    #: Text at least this large is parsed whole (NumPy, or polars), not cell by cell.
    text_bulk_bytes: int = 1 << 16
    #: Text at least this large goes to polars (``fast`` extra): its import is paid back.
    text_fast_bytes: int = 10_000_000
    #: JSON at least this large goes to pysimdjson (``fast`` extra).
    json_fast_bytes: int = 1 << 20
    #: Bytes read from a pipe or device at a time.
    read_chunk: int = 1 << 22
    #: About how many values the text and JSON writers turn into text at a time (a count).
    write_values: int = 1 << 14


_current = Limits()


def current() -> Limits:
    """The thresholds in force."""
    return _current


@contextmanager
def override(**changes: int) -> Iterator[Limits]:
    """Change some thresholds for the ``with`` body (tests), then restore them."""
    global _current
    saved = _current
    _current = saved._replace(**changes)
    try:
        yield _current
    finally:
        _current = saved
