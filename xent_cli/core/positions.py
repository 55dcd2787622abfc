"""Where a sample is: its index in the batch shape, and how that index is written.

One sample of an input ``(N, C, d1, ..., dk)`` (classes on axis 1) is one of the
``N × d1 × … × dk`` positions of its batch shape, numbered in C order. Messages, tables and
JSON all name it through :func:`position` and :func:`position_label`.
"""

from __future__ import annotations

import numpy as np


def position(flat: int, batch_shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """Sample ``flat``'s index in ``batch_shape``: an int when there is at most one batch
    axis, else a tuple of coordinates.

    >>> position(5, (7,)), position(5, (2, 3)), position(0, ())
    (5, (1, 2), 0)
    """
    if len(batch_shape) <= 1:
        return int(flat)
    return tuple(int(c) for c in np.unravel_index(int(flat), batch_shape))


def position_label(pos: int | tuple[int, ...] | list[int], sep: str = ", ") -> str:
    """A position as written: ``3``, or ``(0, 2, 1)`` (``sep`` between the coordinates).

    >>> position_label(3), position_label((0, 2)), position_label([0, 2, 1], sep=",")
    ('3', '(0, 2)', '(0,2,1)')
    """
    if isinstance(pos, (tuple, list)):
        return "(" + sep.join(str(int(c)) for c in pos) + ")"
    return str(int(pos))
