"""Per-sample vectors of big inputs leave the heap (``xent_cli.engine.spill``): the losses, the
targets as int64, which targets count. Checked with tracemalloc (NumPy reports its buffers
to it), so the figures are exact, not timings."""

from __future__ import annotations

import errno
import os
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import evaluate_blocked
from xent_cli import api
from xent_cli.analysis import diagnostics
from xent_cli.cli.app import cli
from xent_cli.core.checks import class_indices, valid_mask
from xent_cli.core.targets import prepare_targets
from xent_cli.engine import spill as _spill
from xent_cli.engine.spill import empty_like
from xent_cli.errors import InputError


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def on_disk(array: np.ndarray, path) -> np.ndarray:
    """``array`` saved to ``path`` and memory-mapped back, as the CLI reads a ``.npy``."""
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def test_small_vectors_stay_in_memory_big_ones_are_nameless_maps(tmpdir_env, limits):
    small = _spill.empty(10, np.float64)
    assert type(small) is np.ndarray and small.shape == (10,)
    limits(spill_bytes=64)
    assert type(_spill.empty(1000, np.int64, spill=False)) is np.ndarray  # data in memory
    big = _spill.empty(1000, np.int64)
    assert isinstance(big, np.memmap) and big.shape == (1000,) and big.dtype == np.int64
    big[:] = np.arange(1000)
    assert int(big.sum()) == 499500
    assert os.listdir(tmpdir_env) == []  # nameless from the start: nothing to clean up


def test_a_full_disk_is_one_error_naming_the_folder(tmpdir_env, monkeypatch, limits):
    limits(spill_bytes=64)
    monkeypatch.setattr(_spill, "free_bytes", lambda directory: 100)
    with pytest.raises(InputError) as err:
        _spill.empty(1000, np.float64, "the per-sample losses")
    msg = str(err.value)
    assert msg == (
        f"the per-sample losses (8.0 kB) go to a temporary file in {str(tmpdir_env)!r}, which "
        "has only 100 bytes free; set TMPDIR to a directory with room"
    )

    def no_room(fd, offset, size):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_spill, "free_bytes", lambda directory: None)
    monkeypatch.setattr(os, "posix_fallocate", no_room, raising=False)
    with pytest.raises(InputError, match="which cannot be made there: no space left on device;"):
        _spill.empty(1000, np.float64)
    assert os.listdir(tmpdir_env) == []


def test_a_missing_tmpdir_is_named(tmp_path, monkeypatch, limits):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "nowhere"))
    limits(spill_bytes=64)
    with pytest.raises(InputError, match="nowhere', which cannot be made there: no such file"):
        _spill.empty(1000, np.float64)


def test_valid_mask_takes_no_memory_when_nothing_is_ignored():
    idx = np.array([0, 2, 1, 2])
    none = valid_mask(idx, -100, 3)
    assert none.tolist() == [True] * 4 and none.strides == (0,) and not none.flags.writeable
    assert valid_mask(idx, 3, 3).strides == (0,)  # an ignore index above the classes
    some = valid_mask(np.array([0, -100, 1]), -100, 3)
    assert some.tolist() == [True, False, True] and some.strides == (1,)
    inside = valid_mask(idx, 2, 3)  # an ignore index that is a class: a real mask
    assert inside.tolist() == [True, False, True, False]
    assert valid_mask(idx, 0, 3).tolist() == [False, True, True, True]
    assert valid_mask(np.zeros(0, np.int64), -100, 3).shape == (0,)
    known = valid_mask(idx, -100, 3, all_classes=True)  # no pass over the labels needed
    assert known.strides == (0,) and known.tolist() == [True] * 4
    assert valid_mask(idx, 2, 3, all_classes=True).tolist() == [True, False, True, False]


def test_int64_targets_are_used_as_they_are_others_converted(tmp_path, tmpdir_env, limits):
    # The targets' vectors are made by the ``empty`` the caller passes: the engine's spill
    # (as xent_cli.api.prepare passes it) decides memory or disk.
    y = np.array([0, 1, 2, 1], np.int64)
    assert np.shares_memory(class_indices(y, 3, -100, (4,), empty_like), y)  # no copy
    limits(spill_bytes=8)
    in_memory = class_indices(y.astype(np.int32), 3, -100, (4,), empty_like)
    assert type(in_memory) is np.ndarray  # in memory
    y32 = on_disk(y.astype(np.int32), tmp_path / "y32.npy")
    got = class_indices(y32, 3, -100, (4,), empty_like)
    assert isinstance(got, np.memmap) and got.dtype == np.int64 and got.tolist() == [0, 1, 2, 1]
    assert _spill.on_disk(got) and _spill.on_disk(np.asarray(y32).reshape(2, 2))
    assert not _spill.on_disk(np.asarray(y32).copy())
    floats = class_indices(np.array([2.0, -100.0, 0.0]), 3, -100, (3,), empty_like)
    assert floats.dtype == np.int64 and floats.tolist() == [2, -100, 0]


def test_label_checks_name_the_first_offender_past_the_first_slice(limits):
    limits(vector_part=4)
    y = np.zeros(23, np.int64)
    y[17], y[21] = 7, 9
    with pytest.raises(ValueError, match="Target 7 is out of bounds at index 17"):
        prepare_targets((23, 3), y)
    f = np.zeros(23)
    f[13], f[19] = 0.5, np.nan
    with pytest.raises(ValueError, match="target at index 19 is nan"):
        prepare_targets((23, 3), f)
    f[19] = 1.0
    with pytest.raises(ValueError, match="target at index 13 is 0.5"):
        prepare_targets((23, 3), f)


def test_non_finite_losses_counted_a_slice_at_a_time(limits):
    flat = np.zeros(50)
    flat[[31, 44]] = [np.inf, np.nan]
    limits(vector_part=7)
    assert diagnostics._non_finite_count(flat) == (2, 31)
    limits(vector_part=4)
    assert diagnostics._non_finite_count(np.zeros(9)) == (0, -1)


def test_blocked_loss_keeps_per_sample_vectors_off_the_heap(tmp_path, tmpdir_env):
    n = 3_000_000  # float64 losses: 24 MB, over limits.spill_bytes
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 10), dtype=np.float32)
    y = rng.integers(0, 10, n)
    y[::1000] = -100  # some ignored: "which count" is a real mask (3 MB, spilled too)
    want = api.evaluate(x[:200_000], y[:200_000], reduction="none").per_sample
    in_memory = evaluate_blocked(x, y, reduction="none").per_sample
    assert type(in_memory) is np.ndarray  # arrays in memory: nothing goes to disk
    x, y = on_disk(x, tmp_path / "x.npy"), on_disk(y, tmp_path / "y.npy")
    tracemalloc.start()
    try:
        res = evaluate_blocked(x, y, reduction="none")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(res.per_sample, np.memmap)
    assert peak < 8 << 20, peak  # blocks and buffers; the 24 MB of losses are not there
    np.testing.assert_allclose(res.per_sample[:200_000], want, rtol=1e-6)
    np.testing.assert_array_equal(res.per_sample, in_memory)
    assert sorted(os.listdir(tmpdir_env)) == ["x.npy", "y.npy"]


def test_cli_results_unchanged_when_every_vector_spills(tmp_path, tmpdir_env, limits):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((150_000, 10), dtype=np.float32)  # 6 MB: the blocked path
    y = rng.integers(0, 10, 150_000).astype(np.int32)
    y[::50] = -100
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    args = [str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]
    runner = CliRunner()
    commands = [
        ["compute", *args],
        ["compute", *args, "--metrics", "--hist", "--json"],
        ["explain", *args],
        ["compute", *args, "--reduction", "none", "-o", str(tmp_path / "g.npy")],
        ["grad", *args, "-o", str(tmp_path / "g.npy")],
    ]
    before = []
    for cmd in commands:
        r = runner.invoke(cli, cmd)
        assert r.exit_code == 0, r.output
        wrote = "-o" in cmd
        before.append((r.output, (tmp_path / "g.npy").read_bytes() if wrote else b""))
    limits(spill_bytes=1024)
    for cmd, (out, data) in zip(commands, before, strict=True):
        r = runner.invoke(cli, cmd)
        assert r.exit_code == 0, r.output
        assert r.output == out
        if "-o" in cmd:
            assert (tmp_path / "g.npy").read_bytes() == data
    assert sorted(os.listdir(tmpdir_env)) == ["g.npy", "x.npy", "y.npy"]


def test_cli_says_where_the_losses_could_not_go(tmp_path, monkeypatch, limits):
    rng = np.random.default_rng(2)
    np.save(tmp_path / "x.npy", rng.standard_normal((150_000, 10), dtype=np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 10, 150_000))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "gone"))
    limits(spill_bytes=1024)
    r = CliRunner().invoke(cli, ["compute", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")])
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    assert lines[0] == (
        f"Error: the per-sample losses (1.2 MB) go to a temporary file in "
        f"{str(tmp_path / 'gone')!r}, which cannot be made there: no such file or directory; "
        "set TMPDIR to a directory with room"
    )


def test_weighted_divisor_is_summed_a_slice_at_a_time(limits):
    import math

    rng = np.random.default_rng(5)
    y = rng.integers(0, 7, 1000)
    y[::9] = -100
    w = rng.random(7) * 3
    t = prepare_targets((1000, 7), y, weight=w, sample_weight=rng.random(1000))
    whole = float(np.sum(t.effective_weight, dtype=np.float64))
    assert t.weight_sum() == whole  # one slice: np.sum itself
    limits(sum_part=64)
    parts = [float(np.sum(t.effective_weight[m : m + 64])) for m in range(0, 1000, 64)]
    assert t.weight_sum() == math.fsum(parts)
    assert abs(t.weight_sum() - whole) <= 1e-12 * whole
    np.testing.assert_array_equal(t.effective_weight_of(100, 300), t.effective_weight[100:300])


def test_a_literal_loads_no_temporary_file_machinery() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.argv = ['xent', 'compute', '1,2,3', '0']\n"
        "from xent_cli.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'xent_cli.engine.spill' in sys.modules  # the targets went through it\n"
        "assert 'tempfile' not in sys.modules, 'tempfile costs 5 ms of start-up'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "2.4076059644443806"


def test_sample_weights_are_not_copied_or_spill(tmp_path, tmpdir_env, limits):
    from xent_cli.core.checks import check_vector

    sw = np.linspace(0.5, 2.0, 1000)
    assert np.shares_memory(check_vector(sw, 1000, "sample weight", "sample", empty_like), sw)
    limits(spill_bytes=64)
    got = check_vector(sw.astype(np.float32), 1000, "sample weight", "sample", empty_like)
    assert type(got) is np.ndarray  # given in memory: converted in memory
    got = check_vector(
        on_disk(sw.astype(np.float32), tmp_path / "sw.npy"),
        1000,
        "sample weight",
        "sample",
        empty_like,
    )
    assert isinstance(got, np.memmap) and got.dtype == np.float64
    np.testing.assert_array_equal(got, sw.astype(np.float32).astype(np.float64))
    limits(vector_part=100)
    bad = sw.copy()
    bad[777] = np.inf
    with pytest.raises(ValueError, match="sample weight holds a non-finite value"):
        check_vector(bad, 1000, "sample weight", "sample", empty_like)


def test_on_disk_follows_views_to_the_map(tmp_path):
    import mmap

    mapped = on_disk(np.arange(12.0), tmp_path / "a.npy")
    assert _spill.on_disk(mapped[2:5]) and _spill.on_disk(np.asarray(mapped).reshape(3, 4))
    assert _spill.on_disk(np.frombuffer(mmap.mmap(-1, 16), np.float64))
    assert not _spill.on_disk(np.array(mapped)) and not _spill.on_disk(np.zeros(3))
    assert not _spill.on_disk(np.frombuffer(b"12345678", np.uint8))
