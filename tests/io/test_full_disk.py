"""A big array result on a full disk: one error line, no SIGBUS, nothing left behind.

Big results are written through a memory map; the disk space is reserved first
(``xent_cli.io.writers.result_map``), so a full disk is found before any work. The refusal of the
file system is simulated (``os.posix_fallocate`` raising ENOSPC): a real full disk needs a
small mount, which tests cannot count on (by hand, on an 8 MB tmpfs, the same lines came
out and nothing was left there).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xent_cli.cli.app import cli
from xent_cli.errors import OutputError
from xent_cli.io.writers import npy_output

pytestmark = pytest.mark.skipif(
    not hasattr(os, "posix_fallocate"), reason="space is reserved only where posix_fallocate is"
)


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every reservation of disk space fails as on a full disk; returns the sizes asked."""
    asked: list[int] = []

    def refuse(fd: int, offset: int, length: int) -> None:
        asked.append(length)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", refuse)
    return asked


def test_npy_output_on_a_full_disk_keeps_the_old_file(tmp_path: Path, full_disk: list[int]):
    target = tmp_path / "g.npy"
    target.write_bytes(b"old")
    with pytest.raises(OutputError) as err, npy_output(str(target), (1000, 100), np.float64):
        raise AssertionError("the body must not run")  # pragma: no cover
    assert str(err.value) == f"cannot write {str(target)!r}: No space left on device"
    assert full_disk and full_disk[0] >= 1000 * 100 * 8
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.npy"]  # no temporary file


@pytest.fixture
def big_input(tmp_path: Path) -> Path:
    """A float32 .npy over the blocked-path size (its results go through a memory map)."""
    path = tmp_path / "big.npy"
    np.save(path, np.random.default_rng(0).standard_normal((60_000, 20)).astype(np.float32))
    return path


def test_cli_big_result_to_npy_on_a_full_disk(tmp_path: Path, big_input: Path, full_disk):
    out = tmp_path / "p.npy"
    result = CliRunner().invoke(cli, ["softmax", str(big_input), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot write {str(out)!r}: No space left on device"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy"]


@pytest.mark.parametrize("how", [["--json"], ["-o", "OUT.json"], ["--format", "csv"]])
def test_cli_big_result_through_a_full_tmpdir(
    tmp_path: Path, big_input: Path, full_disk, monkeypatch: pytest.MonkeyPatch, how: list[str]
):
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    args = [str(tmp_path / "out.json") if a == "OUT.json" else a for a in how]
    result = CliRunner().invoke(cli, ["softmax", str(big_input), *args])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot write the result to a temporary file in {str(spool)!r}: No space left "
        "on device; set TMPDIR to a directory with room, or write the result with -o FILE.npy"
    ]
    assert list(spool.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy", "spool"]


def test_cli_missing_tmpdir_is_named_not_replaced(
    tmp_path: Path, big_input: Path, monkeypatch: pytest.MonkeyPatch
):
    missing = tmp_path / "no" / "such"
    monkeypatch.setenv("TMPDIR", str(missing))
    result = CliRunner().invoke(cli, ["softmax", str(big_input), "--json"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: cannot make a temporary folder in {str(missing)!r} for the result (No such "
        "file or directory); set TMPDIR to a directory with room, or write the result with "
        "-o FILE.npy"
    ]
