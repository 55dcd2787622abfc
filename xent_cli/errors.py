"""The errors xent raises, and the few helpers that word their messages.

Library code raises a :class:`XentError` subclass for anything the user can fix; only
:mod:`xent_cli.cli` maps them to exit codes. Any other exception is a bug (exit 70).
``XentError`` is a ``ValueError``, so callers that catch ``ValueError`` keep working.
"""

from __future__ import annotations


class XentError(ValueError):
    """A problem xent reports in one line."""


class InputError(XentError):
    """Bad input data (exit 1); the message names the source, the place, what was found and
    what was expected.

    >>> str(InputError("logits.csv, row 3, column 2: 'abc' is not a number"))
    "logits.csv, row 3, column 2: 'abc' is not a number"
    """


class UsageError(XentError):
    """A problem with how xent was called, not with the data (exit 2)."""


class OutputError(XentError):
    """A result that cannot be written: ``-o``, ``--export`` or a temporary file (exit 1)."""


class StrictError(XentError):
    """A warning, made an error by ``--strict`` (exit 1)."""


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
