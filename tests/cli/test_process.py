"""Nothing lost, nothing run: ``xent`` as a real process (issue 4).

Signals, pipes, file descriptors and resource limits only exist for a real process, so these
tests run ``xent`` with :mod:`subprocess`: ``-o`` writes atomically (a failed or interrupted
write leaves the old file and no temporary file), refuses to overwrite an input, Ctrl-C exits
130 and SIGTERM 143 with nothing partial left, a closed output pipe ends quietly with 141, a
pickle never runs, and text too big for the memory left is refused before it is parsed.
No assertion depends on timing: where a signal must land mid-run, the test waits for the
moment (a temporary file appearing, a pipe being drained) and retries with a bigger input if
the run was over first, or makes the moment happen for sure (a start-up hook that stalls an
import until the signal comes, or raises the signal as the temporary file is created).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.hostile import npz_bytes, pickle_npy

_SCRIPT = Path(sys.executable).with_name("xent")
XENT = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "xent_cli"]
LINUX = sys.platform.startswith("linux")
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and pipes")


def _default_signals() -> None:
    """The child takes Ctrl-C and SIGPIPE as a shell would give them, whatever the parent
    (a CI runner may ignore SIGINT, and Python ignores SIGPIPE)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def xent(*args: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*XENT, *args], cwd=cwd, capture_output=True, preexec_fn=_default_signals, **kwargs
    )


def start(*args: str, cwd: Path, **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen(
        [*XENT, *args], cwd=cwd, stderr=subprocess.PIPE, preexec_fn=_default_signals, **kwargs
    )


def with_hook(hook_dir: Path, code: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which the child runs ``code`` at start-up (a ``sitecustomize``), before
    xent's own code: a way to make a moment that a test must hit happen for sure."""
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(code)
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook_dir), env.get("PYTHONPATH")]))
    return env


def small_pipe() -> tuple[int, int]:
    """A pipe that holds as little as the system allows (Linux: one page, not the usual 64 kB,
    or 1 MB with 64 kB pages), so that the output of a test is sure to be more than it holds."""
    import fcntl

    read_end, write_end = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # F_SETPIPE_SZ: Linux only
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # rounded up to a page
    return read_end, write_end


def leftovers(directory: Path) -> list[str]:
    """Temporary files of an atomic write (``.NAME.RANDOM.tmp``)."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def wait_for(condition: object, process: subprocess.Popen, limit: float = 60.0) -> bool:
    """Poll until ``condition()`` holds (True) or the process has ended (False)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("xent neither finished nor reached the awaited point")


# --- -o ----------------------------------------------------------------------------------


def test_output_is_complete_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.arange(12.0).reshape(3, 4))
    r = xent("softmax", "x.npy", "-o", "p.npy", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b""
    assert np.allclose(np.load(tmp_path / "p.npy").sum(axis=1), 1.0)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not LINUX, reason="RLIMIT_FSIZE semantics")
def test_failed_write_keeps_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    import resource

    np.save(tmp_path / "x.npy", np.zeros((2000, 10)))
    (tmp_path / "out.csv").write_text("the old results\n")

    def small_files() -> None:  # ulimit -f: writes past 4 kB fail with EFBIG
        _default_signals()
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    r = subprocess.run(
        [*XENT, "softmax", "x.npy", "-o", "out.csv"],
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=small_files,
    )
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Error: cannot write 'out.csv': File too large")
    assert (tmp_path / "out.csv").read_text() == "the old results\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args,victim",
    [
        (("softmax", "x.npy", "-o", "x.npy"), "x.npy"),
        (("softmax", "x.npy", "-o", "./sub/../x.npy"), "x.npy"),
        (("softmax", "x.npy", "-o", "link.npy"), "x.npy"),  # a symlink to the input
        (("compute", "x.npy", "y.csv", "--reduction", "none", "-o", "y.csv"), "y.csv"),
        (
            (
                "compute",
                "x.npy",
                "y.csv",
                "--weight",
                "w.csv",
                "--reduction",
                "none",
                "-o",
                "w.csv",
            ),
            "w.csv",
        ),
    ],
)
def test_output_refuses_to_overwrite_an_input(args: tuple, victim: str, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.arange(12.0).reshape(3, 4))
    (tmp_path / "y.csv").write_text("0\n1\n2\n")
    (tmp_path / "w.csv").write_text("1,1,1,1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.npy").symlink_to(tmp_path / "x.npy")
    before = (tmp_path / victim).read_bytes()
    r = xent(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert b"refusing to overwrite it" in r.stderr
    assert (tmp_path / victim).read_bytes() == before
    assert leftovers(tmp_path) == []


# --- Ctrl-C and SIGTERM ------------------------------------------------------------------


def test_ctrl_c_while_reading_stdin_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    p = start("softmax", "-", "-o", "out.npy", cwd=tmp_path, stdin=subprocess.PIPE)
    assert p.stdin is not None
    # Once 1 MB has gone into the pipe, xent is past start-up and inside its read loop.
    p.stdin.write(b"1,2,3\n" * 200_000)
    p.stdin.flush()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert err == b"Interrupted.\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "signum,code,said",
    [(signal.SIGINT, 130, b"Interrupted.\n"), (signal.SIGTERM, 143, b"Terminated.\n")],
)
def test_signal_during_a_big_write_leaves_the_old_file(
    signum: int, code: int, said: bytes, tmp_path: Path
) -> None:
    old = "the old results\n"
    rows = 100_000
    for _ in range(4):
        (tmp_path / "out.csv").write_text(old)
        np.save(tmp_path / "big.npy", np.random.default_rng(0).normal(size=(rows, 10)))
        p = start("softmax", "big.npy", "-o", "out.csv", cwd=tmp_path)
        if wait_for(lambda: leftovers(tmp_path), p):
            p.send_signal(signum)
        _, err = p.communicate(timeout=60)
        if (tmp_path / "out.csv").read_text() == old:
            break
        rows *= 4  # the write was complete before the signal landed: try a bigger one
    else:
        pytest.fail("xent always finished its write before the signal")
    assert p.returncode == code, err
    assert err == said
    assert leftovers(tmp_path) == []


# A real signal, raised in the child the moment the temporary file exists: before the
# writer has even seen the name of the file it created (Python runs signal handlers between
# bytecodes, so the handler runs as soon as os.open returns).
_SIGNAL_ON_CREATE = """\
import os, signal

_open = os.open


def _open_then_signal(path, *args, **kwargs):
    fd = _open(path, *args, **kwargs)
    if str(path).endswith(".tmp"):
        os.open = _open
        with open("signalled", "w"):
            pass
        signal.raise_signal(int(os.environ["XENT_TEST_SIGNAL"]))
    return fd


os.open = _open_then_signal
"""


@pytest.mark.parametrize(
    "signum,code,said",
    [(signal.SIGINT, 130, b"Interrupted.\n"), (signal.SIGTERM, 143, b"Terminated.\n")],
)
def test_signal_right_after_the_temporary_file_is_created_leaves_none(
    signum: int, code: int, said: bytes, tmp_path: Path
) -> None:
    """The earliest moment a signal can catch ``-o``: what the test above hits only by luck."""
    work = tmp_path / "work"
    work.mkdir()
    np.save(work / "x.npy", np.arange(12.0).reshape(3, 4))
    (work / "out.csv").write_text("the old results\n")
    env = with_hook(tmp_path / "hook", _SIGNAL_ON_CREATE)
    env["XENT_TEST_SIGNAL"] = str(int(signum))
    r = xent("softmax", "x.npy", "-o", "out.csv", cwd=work, env=env)
    assert (work / "signalled").exists(), r.stderr  # the hook fired: the moment was hit
    assert (r.returncode, r.stderr) == (code, said)
    assert (work / "out.csv").read_text() == "the old results\n"
    assert leftovers(work) == []


# --- Ctrl-C during start-up ----------------------------------------------------------------

# Stall the first import of Click or NumPy (the bulk of xent's start-up), after telling the
# test so through a pipe: the Ctrl-C then lands inside that import, every time.
_STALL_IMPORT = """\
import os, sys, time


class _Stall:
    def find_spec(self, name, path=None, target=None):
        if name in ("click", "numpy"):
            sys.meta_path.remove(self)
            os.write(int(os.environ["XENT_TEST_FD"]), name.encode()[:1])
            time.sleep(600)  # until the signal
        return None


sys.meta_path.insert(0, _Stall())
"""


@pytest.mark.parametrize("command", ["script", "-m"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(command: str, tmp_path: Path) -> None:
    """Ctrl-C while Click and NumPy are still being imported (most of start-up, before any
    handler of xent's exists): exit 130 and nothing on stderr, as for a Ctrl-C later on."""
    argv = XENT if command == "script" else [sys.executable, "-m", "xent_cli"]
    read_end, write_end = os.pipe()
    env = with_hook(tmp_path / "hook", _STALL_IMPORT)
    env["XENT_TEST_FD"] = str(write_end)
    try:
        p = subprocess.Popen(
            [*argv, "compute", "1,2,3", "0"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            pass_fds=(write_end,),
            preexec_fn=_default_signals,
        )
    finally:
        os.close(write_end)
    try:
        stalled = os.read(read_end, 1)  # blocks until the child is inside the import (or died)
        if stalled:
            p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        os.close(read_end)
        if p.poll() is None:  # the signal did not end it: do not leave it sleeping
            p.kill()
            p.wait()
    assert stalled in (b"c", b"n"), err  # the import was caught, as the test means
    assert b"Traceback" not in err, err.decode()
    assert (p.returncode, out, err) == (130, b"", b"")


# --- closed pipes ------------------------------------------------------------------------


@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize("fmt", ["plain", "csv", "json", "table"])
def test_closed_pipe_ends_quietly_with_141(fmt: str, unbuffered: str, tmp_path: Path) -> None:
    """``xent softmax big.npy | head -1``: 141 (128 + SIGPIPE, as coreutils), no message."""
    rows = 1200 if fmt == "table" else 5000  # > 80 kB of output: more than the pipe holds
    np.save(tmp_path / "big.npy", np.random.default_rng(1).normal(size=(rows, 10)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    read_end, write_end = small_pipe()
    try:
        p = start("softmax", "big.npy", "--format", fmt, cwd=tmp_path, stdout=write_end, env=env)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:  # closed after 64 bytes: what head does
        first = reader.read(64)
    _, err = p.communicate(timeout=60)
    assert first.strip()
    assert p.returncode == 141
    assert err == b""


# --- nothing executes --------------------------------------------------------------------


@pytest.mark.parametrize("how", ["file", "stdin", "npz"])
def test_pickled_npy_that_would_create_a_file_leaves_none(how: str, tmp_path: Path) -> None:
    victim = tmp_path / "pwned"
    payload = pickle_npy(str(victim))
    name = "evil.npz" if how == "npz" else "evil.npy"
    (tmp_path / name).write_bytes(npz_bytes({"logits.npy": payload}) if how == "npz" else payload)
    if how == "stdin":
        r = xent("softmax", "-", cwd=tmp_path, input=payload)
    else:
        r = xent("softmax", name, cwd=tmp_path)
    assert r.returncode == 1
    assert b"object arrays are refused (they would need unpickling)" in r.stderr
    assert not victim.exists()


# --- memory ------------------------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="RLIMIT_AS is enforced on Linux")
def test_text_bigger_than_the_memory_left_is_refused_not_killed(tmp_path: Path) -> None:
    """Under ``ulimit -v 1.5G``, 25 million text cells (~2 GB parsed) are refused up front."""
    import resource

    (tmp_path / "big.csv").write_bytes((b"1," * 99 + b"1\n") * 250_000)
    limit = 3 << 29

    def little_memory() -> None:
        _default_signals()
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [*XENT, "compute", "big.csv", "--labels", "0"],
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=little_memory,
        env=env,
    )
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith("Error: big.csv: parsing this text needs about"), err
    assert "save it as .npy" in err and len(err.strip().splitlines()) == 1
