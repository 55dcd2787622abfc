"""Shared helpers for the bench/ scripts: the machine, timings, child processes, data.

Nothing here is part of xent-cli; the scripts import it as a sibling module.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GIB = 1 << 30
MIB = 1 << 20


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine() -> str:
    """One line: CPU model, cores available, memory, Python, NumPy (and torch if present)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / GIB:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    torch = ""
    try:
        import importlib.metadata as md

        torch = f", torch {md.version('torch')}"
    except Exception:  # noqa: BLE001 - any failure just means "no torch"
        pass
    env = os.environ.get("OPENBLAS_CORETYPE")
    env = f", OPENBLAS_CORETYPE={env}" if env else ""
    return (
        f"{model}, {cores()} cores available (nproc), {platform.system()} {platform.release()}"
        f"{mem}; Python {platform.python_version()}, NumPy {np.__version__}{torch}{env}"
    )


def best_of(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """The fastest of ``repeat`` timed calls (seconds), after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


SETTLE_S = 0.02  # pause before each timed call: see interleaved()


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each function, the functions taking turns (fair on a noisy machine).

    Each call starts after a pause of ``SETTLE_S``: torch's OpenMP workers spin on their
    cores for a few milliseconds after each call, and without the pause whoever runs next
    loses a core to them (seen: xent at (1M, 10) 10.9 ms right after torch, 9.6 ms after a
    5-50 ms pause).
    """
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


@dataclass(frozen=True)
class Run:
    """One child process: wall time, peak anonymous memory, peak RSS, its output."""

    wall: float
    peak_anon_mb: float  # max RssAnon seen while polling /proc/<pid>/status
    max_rss_mb: float  # ru_maxrss of the child (includes memory-mapped file pages)
    returncode: int
    stdout: str
    stderr: str


def run_child(cmd: list[str], poll: float = 0.002, env: dict | None = None) -> Run:
    """Run ``cmd``, polling its anonymous memory (Linux: RssAnon) until it exits."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        peak = 0
        status_path = f"/proc/{proc.pid}/status"
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(status_path) as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak = max(peak, int(line.split()[1]))
                            break
            except OSError:
                pass
            time.sleep(poll)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall,
            peak / 1024,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read().decode(errors="replace").strip(),
            err.read().decode(errors="replace").strip(),
        )


def xent_command() -> list[str]:
    """The ``xent`` console script of this interpreter's environment (or ``-m xent_cli``)."""
    script = Path(sys.executable).parent / "xent"
    if script.exists():
        return [str(script)]
    found = shutil.which("xent")
    return [found] if found else [sys.executable, "-m", "xent_cli"]


@contextmanager
def scratch(parent: str | None = None) -> Iterator[Path]:
    """A temporary directory for generated data, deleted afterwards (whatever happens)."""
    path = Path(tempfile.mkdtemp(prefix="xent-bench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_logits(path: Path, shape: tuple[int, ...], dtype: str = "float32", seed: int = 0):
    """A ``.npy`` of normal logits (scale 2), written in chunks (bounded memory)."""
    out = np.lib.format.open_memmap(path, "w+", np.dtype(dtype), shape)
    rng = np.random.default_rng(seed)
    step = max(1, (64 * MIB) // (int(np.prod(shape[1:], dtype=np.int64)) * 4))
    for i in range(0, shape[0], step):
        part = rng.standard_normal((min(step, shape[0] - i),) + shape[1:], dtype=np.float32)
        out[i : i + step] = part * 2
    out.flush()
    del out


def labels(n: int, n_classes: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_classes, n)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
