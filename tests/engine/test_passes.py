"""The engine's passes (xent_cli.engine.passes) against the simple path (the public API on
small arrays: the in-memory reference, xent_cli.core) and torch.

Blocks are forced tiny (``block_rows``) so that every test crosses many block boundaries;
results must not depend on the block size or the number of threads. Tolerances: float64
agrees with the simple path to 1e-12 and with torch to 1e-9; float32 and float16 (computed
in float32) to 1e-6 (gradients: plus 1e-7 of their largest value, one float32 rounding of a
probability). No timing assertions here: speed is measured by bench/.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.helpers import (
    call,
    close,
    evaluate_blocked,
    expected_non_finite,
    expected_probabilities,
    grad_blocked,
    targets,
)
from xent_cli import api, core
from xent_cli.analysis import diagnostics
from xent_cli.cli.env import Env
from xent_cli.cli.progress import progress_bar
from xent_cli.core.checks import normalize_class_axis
from xent_cli.engine import passes as engine_passes
from xent_cli.engine.kernels import f16_to_f32
from xent_cli.engine.passes import softmax as softmax_blocked
from xent_cli.engine.scans import non_finite_stats

RTOL = {np.float64: 1e-12, np.float32: 1e-6, np.float16: 1e-6}


def make(shape, class_axis, dtype, seed=0, ignore_every=4):
    """Logits, index targets (every ``ignore_every``-th ignored), probability targets,
    class weights and sample weights for an input of ``shape``."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    axis = normalize_class_axis(len(shape), class_axis)
    n_classes = shape[axis]
    batch = shape[:axis] + shape[axis + 1 :]
    y = rng.integers(0, n_classes, batch)
    if y.size and ignore_every:
        y.reshape(-1)[1::ignore_every] = -100
    q = rng.random(shape)
    q /= q.sum(axis=axis, keepdims=True)
    w = rng.random(n_classes) + 0.1
    sw = rng.random(batch) + 0.1
    return x, y, q, w, sw


SHAPES = [
    ((37, 5), 1),  # odd N, small C: transposed blocks
    ((37, 100), 1),  # row blocks
    ((29, 1), 1),  # C = 1: loss 0
    ((31, 2), 1),  # C = 2
    ((11, 1000), 1),  # C = 1000
    ((9,), 0),  # one sample
    ((7, 3, 11), 1),  # K-dim, class axis 1 (blocks over the spatial axis)
    ((5, 9, 70), -1),  # K-dim, class axis -1 (LLM layout)
    ((4, 3, 5, 2), 1),  # 2 spatial axes
    ((5, 3, 70, 2), 2),  # classes in the middle, big C
    ((6, 13), 0),  # classes on axis 0 of a 2-D input
]

OPTIONS = [
    {},
    {"weight": True},
    {"label_smoothing": 0.2},
    {"weight": True, "label_smoothing": 0.3, "sample_weight": True},
    {"sample_weight": True},
    {"input_kind": "probs"},
    {"input_kind": "logprobs", "weight": True},
]


def options(opts, w, sw):
    kw = dict(opts)
    if kw.pop("weight", False):
        kw["weight"] = w
    if kw.pop("sample_weight", False):
        kw["sample_weight"] = sw
    return kw


def as_kind(x, axis, kind):
    if kind == "probs":
        return api.softmax(x.astype(np.float64), axis=axis).astype(x.dtype)
    if kind == "logprobs":
        return api.log_softmax(x.astype(np.float64), axis=axis).astype(x.dtype)
    return x


# ---------------------------------------------------------------- blocked == simple


@pytest.mark.parametrize("shape,class_axis", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("soft", [False, True], ids=["index", "prob"])
def test_evaluate_and_grad_match_simple_path(shape, class_axis, dtype, soft):
    x, y, q, w, sw = make(shape, class_axis, dtype)
    axis = normalize_class_axis(len(shape), class_axis)
    rtol = RTOL[dtype]
    for opts in OPTIONS:
        kw = options(opts, w, sw)
        xx = as_kind(x, axis, kw.get("input_kind"))
        target = q if soft else y
        for reduction in ("mean", "sum", "none"):
            args = dict(kw, reduction=reduction, class_axis=class_axis)
            want = api.evaluate(xx, target, **args)
            want_g = api.cross_entropy_grad(xx, target, **args)
            for block_rows in (1, 3):
                got = evaluate_blocked(xx, target, block_rows=block_rows, threads=2, **args)
                close(got.per_sample, want.per_sample, rtol)
                close(got.loss, want.loss, rtol)
                assert (got.count, got.weight_sum) == (want.count, want.weight_sum)
                assert got.reduction == reduction
                g = grad_blocked(xx, target, block_rows=block_rows, threads=2, **args)
                assert g.dtype == np.float64
                close(g, want_g, rtol, grad_scale=True)


@pytest.mark.parametrize("shape,class_axis", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_simple_path(shape, class_axis, dtype, log):
    x = make(shape, class_axis, dtype)[0]
    axis = normalize_class_axis(len(shape), class_axis)
    want = (api.log_softmax if log else api.softmax)(x, axis=axis)
    for block_rows in (1, 4, None):
        got = softmax_blocked(x, axis, log=log, block_rows=block_rows, threads=2)
        assert got.dtype == want.dtype
        close(got, want, RTOL[dtype], grad_scale=True)


def test_ignored_targets_straddling_blocks():
    # Blocks of 3 samples; ignored runs cross every boundary, one block is all ignored.
    x, _, _, w, _ = make((20, 7), 1, np.float64)
    y = np.array([0, 1, -100, -100, -100, -100, 2, 3, -100, 4, 5, 6, 0, -100, -100, 1, 2, 3, 4, 5])
    for kw in ({}, {"weight": w}, {"weight": w, "label_smoothing": 0.1}):
        want = api.evaluate(x, y, **kw)
        got = evaluate_blocked(x, y, block_rows=3, **kw)
        close(got.per_sample, want.per_sample, 1e-12)
        assert got.per_sample[2:6].tolist() == [0.0] * 4
        close(got.loss, want.loss, 1e-12)
        close(
            grad_blocked(x, y, block_rows=3, **kw),
            api.cross_entropy_grad(x, y, **kw),
            1e-12,
            grad_scale=True,
        )


def test_ignore_index_that_is_a_real_class():
    x, y, _, _, _ = make((25, 6), 1, np.float32, ignore_every=0)
    want = api.evaluate(x, y, ignore_index=2)
    got = evaluate_blocked(x, y, ignore_index=2, block_rows=4)
    close(got.per_sample, want.per_sample, 1e-6)
    assert got.count == want.count < 25


def test_all_ignored_mean_is_nan_and_grad_zero():
    x = np.ones((10, 3))
    y = np.full(10, -100)
    r = evaluate_blocked(x, y, block_rows=3)
    assert np.isnan(r.loss) and r.count == 0 and r.weight_sum == 0.0
    np.testing.assert_array_equal(grad_blocked(x, y, block_rows=3), np.zeros((10, 3)))


def test_empty_batch():
    x = np.zeros((0, 4), np.float32)
    want = api.evaluate(x, np.zeros(0, np.int64))
    got = evaluate_blocked(x, np.zeros(0, np.int64))
    assert np.isnan(got.loss) and np.isnan(want.loss) and got.per_sample.shape == (0,)


def test_non_finite_logits_as_simple_path():
    x, y, _, w, _ = make((12, 70), 1, np.float32, ignore_every=3)
    x[0, 5], x[2, 0], x[4, :] = np.nan, np.inf, -np.inf  # row 1 is ignored: its loss stays 0
    x[1, 3] = np.nan
    for kw in ({}, {"label_smoothing": 0.2, "weight": w}):
        want = api.evaluate(x, y, reduction="none", **kw)
        got = evaluate_blocked(x, y, reduction="none", block_rows=5, **kw)
        close(got.per_sample, want.per_sample, 1e-6)
        close(
            grad_blocked(x, y, block_rows=5, **kw),
            api.cross_entropy_grad(x, y, **kw),
            1e-6,
            grad_scale=True,
        )


def test_weights_summing_to_zero_take_the_simple_formula():
    x, _, _, _, _ = make((9, 2), 1, np.float64)
    y = np.zeros(9, np.int64)
    kw = {"weight": [0.0, 1.0], "label_smoothing": 0.2}
    close(grad_blocked(x, y, block_rows=2, **kw), api.cross_entropy_grad(x, y, **kw), 1e-12)


# ---------------------------------------------------------------- threads, layouts


def test_threads_give_identical_results():
    x, y, _, w, _ = make((301, 130), 1, np.float32)
    one = evaluate_blocked(x, y, weight=w, threads=1, block_rows=7)
    two = evaluate_blocked(x, y, weight=w, threads=2, block_rows=7)
    np.testing.assert_array_equal(one.per_sample, two.per_sample)
    assert one.loss == two.loss
    np.testing.assert_array_equal(
        grad_blocked(x, y, threads=1, block_rows=7),
        grad_blocked(x, y, threads=2, block_rows=7),
    )


def test_block_size_does_not_change_the_answer():
    x, y, _, _, _ = make((257, 10), 1, np.float64)
    results = {evaluate_blocked(x, y, block_rows=b).loss for b in (1, 2, 64, None)}
    assert len(results) == 1


@pytest.mark.parametrize("shape,class_axis", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float16])
@pytest.mark.parametrize("soft", [False, True], ids=["index", "prob"])
def test_observe_sees_each_block_once_with_its_rows_targets_and_losses(
    shape, class_axis, dtype, soft
):
    # What the insight pass builds on: in the loss pass itself, each sample exactly once,
    # with the log-probabilities the core computes for its row (bit for bit), its targets
    # and the very losses of the result; and the result is the one without observe.
    x, y, q, w, sw = make(shape, class_axis, dtype)
    axis = normalize_class_axis(len(shape), class_axis)
    target = q if soft else y
    for opts in ({}, {"input_kind": "probs"}, {"label_smoothing": 0.2, "sample_weight": True}):
        kw = dict(options(opts, w, sw), class_axis=class_axis, reduction="none")
        xx = as_kind(x, axis, kw.get("input_kind"))
        seen = []

        def observe(start, logp, t, loss, seen=seen):
            seen.append((start, logp.copy(), t, loss.copy()))

        got = evaluate_blocked(xx, target, block_rows=3, threads=2, observe=observe, **kw)
        plain = evaluate_blocked(xx, target, block_rows=3, threads=2, **kw)
        np.testing.assert_array_equal(got.per_sample, plain.per_sample)
        seen.sort(key=lambda s: s[0])
        starts = [s[0] for s in seen]
        sizes = [len(s[1]) for s in seen]
        assert starts == list(np.cumsum([0] + sizes)[:-1])
        t = targets(xx.shape, target, class_axis=class_axis)
        assert sum(sizes) == t.n_rows
        if not seen:
            continue
        rows = np.ascontiguousarray(t.rows(xx))
        want = core.row_log_probs(core.as_float(rows), kw.get("input_kind", "logits"))
        np.testing.assert_array_equal(np.concatenate([s[1] for s in seen]), want)
        np.testing.assert_array_equal(
            np.concatenate([s[3] for s in seen]), got.per_sample.reshape(-1)
        )
        np.testing.assert_array_equal(np.concatenate([s[2].valid for s in seen]), t.valid)
        if soft:
            np.testing.assert_array_equal(np.concatenate([s[2].prob for s in seen]), t.prob)
        else:
            np.testing.assert_array_equal(np.concatenate([s[2].index for s in seen]), t.index)


@pytest.mark.parametrize("layout", ["fortran", "strided", "fortran3d"])
def test_non_contiguous_inputs(layout):
    x, y, _, _, _ = make((23, 12), 1, np.float32)
    if layout == "fortran":
        x = np.asfortranarray(x)
    elif layout == "strided":
        x = np.ascontiguousarray(np.repeat(x, 2, axis=1))[:, ::2]
    else:
        x = np.asfortranarray(make((4, 12, 6), 1, np.float32)[0])
        y = make((4, 12, 6), 1, np.float32)[1]
    want = api.evaluate(np.ascontiguousarray(x), y)
    got = evaluate_blocked(x, y, block_rows=5)
    close(got.per_sample, want.per_sample, 1e-6)


def test_progress_reports_from_the_calling_thread():
    import threading

    x, y, _, _, _ = make((100, 20), 1, np.float64)
    calls = []
    caller = threading.get_ident()

    def progress(done, total):
        assert threading.get_ident() == caller
        calls.append((done, total))

    evaluate_blocked(x, y, block_rows=7, threads=2, progress=progress)
    assert calls[-1] == (100, 100)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_progress_bar_only_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    x, y, _, _, _ = make((200, 30), 1, np.float32)
    with progress_bar("piped", Env(stderr=io.StringIO())) as progress:
        assert progress is None
    term = Terminal()
    with progress_bar("xent compute", Env(stderr=term), delay=0.0) as progress:
        assert progress is not None
        progress(10, 200)
        evaluate_blocked(x, y, block_rows=1, progress=progress)
    assert "xent compute" in term.getvalue()
    quick = Terminal()
    with progress_bar("quick", Env(stderr=quick), delay=60.0) as progress:
        evaluate_blocked(x, y, block_rows=1, progress=progress)
    assert quick.getvalue() == ""  # short runs draw nothing


def test_errors_match_the_simple_path():
    x = np.zeros((3, 4))
    for target, kw in (([0, 4, 1], {}), ([0, 1], {}), ([0, 1, 2], {"weight": [1, 2]})):
        with pytest.raises(ValueError) as simple:
            api.evaluate(x, target, **kw)
        with pytest.raises(ValueError) as blocked:
            evaluate_blocked(x, target, **kw)
        assert str(simple.value) == str(blocked.value)
    with pytest.raises(ValueError, match="label_smoothing"):
        evaluate_blocked(x, [0, 1, 2], label_smoothing=-0.1)
    with pytest.raises(ValueError, match="out has shape"):
        grad_blocked(x, [0, 1, 2], out=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="C-contiguous"):
        softmax_blocked(x, 1, out=np.zeros((4, 3)).T)
    with pytest.raises(ValueError, match="threads"):
        evaluate_blocked(x, [0, 1, 2], threads=0)


def test_worker_errors_reach_the_caller():
    x = np.zeros((50, 4))

    class BoomError(RuntimeError):
        pass

    def progress(done, total):
        raise BoomError

    with pytest.raises(BoomError):
        evaluate_blocked(x, np.zeros(50, np.int64), block_rows=1, threads=2, progress=progress)


# ---------------------------------------------------------------- files, dispatch


def test_memmapped_npy_input(tmp_path):
    x, y, q, w, _ = make((64, 6, 33), -1, np.float32)
    path = tmp_path / "logits.npy"
    np.save(path, x)
    mm = np.load(path, mmap_mode="r")
    # Small files stay on the simple path (same bits as parsed text); force the blocked one.
    assert isinstance(mm, np.memmap) and not api.blocked(mm)
    for target, kw in ((y, {"weight": w}), (q, {"label_smoothing": 0.1})):
        want = api.evaluate(x, target, class_axis=-1, **kw)
        got = evaluate_blocked(mm, target, class_axis=-1, block_rows=7, **kw)
        close(got.per_sample, want.per_sample, 1e-6)
        close(got.loss, want.loss, 1e-6)


def test_memmapped_float16_and_probability_targets(tmp_path):
    x, _, q, _, _ = make((40, 3, 9), 1, np.float16)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "q.npy", q)
    mx = np.load(tmp_path / "x.npy", mmap_mode="r")
    mq = np.load(tmp_path / "q.npy", mmap_mode="r")
    want = api.evaluate(np.asarray(x), np.asarray(q), reduction="sum")
    got = evaluate_blocked(mx, mq, reduction="sum", block_rows=5)
    close(got.loss, want.loss, 1e-6)


def test_grad_and_softmax_into_open_memmap(tmp_path):
    x, y, _, _, _ = make((77, 40), 1, np.float32)
    np.save(tmp_path / "x.npy", x)
    mx = np.load(tmp_path / "x.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(tmp_path / "g.npy", "w+", np.float64, mx.shape)
    assert grad_blocked(mx, y, out=out, block_rows=6) is out
    out.flush()
    del out
    close(np.load(tmp_path / "g.npy"), api.cross_entropy_grad(x, y), 1e-6, grad_scale=True)
    for log, dtype in ((False, np.float32), (True, np.float64)):
        out = np.lib.format.open_memmap(tmp_path / "s.npy", "w+", dtype, mx.shape)
        softmax_blocked(mx, 1, log=log, out=out, block_rows=10)
        out.flush()
        del out
        want = (api.log_softmax if log else api.softmax)(x, axis=1)
        close(np.load(tmp_path / "s.npy"), want, 1e-6, grad_scale=True)


def test_core_dispatches_big_inputs(monkeypatch, limits):
    x, y = make((4100, 300), 1, np.float32)[:2]  # 4.9 MB: more than 4 MiB
    assert api.blocked(x) and not api.blocked(x[:100])
    calls = []
    real = engine_passes.evaluate

    def spy(*args, **kw):
        calls.append(kw["threads"])
        return real(*args, **kw)

    monkeypatch.setattr(engine_passes, "evaluate", spy)  # what xent_cli.api calls for a big input
    big = api.evaluate(x, y, threads=1)
    api.evaluate(x[:100], y[:100])
    assert calls == [1]  # only the big input, with its threads
    grad = api.cross_entropy_grad(x, y)
    soft = api.softmax(x, axis=1)
    log = api.log_softmax(x, axis=1)
    limits(blocked_bytes=1 << 40)  # now everything takes the simple path
    assert not api.blocked(x)
    close(big.per_sample, api.evaluate(x, y).per_sample, 1e-6)
    close(big.loss, api.evaluate(x, y).loss, 1e-6)
    close(grad, api.cross_entropy_grad(x, y), 1e-6, grad_scale=True)
    close(soft, api.softmax(x, axis=1), 1e-6, grad_scale=True)
    close(log, api.log_softmax(x, axis=1), 1e-6)


# ---------------------------------------------------------------- float16, checks


def test_f16_conversion_is_exact_for_every_value():
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    out = np.empty(h.shape, np.float32)
    f16_to_f32(h, out)
    want = h.astype(np.float32)
    np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))
    strided = np.empty((256, 512), np.float16)[:, ::2]
    strided[...] = h.reshape(256, 256)
    out2 = np.empty(strided.shape, np.float32)
    f16_to_f32(strided, out2)
    np.testing.assert_array_equal(out2.view(np.uint32), want.reshape(256, 256).view(np.uint32))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_non_finite_check_blocked_equals_simple(dtype):
    # One implementation now (the block-wise scans): checked against the warning made here.
    x = np.zeros((300, 7, 5), dtype)
    assert diagnostics.non_finite_input(x) == [] == expected_non_finite(x, 1, "logits")
    x[3, 2, 1], x[200, 0, 0], x[299, 6, 4] = np.inf, np.nan, -np.inf
    want = expected_non_finite(x, 1, "logits")
    assert want == ["logits hold 3 non-finite values (first at position (3, 1), class 2: inf)"]
    assert diagnostics.non_finite_input(x) == want
    assert want and diagnostics.non_finite_input(x, threads=2) == want
    assert non_finite_stats(x[:, :, ::2]) == (2, 200 * 21)  # (3, 2, 1) is skipped
    assert non_finite_stats(np.asfortranarray(x))[0] == 3


def test_probability_checks_blocked_equal_simple():
    rng = np.random.default_rng(3)
    q = rng.random((50, 8, 4))
    q /= q.sum(axis=1, keepdims=True)
    assert diagnostics.probabilities(q, 1, "p") == [] == expected_probabilities(q, 1, "p")
    q[7, 2, 1] = 1.5
    q[30, :, 3] = np.nan
    q[40, 0, 0] = -0.25
    want = expected_probabilities(q, 1, "probability targets")
    assert len(want) == 2
    assert want == [
        "probability targets hold values outside [0, 1] (first at position (7, 1), class 2: 1.5)",
        "probability targets of 2 samples do not sum to 1 (first: position (7, 1) sums to "
        "2.3509); they are used as given",
    ]
    assert diagnostics.probabilities(q, 1, "probability targets") == want
    kw = {"input_kind": "probs", "targets_kind": "prob", "class_axis": 1}
    c = call(q, q, **kw)
    both = (
        expected_non_finite(q, 1, "probabilities")
        + expected_probabilities(q, 1, "input probabilities")
        + expected_non_finite(q, 1, "probability targets")
        + expected_probabilities(q, 1, "probability targets")
    )
    assert len(both) == 6
    assert diagnostics.check_inputs(c.x, c.targets, c.spec) == both


# ---------------------------------------------------------------- against torch


def torch_losses(x, y, class_axis, **kw):
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    axis = normalize_class_axis(x.ndim, class_axis)
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, axis, 1 if x.ndim > 1 else 0)))
    yt = torch.from_numpy(
        np.ascontiguousarray(np.moveaxis(y, axis, 1) if y.shape == x.shape else y)
    )
    out = {}
    for reduction in ("mean", "sum"):
        out[reduction] = float(f.cross_entropy(xt, yt, reduction=reduction, **kw))
    return out


@pytest.mark.parametrize("shape,class_axis", [s for s in SHAPES if len(s[0]) > 1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("soft", [False, True], ids=["index", "prob"])
def test_blocked_matches_torch(shape, class_axis, dtype, soft):
    torch = pytest.importorskip("torch")
    x, y, q, w, _ = make(shape, class_axis, dtype)
    target = q.astype(dtype) if soft else y
    rtol = 1e-9 if dtype == np.float64 else 1e-5
    for kw in ({}, {"label_smoothing": 0.15}, {"weight": w}):
        tkw = dict(kw)
        if "weight" in tkw:
            tkw["weight"] = torch.from_numpy(w.astype(dtype))
        want = torch_losses(x, target, class_axis, **tkw)
        for reduction in ("mean", "sum"):
            got = evaluate_blocked(
                x, target, class_axis=class_axis, reduction=reduction, block_rows=2, **kw
            )
            close(got.loss, want[reduction], rtol)


def test_blocked_grad_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    x, y, _, w, _ = make((41, 3, 17), 1, np.float64)
    xt = torch.from_numpy(x).requires_grad_()
    loss = torch.nn.functional.cross_entropy(
        xt, torch.from_numpy(y), weight=torch.from_numpy(w), label_smoothing=0.1
    )
    loss.backward()
    got = grad_blocked(x, y, weight=w, label_smoothing=0.1, block_rows=4)
    close(got, xt.grad.numpy(), 1e-9, grad_scale=True)


# ---------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    c=st.integers(1, 80),
    block_rows=st.integers(1, 9),
    smoothing=st.sampled_from([0.0, 0.25]),
    weighted=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_blocked_equals_simple(n, c, block_rows, smoothing, weighted, seed):
    x, y, _, w, _ = make((n, c), 1, np.float64, seed=seed, ignore_every=3)
    kw = {"label_smoothing": smoothing, "weight": w if weighted else None}
    want = api.evaluate(x, y, reduction="none", **kw)
    got = evaluate_blocked(x, y, reduction="none", block_rows=block_rows, **kw)
    close(got.per_sample, want.per_sample, 1e-12)


def test_views_without_copy_on_numpy_before_2_1(monkeypatch):
    from xent_cli.engine.plan import reshaped

    real = np.reshape

    def old_reshape(a, shape, **kw):
        if "copy" in kw:
            raise TypeError("reshape() got an unexpected keyword argument 'copy'")
        return real(a, shape)

    monkeypatch.setattr(np, "reshape", old_reshape)
    a = np.arange(12.0).reshape(4, 3)
    v = reshaped(a, (12,))
    assert v is not None and np.shares_memory(v, a)
    assert reshaped(a.T, (12,)) is None
    x, y, _, _, _ = make((4, 12, 6), 1, np.float32)
    got = evaluate_blocked(np.asfortranarray(x), y, block_rows=5)
    monkeypatch.undo()
    close(got.per_sample, api.evaluate(x, y).per_sample, 1e-6)
