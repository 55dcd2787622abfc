"""Facts about the machine: memory left, cores, temporary space, reserving disk blocks.

Nothing here decides anything. The standard library only.
"""

from __future__ import annotations

import errno
import os

from .errors import UsageError


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
        import resource  # POSIX only

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


def available_threads(threads: int | None = None) -> int:
    """``threads``, or every core this process may run on.

    >>> available_threads(3), available_threads() >= 1
    (3, True)
    """
    if threads is not None:
        if int(threads) < 1:
            raise UsageError(f"threads must be at least 1, got {threads}")
        return int(threads)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def temp_directory() -> str:
    """Where big temporary files go: ``$TMPDIR`` (then ``$TEMP``, ``$TMP``) when set, else
    :func:`tempfile.gettempdir`.

    A directory named in the environment is used as it is, never silently replaced (``/tmp``
    may be a small ``tmpfs``, which is memory)."""
    for name in ("TMPDIR", "TEMP", "TMP"):
        value = os.environ.get(name)
        if value:
            return value
    import tempfile  # 5 ms of start-up that most commands never need

    return tempfile.gettempdir()


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
