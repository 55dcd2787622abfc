"""A big ``.npy`` on standard input is read in bounded memory (issue 3).

``xent compute - y.npy < x.npy`` memory-maps the file standard input reads; ``cat x.npy | xent
compute - y.npy`` copies the pipe, 1 MiB at a time, to a nameless temporary file in ``$TMPDIR``
and memory-maps that. Either way the result is the file path's, exactly, the header is checked
before a byte of data is read, errors are one line naming ``<stdin>`` (and the temporary
directory), and no temporary file is left behind, whatever happens. Small inputs (up to
``blocked_bytes``, the size the engine computes block-wise) keep the in-memory path.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from xent_cli import system
from xent_cli.api import blocked
from xent_cli.errors import InputError
from xent_cli.io.sources import load
from xent_cli.limits import Limits, current

LINUX = sys.platform.startswith("linux")
XENT = [sys.executable, "-m", "xent_cli"]
MB = 1 << 20
#: A ``.npy`` from a pipe longer than this is spooled: the engine's ``blocked_bytes``.
SPOOL_BYTES = current().blocked_bytes


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    """A version 1.0 ``.npy`` header, written by hand (any shape, however absurd)."""
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    text += " " * (63 - (len(text) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def error(data: bytes | BinaryIO, **kwargs: object) -> str:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    with pytest.raises(InputError) as info:
        load("-", stdin=stream, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$TMPDIR`` for the test: an empty directory, which must stay empty."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory


# --- in process --------------------------------------------------------------------------


@pytest.mark.parametrize("blocked_bytes", [None, 1 << 16])
def test_the_threshold_is_the_blocked_path_size(
    blocked_bytes: int | None, limits: Callable[..., Limits], spool_dir: Path
) -> None:
    """One figure: a ``.npy`` stream is spooled and mapped when it is bigger than
    ``blocked_bytes``, the size where the engine's path starts. The reader looks at the first
    ``blocked_bytes + 1`` bytes to know: a stream that ends there is already in memory and is
    parsed there (as before the refactor), so the first mapped stream is two bytes longer."""
    if blocked_bytes is not None:
        limits(blocked_bytes=blocked_bytes)
    size = current().blocked_bytes
    assert size == (SPOOL_BYTES if blocked_bytes is None else blocked_bytes)
    for extra, mapped in ((0, False), (1, False), (2, True)):
        array = (np.arange(size - 128 + extra) % 101).astype(np.int8)
        data = npy_bytes(array)
        assert len(data) == size + extra
        loaded = load("-", stdin=io.BytesIO(data))
        assert isinstance(loaded.array, np.memmap) is mapped, (size, extra)
        assert np.array_equal(loaded.array, array)
    assert not blocked(np.zeros(size, np.uint8)) and blocked(np.zeros(size + 1, np.uint8))
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize(
    "dtype,shape,fortran",
    [
        ("<f4", (300_000, 5), False),
        ("<f2", (3_000_001,), False),
        (">f8", (7, 11, 9_001), False),
        ("<f8", (70_001, 9), True),
        ("<i8", (600_000, 1), False),
    ],
)
def test_big_npy_from_a_pipe_is_a_read_only_map_of_a_nameless_file(
    dtype: str, shape: tuple[int, ...], fortran: bool, spool_dir: Path
) -> None:
    array = (np.random.default_rng(0).normal(size=shape) * 100).astype(dtype)
    if fortran:
        array = np.asfortranarray(array)
    data = npy_bytes(array)
    assert len(data) > SPOOL_BYTES + 1
    loaded = load("-", stdin=io.BytesIO(data))
    assert isinstance(loaded.array, np.memmap) and not loaded.array.flags.writeable
    assert loaded.array.dtype == np.dtype(dtype) and loaded.array.shape == shape
    assert np.array_equal(loaded.array, array) and loaded.source == "<stdin>"
    assert loaded.array.flags.f_contiguous if fortran else loaded.array.flags.c_contiguous
    assert list(spool_dir.iterdir()) == []  # mapped, and already without a name


def test_same_array_as_the_file_path(tmp_path: Path, spool_dir: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(1).standard_normal((40_000, 33), dtype=np.float32))
    from_file = load(str(path)).array
    from_pipe = load("-", stdin=io.BytesIO(path.read_bytes())).array
    assert from_pipe.dtype == from_file.dtype and np.array_equal(from_pipe, from_file)


def test_small_npy_keeps_the_in_memory_path(spool_dir: Path) -> None:
    data = npy_bytes(np.arange(SPOOL_BYTES // 8 - 100, dtype=np.float64))
    assert len(data) <= SPOOL_BYTES
    loaded = load("-", stdin=io.BytesIO(data))
    assert not isinstance(loaded.array, np.memmap) and loaded.array[-1] == SPOOL_BYTES // 8 - 101


def test_bytes_after_the_data_are_not_read(spool_dir: Path) -> None:
    data = npy_bytes(np.ones(SPOOL_BYTES // 4, dtype=np.float32))
    stream = io.BytesIO(data + b"more bytes, never read")
    assert load("-", stdin=stream).array.shape == (SPOOL_BYTES // 4,)
    assert stream.tell() == len(data)


def test_truncated_stream_is_reported_as_for_a_file(tmp_path: Path, spool_dir: Path) -> None:
    data = npy_bytes(np.zeros((2_000, 1_000), dtype=np.float32))
    short = data[:-12_345]
    (tmp_path / "x.npy").write_bytes(short)
    message = "truncated file (the header promises 8000000 bytes of data, found 7987655)"
    with pytest.raises(InputError) as info:
        load(str(tmp_path / "x.npy"))
    assert str(info.value) == f"{tmp_path / 'x.npy'}: {message}"
    assert error(short) == f"<stdin>: {message}"
    assert list(spool_dir.iterdir()) == []


def test_absurd_shape_allocates_nothing_and_reads_no_further(spool_dir: Path) -> None:
    """1e18 floats promised, 5 MB given: refused before the copy (no room for it), without
    reading on."""
    stream = io.BytesIO(header("<f8", (1_000_000_000, 1_000_000_000)) + bytes(5 * MB))
    message = error(stream)
    assert message.startswith("<stdin>: the .npy data (8000.0 PB) goes to a temporary file in ")
    assert repr(str(spool_dir)) in message and "set TMPDIR to a directory with room" in message
    assert stream.tell() <= SPOOL_BYTES + 1
    assert list(spool_dir.iterdir()) == []


@pytest.mark.parametrize(
    "head,message",
    [
        (
            header("|O", (2_000_000,)),
            "<stdin>: object arrays are refused (they would need unpickling)",
        ),
        (
            header("<c16", (2_000_000,)),
            "<stdin>: complex numbers are refused (expected real numbers)",
        ),
        (
            b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{",
            "<stdin>: damaged .npy header (longer than the 10000 bytes numpy reads safely)",
        ),
        (header("<f8", (-5,)), "<stdin>: damaged .npy header (shape (-5,))"),
        (b"\x93NUMPY\x09\x00" + bytes(20), "<stdin>: unsupported .npy format version 9.0"),
    ],
)
def test_bad_headers_of_big_streams(head: bytes, message: str, spool_dir: Path) -> None:
    stream = io.BytesIO(head + bytes(5 * MB))
    assert error(stream) == message
    assert stream.tell() <= SPOOL_BYTES + 1


def test_strings_as_targets_and_refused_as_logits(spool_dir: Path) -> None:
    names = np.array(["cat", "dog", "emu"] * 200_000)
    data = npy_bytes(names)
    assert load("-", role="targets", stdin=io.BytesIO(data)).array[-1] == "emu"
    assert error(data) == "<stdin>: an array of strings (<U3); expected numbers"


def test_missing_temporary_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    monkeypatch.setenv("TMPDIR", str(missing))
    message = error(npy_bytes(np.ones(SPOOL_BYTES, dtype=np.float32)))
    assert message == (
        f"<stdin>: cannot create a temporary file in {str(missing)!r} (No such file or "
        "directory); set TMPDIR to a directory with room, or give the .npy file by its path"
    )


def test_unwritable_temporary_directory_is_named(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod does not bind root (our CI runs as root): the OS's refusal is simulated instead.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    message = error(npy_bytes(np.ones(SPOOL_BYTES, dtype=np.float32)))
    assert message.startswith(
        f"<stdin>: cannot create a temporary file in {str(spool_dir)!r} (permission denied)"
    )


def test_disk_full_while_copying(spool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.TemporaryFile
    opened = []

    class Full(io.BufferedRandom):
        def write(self, data: object) -> int:
            if self.tell() > 2 * MB:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)  # type: ignore[arg-type]

    def temporary_file(**kwargs: object) -> io.BufferedRandom:
        raw = real(buffering=0, **kwargs)  # type: ignore[call-overload]
        opened.append(Full(raw))
        return opened[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    message = error(npy_bytes(np.ones(3 * SPOOL_BYTES, dtype=np.float32)))
    assert message == (
        f"<stdin>: cannot write a temporary file in {str(spool_dir)!r} (No space left on "
        "device); set TMPDIR to a directory with room, or give the .npy file by its path"
    )
    assert opened and opened[0].closed
    assert list(spool_dir.iterdir()) == []


def test_too_little_room_is_known_before_copying(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stats:
        f_bavail, f_frsize = 1_000, 4096

    monkeypatch.setattr(system.os, "statvfs", lambda path: Stats())
    stream = io.BytesIO(npy_bytes(np.ones(3 * SPOOL_BYTES, dtype=np.float32)))
    assert error(stream) == (
        f"<stdin>: the .npy data (50.3 MB) goes to a temporary file in {str(spool_dir)!r} to be "
        "read in blocks, but that file system has only 4.1 MB free; set TMPDIR to a directory "
        "with room, or give the .npy file by its path"
    )
    assert stream.tell() <= SPOOL_BYTES + 1


def test_a_stream_without_readinto(spool_dir: Path) -> None:
    array = np.arange(2 * SPOOL_BYTES // 8, dtype=np.float64)

    class Plain:
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self.inner.read(min(size, 12_345) if size > 0 else size)

    assert np.array_equal(load("-", stdin=Plain(npy_bytes(array))).array, array)  # type: ignore[arg-type]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_named_pipe_path_is_copied_too(tmp_path: Path, spool_dir: Path) -> None:
    """``xent compute <(zcat x.npy.gz) y.npy``: a path that is a pipe, read as standard input."""
    array = np.random.default_rng(4).standard_normal((20_000, 50))
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)

    def feed(data: bytes) -> None:
        with open(fifo, "wb") as fp:
            fp.write(data)

    for data, truncated in ((npy_bytes(array), False), (npy_bytes(array)[:-1], True)):
        writer = threading.Thread(target=feed, args=(data,))
        writer.start()
        try:
            if truncated:
                message = error_of(str(fifo))
            else:
                loaded = load(str(fifo))
        finally:
            writer.join()
        if truncated:
            assert message == (
                f"{fifo}: truncated file (the header promises 8000000 bytes of data, found 7999999)"
            )
        else:
            assert isinstance(loaded.array, np.memmap) and loaded.source == str(fifo)
            assert np.array_equal(loaded.array, array)
    assert list(spool_dir.iterdir()) == []


def error_of(spec: str) -> str:
    with pytest.raises(InputError) as info:
        load(spec)
    return str(info.value)


def test_stdin_from_a_file_is_mapped_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``< x.npy``: no copy (``$TMPDIR`` is not even looked at), from where the stream is."""
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    array = np.random.default_rng(2).standard_normal((50_000, 30))
    path = tmp_path / "x.npy"
    path.write_bytes(b"something before " + npy_bytes(array))
    with open(path, "rb") as fp:
        fp.read(len(b"something before "))
        loaded = load("-", stdin=fp)
    assert isinstance(loaded.array, np.memmap) and not loaded.array.flags.writeable
    assert loaded.array.filename == str(path) and np.array_equal(loaded.array, array)
    path.write_bytes(npy_bytes(array)[:-8])
    with open(path, "rb") as fp:
        message = error(fp)  # type: ignore[arg-type]
    assert (
        message
        == "<stdin>: truncated file (the header promises 12000000 bytes of data, found 11999992)"
    )


def test_big_text_and_npz_from_stdin_still_read_in_memory(spool_dir: Path) -> None:
    rows = b"0.5,1.5,2.5\n" * (SPOOL_BYTES // 12 + 1000)
    assert load("-", stdin=io.BytesIO(rows)).array.shape == (SPOOL_BYTES // 12 + 1000, 3)
    assert error(os.urandom(SPOOL_BYTES + 100)).startswith("<stdin>: binary data, not text")
    buffer = io.BytesIO()
    logits = np.random.default_rng(3).standard_normal((100_000, 10))
    np.savez(buffer, logits=logits, labels=np.arange(100_000) % 10)
    assert len(buffer.getvalue()) > SPOOL_BYTES
    loaded = load("-", stdin=io.BytesIO(buffer.getvalue()))
    assert np.array_equal(loaded.array, logits) and loaded.targets is not None
    assert error(rows, input_format="npy") == (
        "<stdin>: not a .npy file (it does not start with \\x93NUMPY)"
    )


# --- as a process ------------------------------------------------------------------------


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _anon_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_polled(
    args: list[str], cwd: Path, env: dict, feed: Path | None = None, stdin: object = None
) -> tuple[subprocess.CompletedProcess, float]:
    """Run xent (``feed`` piped into its standard input by a thread, 1 MiB at a time), polling
    its anonymous memory (RssAnon, as bench/_util.run_child): the result and the peak in MB."""
    p = subprocess.Popen(
        [*XENT, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE if feed else stdin,
        preexec_fn=_default_signals,
    )
    outputs: dict[str, bytes] = {}

    def pump() -> None:
        assert p.stdin is not None
        try:
            with open(feed, "rb") as fp:  # type: ignore[arg-type]
                while chunk := fp.read(MB):
                    p.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                p.stdin.close()

    def drain() -> None:
        assert p.stdout is not None and p.stderr is not None
        outputs["err"] = p.stderr.read()

    threads = [threading.Thread(target=drain)] + ([threading.Thread(target=pump)] if feed else [])
    for thread in threads:
        thread.start()
    peak = 0
    while p.poll() is None:
        peak = max(peak, _anon_kb(p.pid))
        time.sleep(0.002)
    out = p.stdout.read() if p.stdout else b""
    for thread in threads:
        thread.join()
    return subprocess.CompletedProcess(p.args, p.returncode, out, outputs["err"]), peak / 1024


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 MB float32 ``x.npy`` (160,000 × 100) and its labels ``y.npy``."""
    directory = tmp_path_factory.mktemp("big")
    n, c = 160_000, 100
    mm = np.lib.format.open_memmap(directory / "x.npy", "w+", np.float32, (n, c))
    mm[:] = np.random.default_rng(0).standard_normal((n, c), dtype=np.float32)
    mm.flush()
    del mm
    np.save(directory / "y.npy", np.random.default_rng(1).integers(0, c, n))
    return directory


def env_with(spool: Path) -> dict:
    return {**os.environ, "TMPDIR": str(spool), "OPENBLAS_NUM_THREADS": "1"}


@pytest.mark.skipif(not LINUX, reason="/proc/<pid>/status")
def test_big_npy_piped_in_gives_the_file_result_in_bounded_memory(
    big: Path, tmp_path: Path
) -> None:
    """64 MB piped in: the loss is the file path's, exactly; the peak anonymous memory is the
    file path's, give or take (the in-memory read took twice the data, 137 MB)."""
    env = env_with(tmp_path)
    by_path, path_peak = run_polled(["compute", "x.npy", "y.npy"], big, env)
    assert by_path.returncode == 0, by_path.stderr
    piped, pipe_peak = run_polled(["compute", "-", "y.npy"], big, env, feed=big / "x.npy")
    assert piped.returncode == 0, piped.stderr
    with open(big / "x.npy", "rb") as fp:
        redirected, redirect_peak = run_polled(["compute", "-", "y.npy"], big, env, stdin=fp)
    assert redirected.returncode == 0, redirected.stderr
    assert piped.stdout == redirected.stdout == by_path.stdout
    assert float(piped.stdout) > 0
    data_mb = (big / "x.npy").stat().st_size / MB
    for peak in (pipe_peak, redirect_peak):
        assert peak < path_peak + 16, (peak, path_peak)
        assert peak < data_mb / 2, (peak, data_mb)
    assert list(tmp_path.iterdir()) == []


def test_truncated_pipe_is_one_line(big: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.npy"
    short.write_bytes((big / "x.npy").read_bytes()[: 20 * MB])
    spool = tmp_path / "spool"
    spool.mkdir()
    r, _ = run_polled(["compute", "-", "y.npy"], big, env_with(spool), feed=short)
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "Error: <stdin>: truncated file (the header promises 64000000 bytes of data, "
        f"found {20 * MB - 128})\n"
    )
    assert list(spool.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_unusable_tmpdir_is_one_line_naming_it(kind: str, big: Path, tmp_path: Path) -> None:
    spool = tmp_path / "missing" if kind == "missing" else tmp_path / "file"
    if kind == "a file":
        spool.write_text("not a directory\n")
    r, _ = run_polled(["compute", "-", "y.npy"], big, env_with(spool), feed=big / "x.npy")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith(f"Error: <stdin>: cannot create a temporary file in {str(spool)!r} (")
    assert err.endswith("set TMPDIR to a directory with room, or give the .npy file by its path\n")
    assert len(err.splitlines()) == 1
    with open(big / "x.npy", "rb") as fp:  # a redirected file needs no temporary file
        r, _ = run_polled(["compute", "-", "y.npy"], big, env_with(spool), stdin=fp)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not LINUX, reason="RLIMIT_FSIZE semantics")
def test_disk_full_is_one_line_naming_the_directory(big: Path, tmp_path: Path) -> None:
    """``ulimit -f`` stands in for a full disk: writes past 8 MB fail (EFBIG)."""
    import resource

    def small_files() -> None:
        _default_signals()
        resource.setrlimit(resource.RLIMIT_FSIZE, (8 * MB, 8 * MB))

    p = subprocess.run(
        [*XENT, "compute", "-", "y.npy"],
        cwd=big,
        env=env_with(tmp_path),
        capture_output=True,
        input=(big / "x.npy").read_bytes(),
        preexec_fn=small_files,
    )
    assert p.returncode == 1
    assert p.stderr.decode() == (
        f"Error: <stdin>: cannot write a temporary file in {str(tmp_path)!r} (File too large); "
        "set TMPDIR to a directory with room, or give the .npy file by its path\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_signal_while_copying_leaves_no_temporary_file(
    signum: int, code: int, big: Path, tmp_path: Path
) -> None:
    """Ctrl-C (or ``kill -9``) half-way through the pipe: exit 130 (or killed) and nothing left
    in ``$TMPDIR``."""
    p = subprocess.Popen(
        [*XENT, "compute", "-", "y.npy"],
        cwd=big,
        env=env_with(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_default_signals,
    )
    assert p.stdin is not None and p.stderr is not None
    data = (big / "x.npy").read_bytes()
    # Once 16 MB have gone into the pipe, xent is past its 4 MiB head, inside the copy loop.
    p.stdin.write(data[: 16 * MB])
    p.stdin.flush()
    p.send_signal(signum)
    p.wait(timeout=60)  # the pipe stays open: the run ends by the signal, not by an EOF
    err = p.stderr.read()
    with contextlib.suppress(BrokenPipeError):
        p.stdin.close()
    p.stderr.close()
    assert p.returncode == code
    if signum == signal.SIGINT:
        assert err == b"Interrupted.\n"
    assert list(tmp_path.iterdir()) == []
