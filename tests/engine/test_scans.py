"""Big logits are checked for NaN and ±inf by the pass that computes on them: read once.

The blocked passes take ``scan=`` (:class:`xent_cli.engine.scans.NonFiniteScan`); the CLI gives
one for big input instead of scanning the logits before the pass, and reports the same warning
(same words, count and first place as :func:`xent_cli.analysis.diagnostics.non_finite_input`)
after it, or under ``--strict`` the same error before anything is printed or written.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import (
    evaluate_blocked,
    evaluate_with_insight,
    expected_non_finite,
    grad_blocked,
)
from xent_cli import api
from xent_cli.analysis import diagnostics
from xent_cli.cli.app import cli
from xent_cli.engine import kernels, passes as engine_passes
from xent_cli.engine.scans import NonFiniteScan, non_finite_stats

BAD = (np.nan, np.inf, -np.inf)


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def poison(x: np.ndarray, seed: int, k: int = 7) -> np.ndarray:
    """``x`` with ``k`` NaN/+inf/-inf at random places (some maybe at the same place)."""
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1)
    for i, at in enumerate(rng.integers(0, flat.size, k)):
        flat[at] = BAD[i % 3]
    return x


def targets(x: np.ndarray, axis: int, seed: int = 0) -> np.ndarray:
    shape = x.shape[:axis] + x.shape[axis + 1 :]
    return np.random.default_rng(seed).integers(0, x.shape[axis], shape)


# --- the scan itself: non_finite_stats' figures, from every pass ---------------------------

CASES = {  # name: (shape, dtype, class axis)
    "rows": ((300, 70), np.float32, 1),
    "col": ((500, 10), np.float32, 1),
    "float16 col": ((500, 10), np.float16, 1),
    "float16 rows": ((200, 80), np.float16, 1),
    "float64": ((200, 80), np.float64, 1),
    "k-dim axis 1": ((6, 5, 40), np.float32, 1),
    "k-dim axis 2": ((6, 40, 5), np.float32, 2),
    "k-dim axis 0": ((5, 6, 40), np.float32, 0),
}


def passes(x: np.ndarray, axis: int):
    """Each blocked pass over ``x``, run with a scan: (name, scan) after the pass."""
    y = targets(x, axis)
    q = np.full(x.shape, 1.0 / x.shape[axis])
    calls = {
        "loss fast": lambda s: evaluate_blocked(x, y, class_axis=axis, scan=s, **kw),
        "loss logprobs": lambda s: evaluate_blocked(
            x, y, class_axis=axis, input_kind="logprobs", scan=s, **kw
        ),
        "loss prob targets": lambda s: evaluate_blocked(x, q, class_axis=axis, scan=s, **kw),
        "grad fast": lambda s: grad_blocked(x, y, class_axis=axis, scan=s, **kw),
        "grad generic": lambda s: grad_blocked(
            x, y, class_axis=axis, input_kind="probs", scan=s, **kw
        ),
        "softmax": lambda s: engine_passes.softmax(x, axis, scan=s, **kw),
        "log_softmax": lambda s: engine_passes.softmax(x, axis, log=True, scan=s, **kw),
        "insight": lambda s: evaluate_with_insight(
            x, y, class_axis=axis, metrics=True, worst=2, scan=s, **kw
        ),
    }
    for threads in (1, 3):
        kw = {"threads": threads, "block_rows": 7}
        for name, call in calls.items():
            scan = NonFiniteScan()
            call(scan)
            yield f"{name}, {threads} threads", scan


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_every_pass_counts_as_the_separate_scan(case: str, seed: int) -> None:
    shape, dtype, axis = CASES[case]
    x = poison(np.random.default_rng(seed).normal(size=shape).astype(dtype), seed)
    want = non_finite_stats(x)
    assert want[0] > 0
    message = expected_non_finite(x, axis)
    assert diagnostics.non_finite_input(x, class_axis=axis) == message
    for name, scan in passes(x, axis):
        assert scan.result() == want, name
        assert diagnostics.non_finite_after_pass(x, scan, class_axis=axis) == message, name


def test_clean_and_integer_input_count_nothing() -> None:
    x = np.random.default_rng(3).normal(size=(100, 12)).astype(np.float32)
    for name, scan in passes(x, 1):
        assert scan.result() == (0, -1), name
        assert diagnostics.non_finite_after_pass(x, scan) == []
    scan = NonFiniteScan()
    evaluate_blocked(np.arange(1200).reshape(100, 12), targets(x, 1), block_rows=9, scan=scan)
    assert scan.result() == (0, -1)


def test_overflow_of_the_compute_precision_is_not_a_non_finite_input() -> None:
    # float64 input computed in float32: 1e300 becomes inf in the chunk, not in the input
    x = np.random.default_rng(4).normal(size=(50, 8))
    x[3, 2], x[40, 1], x[20, 7] = 1e300, -np.inf, -1e300
    scan = NonFiniteScan()
    evaluate_blocked(x, targets(x, 1), dtype="float32", block_rows=4, threads=3, scan=scan)
    assert scan.result() == non_finite_stats(x) == (1, 40 * 8 + 1)


def test_the_first_is_in_the_inputs_order_not_the_blocks() -> None:
    # (N, C, d): sample (0, 3) holds class 0 inf, sample (0, 1) holds class 2 nan; in the
    # input's C order class 0 of position 3 comes first (flat 3), as the old scan said.
    x = np.zeros((2, 3, 4), np.float32)
    x[0, 0, 3], x[0, 2, 1] = np.inf, np.nan
    scan = NonFiniteScan()
    evaluate_blocked(x, np.zeros((2, 4), int), block_rows=1, threads=2, scan=scan)
    assert scan.result() == non_finite_stats(x) == (2, 3)
    want = ["logits hold 2 non-finite values (first at position (0, 3), class 0: inf)"]
    assert diagnostics.non_finite_after_pass(x, scan) == diagnostics.non_finite_input(x) == want


# --- the in-process API pays nothing ------------------------------------------------------


def test_the_api_never_scans_unless_asked(monkeypatch) -> None:
    import xent_cli

    def scanned(*args, **kwargs):
        raise AssertionError("a non-finite scan in the in-process API")

    monkeypatch.setattr(kernels, "finite_summary", scanned)
    x = np.random.default_rng(5).normal(size=(20_000, 60)).astype(np.float32)  # 4.8 MB
    x[7, 7] = np.nan
    y = targets(x, 1)
    assert api.blocked(x)
    assert np.isnan(xent_cli.cross_entropy(x, y))
    assert np.isnan(xent_cli.cross_entropy_grad(x, y)[7]).all()
    assert np.isnan(xent_cli.softmax(x, axis=1)[7]).all()


# --- the CLI: one read, the same words ----------------------------------------------------


def big(tmp_path, shape, dtype=np.float32, axis=1, seed=0, places=()):
    """A big (> 4 MiB) logits .npy with NaN/±inf at ``places`` (or random ones), and labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(dtype)
    assert x.nbytes > 4 << 20
    if places:
        for i, at in enumerate(places):
            x[at] = BAD[i % 3]
    else:
        poison(x, seed, 11)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", targets(x, axis, seed))
    return x, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")


BIG = {  # name: (shape, dtype, class axis option, class axis, places)
    "float32 rows": ((8_000, 200), np.float32, [], 1, [(7_999, 199), (5, 7), (5, 3), (0, 199)]),
    "float32 col": ((120_000, 10), np.float32, [], 1, [(119_999, 0), (60_000, 9), (60_000, 2)]),
    "float16 col": ((250_000, 10), np.float16, [], 1, ()),
    "float16 rows": ((20_000, 128), np.float16, [], 1, [(0, 0), (19_999, 127)]),
    "k-dim axis 1": ((50, 5, 5_000), np.float32, [], 1, [(49, 0, 0), (3, 4, 9), (3, 0, 4_999)]),
    "k-dim axis -1": ((50, 5_000, 5), np.float32, ["--class-axis", "-1"], 2, ()),
}


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


@pytest.mark.parametrize("case", BIG)
def test_big_input_warns_as_the_separate_scan_did(tmp_path, monkeypatch, case: str) -> None:
    shape, dtype, opt, axis, places = BIG[case]
    x, xs, ys = big(tmp_path, shape, dtype, axis, places=places)
    # the words of the old, separate scan (in memory, and block-wise)
    want = expected_non_finite(x, axis)
    assert want == diagnostics.non_finite_input(np.load(xs, mmap_mode="r"), class_axis=axis)
    warning = f"Warning: {want[0]}"

    def separate_scan(*args, **kwargs):
        raise AssertionError("a separate non-finite scan of big logits")

    monkeypatch.setattr(diagnostics, "non_finite_stats", separate_scan)
    commands = {
        "compute": ["compute", xs, ys],
        "compute none": ["compute", xs, ys, "--reduction", "none", "-o", tmp_path / "l.npy"],
        "insight": ["compute", xs, ys, "--metrics", "--worst", "2", "--json"],
        "explain": ["explain", xs, ys, "--rows", "2", "--format", "plain"],
        "grad": ["grad", xs, ys, "-o", tmp_path / "g.npy"],
        "softmax": ["softmax", xs, "--log", "-o", tmp_path / "s.npy"],
    }
    for threads in ("1", "3"):
        for name, args in commands.items():
            r = run(*args, *opt, "--threads", threads)
            assert r.exit_code == 0, (name, r.output)
            got = lines(r.stderr)
            assert warning in got, (name, got)
            if name.startswith("compute"):  # the input's warning, then the loss's own
                assert got[0] == warning and got[1].startswith("Warning: the loss is not")


def test_big_compute_reads_the_logits_once(tmp_path, monkeypatch) -> None:
    x, xs, ys = big(tmp_path, (40_000, 50), places=[(39_999, 1), (20_000, 49)])
    spans: list[tuple[int, int]] = []
    load = engine_passes.chunk

    def counted(plan, w, block, ct):
        spans.append(plan.span(block))
        return load(plan, w, block, ct)

    def separate_scan(*args, **kwargs):
        raise AssertionError("a separate non-finite scan of big logits")

    fused_input = engine_passes._fused_input

    def counted_fused(plan, w, block, ct, y):  # the fused pass reads the rows it returns
        rows = fused_input(plan, w, block, ct, y)
        if rows is not None:
            spans.append(plan.span(block))
        return rows

    monkeypatch.setattr(engine_passes, "chunk", counted)
    monkeypatch.setattr(engine_passes, "_fused_input", counted_fused)
    monkeypatch.setattr(diagnostics, "non_finite_stats", separate_scan)
    stderr = []
    for threads in ("1", "3"):
        spans.clear()
        r = run("compute", xs, ys, "--threads", threads)
        assert r.exit_code == 0, r.output
        spans.sort()
        assert spans[0][0] == 0 and spans[-1][1] == len(x) and len(spans) > 1
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # each once
        stderr.append(r.stderr)
    assert stderr[0] == stderr[1]
    assert lines(stderr[0])[0] == (
        "Warning: logits hold 2 non-finite values (first at sample 20000, class 49: inf)"
    )


def test_strict_prints_and_writes_nothing(tmp_path) -> None:
    x, xs, ys = big(tmp_path, (8_000, 200), places=[(4_000, 3)])
    error = "Error: logits hold 1 non-finite value (first at sample 4000, class 3: nan) (--strict)"
    old = tmp_path / "old.npy"
    np.save(old, np.arange(3.0))
    before = old.read_bytes()
    commands = [
        ["compute", xs, ys],
        ["compute", xs, ys, "--metrics"],
        ["compute", xs, ys, "--reduction", "none", "-o", old],
        ["explain", xs, ys],
        ["grad", xs, ys, "-o", old],
        ["grad", xs, ys, "--format", "csv"],
        ["softmax", xs, "-o", old],
        ["softmax", xs, "--format", "csv"],
        ["softmax", xs, "-o", tmp_path / "new.npy"],
    ]
    files = sorted(os.listdir(tmp_path))
    for args in commands:
        r = run(*args, "--strict")
        assert r.exit_code == 1, (args, r.output)
        assert r.stdout == "", args
        assert lines(r.stderr) == [error], args
        assert old.read_bytes() == before, args
        assert sorted(os.listdir(tmp_path)) == files, args  # no temporary file left


def test_quiet_is_silent_and_skips_the_scan(tmp_path, monkeypatch) -> None:
    x, xs, ys = big(tmp_path, (8_000, 200), places=[(4_000, 3)])

    def scanned(*args, **kwargs):
        raise AssertionError("a scan whose warning nobody sees")

    monkeypatch.setattr(NonFiniteScan, "update", scanned)
    for args in (
        ["compute", xs, ys],
        ["grad", xs, ys, "-o", tmp_path / "g.npy"],
        ["softmax", xs, "-o", tmp_path / "s.npy"],
    ):
        r = run(*args, "--quiet")
        assert r.exit_code == 0 and r.stderr == "", (args, r.output)


def test_a_mistake_still_stops_strict_before_the_pass(tmp_path, monkeypatch) -> None:
    # The checks made before the pass (here: 1-based labels, a usual mistake) still fail
    # first, before the pass and its checks run. (Probability targets are checked by the
    # pass now: tests/test_prob_scan_in_pass.py.)
    rng = np.random.default_rng(9)
    y = rng.integers(1, 200, 8_000)  # no 0: labels that count from 1
    x = rng.normal(size=(8_000, 200)).astype(np.float32)
    x[np.arange(len(y)), y - 1] += 6.0  # the scores fit label - 1
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)

    def no_pass(*args, **kwargs):
        raise AssertionError("the pass ran")

    monkeypatch.setattr(NonFiniteScan, "update", no_pass)
    r = run("compute", tmp_path / "x.npy", tmp_path / "y.npy", "--strict")
    assert r.exit_code == 1 and r.stdout == "", r.output
    [error] = lines(r.stderr)
    assert error.startswith("Error: labels look 1-based") and error.endswith("(--strict)")
