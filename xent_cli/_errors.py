"""The one exception type for bad input data, shared by the readers and the writers."""

from __future__ import annotations

__all__ = ["InputError", "os_reason", "plural"]


class InputError(ValueError):
    """Bad input data.

    ``str(err)`` is one line: it names the source (file path, ``'<stdin>'`` or ``'literal'``),
    the place (row and column, a JSON path such as ``$.logits[2][1]``, or an ``.npz`` member),
    what was found and what was expected.

    >>> str(InputError("logits.csv, row 3, column 2: 'abc' is not a number"))
    "logits.csv, row 3, column 2: 'abc' is not a number"
    """


def plural(count: int, word: str) -> str:
    """Return ``"1 value"`` / ``"3 values"``: a count with its noun.

    >>> plural(1, "value"), plural(3, "value")
    ('1 value', '3 values')
    """
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def os_reason(err: OSError) -> str:
    """Why an operating-system call failed, for a one-line message.

    >>> os_reason(PermissionError(13, "Permission denied")), os_reason(OSError(28, "No space"))
    ('permission denied', 'No space')
    """
    if isinstance(err, PermissionError):
        return "permission denied"
    return err.strerror or str(err)
