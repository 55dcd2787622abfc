"""Big probabilities (``--input-kind probs``, probability targets) are checked by the pass.

The values outside [0, 1] and the rows that do not sum to 1 are found by the blocked pass that
computes on the input (:class:`xent_cli.engine.scans.ProbabilityScan`, within a
:class:`xent_cli.analysis.diagnostics.PassChecks`), on the input's own values: the file is read
once, and the warnings are the separate check's (:func:`~xent_cli.analysis.check_inputs`), the same
words, figures and order, on any number of threads; ``--strict`` still prints and writes
nothing. Small input is checked before the pass, as before.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests import helpers
from tests.helpers import (
    evaluate_blocked,
    evaluate_with_insight,
    expected_non_finite,
    expected_probabilities,
    grad_blocked,
)
from xent_cli import api, engine
from xent_cli.analysis import diagnostics
from xent_cli.cli.app import cli
from xent_cli.engine import passes as engine_passes, plan as engine_plan, scans
from xent_cli.engine.plan import view3
from xent_cli.engine.scans import (
    NonFiniteScan,
    ProbabilityScan,
    Scan,
    non_finite_stats,
    probability_stats,
)


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def check_inputs(x: np.ndarray, target: Any, *, in_pass: bool = False, **kw: Any) -> list[str]:
    """:func:`xent_cli.analysis.check_inputs` of a call made with torch's keywords (index
    targets unless ``targets_kind`` says otherwise, as the old ``check_inputs`` assumed)."""
    c = helpers.call(x, target, **{"targets_kind": "index", **kw})
    return diagnostics.check_inputs(c.x, c.targets, c.spec, in_pass=in_pass)


def pass_checks(x: np.ndarray, target: Any, **kw: Any) -> diagnostics.PassChecks:
    """:class:`xent_cli.analysis.PassChecks` of a call made with torch's keywords."""
    c = helpers.call(x, target, **{"targets_kind": "index", **kw})
    return diagnostics.PassChecks(c.x, c.targets, c.spec)


def explain(x: np.ndarray, target: np.ndarray, *, rows: int, grad: bool, scan: Scan, **kw: Any):
    """The explanation the API makes (:func:`xent_cli.api.run_explain`), its loss pass seen by
    ``scan``: the pass is the engine's when ``limits(blocked_bytes=0)`` is in force."""
    return api.run_explain(helpers.call(x, target, **kw), rows=rows, grad=grad, scan=scan)


def expected(x: np.ndarray, target: Any, **kw: Any) -> list[str]:
    """Every input warning of a call (``input_kind``, ``targets_kind``, ``class_axis``), in
    check_inputs' order: non-finite input, its probabilities, then the probability targets'."""
    kind = kw.get("input_kind", "logits")
    axis = kw.get("class_axis", 1) % x.ndim
    name = {"logits": "logits", "probs": "probabilities", "logprobs": "log-probabilities"}[kind]
    out = expected_non_finite(x, axis, name)
    if kind == "probs":
        out += expected_probabilities(x, axis, "input probabilities")
    if kw.get("targets_kind", "index") == "prob":
        out += expected_non_finite(target, axis, "probability targets")
        out += expected_probabilities(target, axis, "probability targets")
    return out


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def probs(shape, axis: int, dtype=np.float64, seed: int = 0) -> np.ndarray:
    q = np.random.default_rng(seed).random(shape) + 0.05
    return (q / q.sum(axis=axis, keepdims=True)).astype(dtype)


def spoil(q: np.ndarray, axis: int, seed: int, kinds: str = "hlsn") -> np.ndarray:
    """``q`` with a value > 1 (h), < 0 (l), a row scaled off 1 (s) and a NaN (n), at random
    places; each kind at two places."""
    rng = np.random.default_rng(seed)
    moved = np.moveaxis(q, axis, -1)  # a view: rows of classes
    for kind in kinds * 2:
        at = tuple(int(rng.integers(0, n)) for n in q.shape)
        if kind == "h":
            q[at] = 1.5
        elif kind == "l":
            q[at] = -0.25
        elif kind == "n":
            q[at] = np.nan
        else:
            row = at[:axis] + at[axis + 1 :]
            moved[row] = moved[row] * 1.25
    return q


def labels(q: np.ndarray, axis: int, seed: int = 0) -> np.ndarray:
    shape = q.shape[:axis] + q.shape[axis + 1 :]
    return np.random.default_rng(seed).integers(0, q.shape[axis], shape)


def old(q, y, axis, **kw) -> list[str]:
    """The separate checks' words: made before the pass (block-wise), and the same made here
    from the whole arrays."""
    kw = {"input_kind": "probs", "class_axis": axis, **kw}
    want = check_inputs(q, y, **kw)
    assert want == expected(q, y, **kw)
    return want


# --- the scan: probability_stats' figures, from every pass ------------------------------

CASES = {  # name: (shape, dtype, class axis)
    "float64 rows": ((200, 80), np.float64, 1),
    "float32 rows": ((300, 70), np.float32, 1),
    "float32 few classes": ((500, 10), np.float32, 1),
    "float16": ((200, 12), np.float16, 1),
    "k-dim axis 1": ((6, 5, 40), np.float32, 1),
    "k-dim axis -1": ((6, 40, 5), np.float64, 2),
    "k-dim axis 0": ((5, 6, 40), np.float32, 0),
}


def passes(q: np.ndarray, axis: int, target=None, dtype=None):
    """Each blocked pass over probabilities ``q``: (name, its checks, after the pass). The
    explanation's pass is the API's: the caller sets ``limits(blocked_bytes=0)``."""
    y = labels(q, axis) if target is None else target
    kind = "index" if target is None else "prob"
    calls = {
        "loss": lambda s, kw: evaluate_blocked(q, y, scan=s, **kw),
        "grad": lambda s, kw: grad_blocked(q, y, scan=s, **kw),
        "insight": lambda s, kw: evaluate_with_insight(q, y, metrics=True, worst=2, scan=s, **kw),
        "explain": lambda s, kw: explain(q, y, rows=3, grad=True, scan=s, **kw),
    }
    for threads in (1, 3):
        for name, call in calls.items():
            kw = {"class_axis": axis, "input_kind": "probs", "threads": threads, "dtype": dtype}
            if name != "explain":
                kw["block_rows"] = 7
            checks = pass_checks(q, y, input_kind="probs", targets_kind=kind, class_axis=axis)
            call(checks.scan, kw)
            yield f"{name}, {threads} threads", checks


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", [1, 2])
def test_every_pass_finds_what_the_separate_check_did(case: str, seed: int, limits) -> None:
    limits(blocked_bytes=0)
    shape, dtype, axis = CASES[case]
    q = spoil(probs(shape, axis, dtype, seed), axis, seed)
    want = probability_stats(q, axis)
    assert want.outside is not None and want.first_off is not None
    message = old(q, labels(q, axis), axis)
    assert len(message) == 3  # non-finite, outside [0, 1], rows off 1
    for name, checks in passes(q, axis):
        assert checks.probs.result() == want, name
        assert checks.messages() == message, name


@pytest.mark.parametrize("kinds", ["h", "l", "s", "n", "hl", "sn", ""])
def test_each_fault_alone(kinds: str, limits) -> None:
    limits(blocked_bytes=0)
    q = spoil(probs((60, 9, 7), 1, np.float32, 5), 1, 5, kinds)
    message = old(q, labels(q, 1), 1)
    assert bool(message) == bool(kinds)
    for name, checks in passes(q, 1):
        assert checks.messages() == message, (kinds, name)


def test_the_verdict_is_on_the_inputs_own_values(limits) -> None:
    limits(blocked_bytes=0)
    # float64 input computed in float32: 1 + 1e-12 rounds to 1.0, a row 1e-5 off is still
    # off, 1e300 overflows to inf in the chunk; the verdict is on the float64 values.
    q = probs((40, 6), 1)
    q[3] = 0.0
    q[3, 2] = 1.0 + 1e-12
    q[9] *= 1.0 + 2e-6
    q[20, 0] = 1e300
    message = old(q, labels(q, 1), 1)
    assert message == [
        "input probabilities hold values outside [0, 1] (first at sample 3, class 2: "
        "1.000000000001)",
        "input probabilities of 2 samples do not sum to 1 (first: sample 9 sums to 1); "
        "they are used as given",
    ]
    for dtype in ("float32", "float64"):
        for name, checks in passes(q, 1, dtype=dtype):
            assert checks.messages() == message, (dtype, name)
    # and the other way: float16 input computed in float64
    h = spoil(probs((50, 8), 1, np.float16, 6), 1, 6)
    message = old(h, labels(h, 1), 1)
    for name, checks in passes(h, 1, dtype="float64"):
        assert checks.messages() == message, name


def test_probability_targets_are_checked_by_the_pass() -> None:
    for axis, shape in ((1, (30, 7, 6)), (2, (30, 6, 7)), (1, (90, 11))):
        x = np.random.default_rng(7).normal(size=shape).astype(np.float32)
        t = spoil(probs(shape, axis, np.float32, 8), axis, 8)
        kw = {"input_kind": "logits", "targets_kind": "prob", "class_axis": axis}
        want = check_inputs(x, t, **kw)
        assert want == expected(x, t, **kw)
        assert [m.split(" ")[0:2] for m in want] == [["probability", "targets"]] * 3
        assert check_inputs(x, t, in_pass=True, **kw) == []  # all left to the pass
        t3 = view3(t, axis)
        for threads in (1, 3):
            checks = pass_checks(x, t, **kw)
            assert checks.finite is not None and checks.t_probs is not None
            evaluate_blocked(x, t, class_axis=axis, threads=threads, block_rows=5, scan=checks.scan)
            assert checks.messages() == want, (axis, threads)
            assert checks.t_finite.result() == non_finite_stats(t)
            assert checks.t_probs.result() == probability_stats(t, axis)
            scan = ProbabilityScan(t3)
            grad_blocked(x, t, class_axis=axis, threads=threads, block_rows=3, scan=scan)
            assert scan.result() == probability_stats(t, axis)


def test_targets_that_are_no_view_are_checked_before_the_pass() -> None:
    x = np.zeros((2, 3, 4, 5))
    t = np.asfortranarray(spoil(probs(x.shape, 1), 1, 3, "h"))
    kw = {"input_kind": "logits", "targets_kind": "prob", "class_axis": 1}
    want = check_inputs(x, t, **kw)
    assert len(want) == 2 and check_inputs(x, t, in_pass=True, **kw) == want
    checks = pass_checks(x, t, **kw)
    assert checks.t_probs is None and checks.t_finite is None


def test_a_source_of_another_shape_is_an_error() -> None:
    scan = NonFiniteScan(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="shape"):
        evaluate_blocked(np.zeros((2, 4, 3)), np.zeros((2, 3), int), scan=scan)


# --- the CLI: one read, the same words ----------------------------------------------------


def big(tmp_path, shape, dtype, axis, seed=0, kinds="hlsn"):
    """A big (> 4 MiB) probabilities .npy, spoilt, and labels."""
    q = spoil(probs(shape, axis, dtype, seed), axis, seed, kinds)
    assert q.nbytes > 4 << 20
    y = labels(q, axis, seed)
    np.save(tmp_path / "q.npy", q)
    np.save(tmp_path / "y.npy", y)
    return q, y, str(tmp_path / "q.npy"), str(tmp_path / "y.npy")


BIG = {  # name: (shape, dtype, options, class axis)
    "float32 rows": ((8_000, 200), np.float32, [], 1),
    "float32 few classes": ((120_000, 10), np.float32, [], 1),
    "float64 in float32": ((8_000, 100), np.float64, ["--dtype", "float32"], 1),
    "float16": ((40_000, 64), np.float16, [], 1),
    "k-dim axis 1": ((50, 5, 5_000), np.float32, [], 1),
    "k-dim axis -1": ((50, 5_000, 5), np.float32, ["--class-axis", "-1"], 2),
}


def no_separate_read(monkeypatch) -> None:
    def separate(*args, **kwargs):
        raise AssertionError("a separate read of big input")

    for name in ("probability_stats", "non_finite_stats"):
        monkeypatch.setattr(diagnostics, name, separate)
        monkeypatch.setattr(engine, name, separate)
        monkeypatch.setattr(scans, name, separate)


@pytest.mark.parametrize("case", BIG)
def test_big_probabilities_warn_as_the_separate_check_did(tmp_path, monkeypatch, case) -> None:
    shape, dtype, opt, axis = BIG[case]
    q, y, qs, ys = big(tmp_path, shape, dtype, axis)
    want = [f"Warning: {m}" for m in old(q, y, axis)]
    assert len(want) == 3
    no_separate_read(monkeypatch)
    commands = {
        "compute": ["compute", qs, ys],
        "insight": ["compute", qs, ys, "--metrics", "--json"],
        "explain": ["explain", qs, ys, "--rows", "2", "--format", "plain"],
        "grad": ["grad", qs, ys, "-o", tmp_path / "g.npy"],
    }
    for threads in ("1", "3"):
        for name, args in commands.items():
            r = run(*args, "--input-kind", "probs", *opt, "--threads", threads)
            assert r.exit_code == 0, (name, r.output)
            got = lines(r.stderr)
            assert got[: len(want)] == want, (name, threads, got)


def test_big_probability_targets_warn_as_the_separate_check_did(tmp_path, monkeypatch) -> None:
    shape = (8_000, 150)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    t = spoil(probs(shape, 1, np.float32, 2), 1, 2)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    kw = {"input_kind": "logits", "targets_kind": "prob", "class_axis": 1}
    want = [f"Warning: {m}" for m in check_inputs(x, t, **kw)]
    assert want == [f"Warning: {m}" for m in expected(x, t, **kw)]
    assert len(want) == 3
    no_separate_read(monkeypatch)
    for threads in ("1", "3"):
        for extra in ([], ["--metrics"]):
            r = run("compute", tmp_path / "x.npy", tmp_path / "t.npy", *extra, "--threads", threads)
            assert r.exit_code == 0, r.output
            assert lines(r.stderr)[:3] == want, (threads, extra)


def test_big_compute_reads_the_probabilities_once(tmp_path, monkeypatch) -> None:
    q, y, qs, ys = big(tmp_path, (40_000, 50), np.float32, 1, kinds="hls")
    want = [f"Warning: {m}" for m in old(q, y, 1)]
    spans: list[tuple[int, int]] = []
    plans: list[object] = []
    load, plan_of = engine_passes.chunk, engine_passes.make_plan

    def counted(plan, w, block, ct):
        spans.append(plan.span(block))
        return load(plan, w, block, ct)

    def planned(*args, **kwargs):
        plans.append(args[0].shape)
        return plan_of(*args, **kwargs)

    monkeypatch.setattr(engine_passes, "chunk", counted)
    monkeypatch.setattr(engine_passes, "make_plan", planned)
    monkeypatch.setattr(scans, "make_plan", planned)  # the separate check's own plan
    monkeypatch.setattr(engine_plan, "make_plan", planned)  # and the analyses' row blocks
    no_separate_read(monkeypatch)
    stderr = []
    for threads in ("1", "3"):
        spans.clear()
        plans.clear()
        r = run("compute", qs, ys, "--input-kind", "probs", "--threads", threads)
        assert r.exit_code == 0, r.output
        assert plans == [q.shape]  # one pass over the input: the loss's
        spans.sort()
        assert spans[0][0] == 0 and spans[-1][1] == len(q) and len(spans) > 1
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # each once
        stderr.append(r.stderr)
    assert stderr[0] == stderr[1]
    assert lines(stderr[0]) == want


def test_strict_prints_and_writes_nothing(tmp_path) -> None:
    q, y, qs, ys = big(tmp_path, (8_000, 200), np.float32, 1, kinds="s")
    [message] = old(q, y, 1)
    error = f"Error: {message} (--strict)"
    prior = tmp_path / "old.npy"
    np.save(prior, np.arange(3.0))
    before = prior.read_bytes()
    commands = [
        ["compute", qs, ys],
        ["compute", qs, ys, "--metrics"],
        ["compute", qs, ys, "--reduction", "none", "-o", prior],
        ["explain", qs, ys],
        ["grad", qs, ys, "-o", prior],
        ["grad", qs, ys, "--format", "csv"],
    ]
    files = sorted(os.listdir(tmp_path))
    for args in commands:
        r = run(*args, "--input-kind", "probs", "--strict")
        assert r.exit_code == 1, (args, r.output)
        assert r.stdout == "", args
        assert lines(r.stderr) == [error], args
        assert prior.read_bytes() == before, args
        assert sorted(os.listdir(tmp_path)) == files, args  # no temporary file left


def test_quiet_is_silent_and_skips_the_check(tmp_path, monkeypatch) -> None:
    q, y, qs, ys = big(tmp_path, (8_000, 200), np.float32, 1)

    def checked(*args, **kwargs):
        raise AssertionError("a check whose warning nobody sees")

    monkeypatch.setattr(ProbabilityScan, "update", checked)
    monkeypatch.setattr(NonFiniteScan, "update", checked)
    no_separate_read(monkeypatch)
    for args in (["compute", qs, ys], ["grad", qs, ys, "-o", tmp_path / "g.npy"]):
        r = run(*args, "--input-kind", "probs", "--quiet")
        assert r.exit_code == 0 and r.stderr == "", (args, r.output)


def test_logprobs_get_no_probability_check(tmp_path, monkeypatch) -> None:
    q, y, qs, ys = big(tmp_path, (8_000, 200), np.float32, 1, kinds="hl")

    def checked(*args, **kwargs):
        raise AssertionError("log-probabilities checked as probabilities")

    monkeypatch.setattr(ProbabilityScan, "update", checked)
    r = run("compute", qs, ys, "--input-kind", "logprobs")
    assert r.exit_code == 0 and r.stderr == "", r.output


def test_small_input_is_checked_before_the_pass(monkeypatch) -> None:
    def no_checks(*args, **kwargs):
        raise AssertionError("small input checked by the pass")

    monkeypatch.setattr(api, "PassChecks", no_checks)
    r = run("compute", "0.5,0.7;1.5,-0.5;0.2,0.8", "0,1,1", "--input-kind", "probs")
    assert r.exit_code == 0, r.output
    assert lines(r.stderr)[:2] == [
        "Warning: input probabilities hold values outside [0, 1] (first at sample 1, class 0: 1.5)",
        "Warning: input probabilities of 1 sample do not sum to 1 (first: sample 0 sums to "
        "1.2); they are used as given",
    ]
