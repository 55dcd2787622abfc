"""Insight accumulators: each metric against an independent computation (NumPy by hand, and
torch where it defines the same quantity), with ignored targets, weights, smoothing, soft
targets and K-dim input; blocks handed in any order fold to the one-pass bits.
"""

from __future__ import annotations

import math
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.helpers import analyze, evaluate_blocked, evaluate_with_insight
from xent_cli import evaluate
from xent_cli.analysis import insight
from xent_cli.analysis.insight import Accumulator
from xent_cli.analysis.records import histogram
from xent_cli.core.targets import prepare_targets
from xent_cli.engine.plan import block_rows, iter_log_probs, iter_rows, row_plan
from xent_cli.engine.runner import InOrder
from xent_cli.spec import LossSpec

ROOT = Path(__file__).resolve().parents[2]
ALL = dict(metrics=True, per_class=True, worst=5, hist=True)


# --- an independent reference, sample by sample ------------------------------------------


def _softmax_row(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def reference(rows, target, *, k=5, ignore=-100, losses=None, n_worst=5):
    """Every metric by hand, one sample at a time (rows: (M, C) logits; target: (M,) indices
    or (M, C) probabilities; losses: the per-sample losses, default -log p[y])."""
    m, c = rows.shape
    used, cls, nll, hit, top, ent, conf, p_true = [], [], [], [], [], [], [], []
    for i in range(m):
        if target.ndim == 1 and target[i] == ignore:
            continue
        p = _softmax_row(rows[i])
        y = int(np.argmax(target[i])) if target.ndim == 2 else int(target[i])
        used.append(i)
        cls.append(y)
        nll.append(-np.sum(target[i] * np.log(p)) if target.ndim == 2 else -math.log(p[y]))
        hit.append(int(np.argmax(p)) == y)
        top.append(y in np.argsort(-p)[:k])
        ent.append(-sum(pc * math.log(pc) for pc in p if pc > 0))
        conf.append(p.max())
        p_true.append(p[y])
    n = len(used)
    if n == 0:
        return {"count": 0, "worst": []}
    loss = np.array([losses[i] for i in used]) if losses is not None else np.array(nll)
    ece = 0.0
    for b in range(15):
        lo, hi = b / 15, (b + 1) / 15
        inb = [j for j in range(n) if (lo < conf[j] <= hi) or (b == 0 and conf[j] == 0)]
        if inb:
            acc_b = np.mean([hit[j] for j in inb])
            conf_b = np.mean([conf[j] for j in inb])
            ece += len(inb) / n * abs(acc_b - conf_b)
    per_class = []
    for c_ in range(c):
        js = [j for j in range(n) if cls[j] == c_]
        per_class.append(
            (
                len(js),
                np.mean(loss[js]),
                np.mean([hit[j] for j in js]),
                np.mean([p_true[j] for j in js]),
            )
            if js
            else (0, None, None, None)
        )
    order = sorted(range(n), key=lambda j: (-loss[j], used[j]))[:n_worst]
    return {
        "accuracy": np.mean(hit),
        "top": np.mean(top) if c > k else None,
        "perplexity": math.exp(np.mean(nll)),
        "bits": np.mean(nll) / math.log(2),
        "entropy": np.mean(ent),
        "ece": ece,
        "count": n,
        "per_class": per_class,
        "worst": [(used[j], cls[j], float(loss[j])) for j in order],
        "losses": loss,
    }


def check(res, ref) -> None:
    m = res.metrics
    assert m.count == ref["count"]
    assert m.accuracy == pytest.approx(ref["accuracy"], rel=1e-12)
    if ref["top"] is None:
        assert m.top_k_accuracy is None
    else:
        assert m.top_k_accuracy == pytest.approx(ref["top"], rel=1e-12)
    assert m.perplexity == pytest.approx(ref["perplexity"], rel=1e-10)
    assert m.bits_per_sample == pytest.approx(ref["bits"], rel=1e-10)
    assert m.mean_entropy == pytest.approx(ref["entropy"], rel=1e-10)
    assert m.ece == pytest.approx(ref["ece"], rel=1e-9, abs=1e-12)
    for row, (s, loss, acc, p) in zip(res.per_class, ref["per_class"], strict=True):
        assert row["support"] == s
        if s == 0:
            assert row["loss"] is row["accuracy"] is row["mean_p_true"] is None
        else:
            assert row["loss"] == pytest.approx(loss, rel=1e-10)
            assert row["accuracy"] == pytest.approx(acc, rel=1e-12)
            assert row["mean_p_true"] == pytest.approx(p, rel=1e-10)
    got = [(w["index"], w["target"], w["loss"]) for w in res.worst]
    assert [g[:2] for g in got] == [r[:2] for r in ref["worst"]]
    assert [g[2] for g in got] == pytest.approx([r[2] for r in ref["worst"]], rel=1e-12)


def _data(seed=0, m=60, c=7):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2, (m, c)), rng.integers(0, c, m)


# --- metrics against the reference ---------------------------------------------------------


def test_plain_index_targets() -> None:
    x, y = _data()
    check(analyze(x, y, **ALL), reference(x, y))


def test_ignored_targets_are_left_out_but_counted_in_index() -> None:
    x, y = _data(1)
    y[::4] = -100
    res = analyze(x, y, **ALL)
    check(res, reference(x, y))
    assert res.metrics.count == 45
    assert all(w["index"] % 4 for w in res.worst)


def test_custom_ignore_index_and_a_class_with_no_support() -> None:
    x, y = _data(2)
    y[y == 3] = 0
    y[::5] = 6
    res = analyze(x, y, ignore_index=6, **ALL)
    check(res, reference(x, y, ignore=6))
    assert res.per_class[3]["support"] == 0 and res.per_class[6]["support"] == 0


@pytest.mark.parametrize(
    "opts",
    [
        dict(weight=[1, 2, 3, 1, 0.5, 2, 1]),
        dict(label_smoothing=0.2),
        dict(sample_weight=np.linspace(0.1, 2, 60)),
        dict(weight=[1] * 7, label_smoothing=0.1),
    ],
)
def test_weights_and_smoothing_change_the_loss_columns_not_the_metrics(opts) -> None:
    x, y = _data(3)
    y[::7] = -100
    per = evaluate(x, y, reduction="none", **opts).per_sample
    res = analyze(x, y, per_sample=per, **ALL, **opts)
    check(res, reference(x, y, losses=per))
    plain = analyze(x, y, metrics=True)
    assert res.metrics == plain.metrics  # metrics are unweighted and unsmoothed
    hist = histogram(per[y != -100])
    assert res.histogram == hist


def test_soft_targets_use_their_argmax() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 2, (40, 6))
    q = rng.dirichlet(np.ones(6) * 0.5, 40)
    per = evaluate(x, q, reduction="none", label_smoothing=0.1).per_sample
    res = analyze(x, q, per_sample=per, **ALL)
    check(res, reference(x, q, losses=per))


def test_top_k_is_null_when_c_is_at_most_k() -> None:
    x, y = _data(5, c=5)
    assert analyze(x, y, metrics=True, topk=5).metrics.top_k_accuracy is None
    assert analyze(x, y, metrics=True, topk=4).metrics.top_k_accuracy is not None
    check(analyze(x, y, topk=2, **ALL), reference(x, y, k=2))


@pytest.mark.parametrize("kind", ["probs", "logprobs"])
def test_probability_and_log_probability_input(kind) -> None:
    x, y = _data(6)
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    given = p if kind == "probs" else np.log(p)
    check(analyze(given, y, input_kind=kind, **ALL), reference(x, y))


def test_all_ignored_gives_nan_metrics() -> None:
    x, _ = _data(7, m=4)
    res = analyze(x, np.full(4, -100), **ALL)
    assert res.metrics.count == 0 and math.isnan(res.metrics.accuracy)
    assert res.worst == [] and sum(res.histogram["counts"]) == 0


def test_worked_example() -> None:
    x = np.arange(1.0, 13.0).reshape(3, 4)
    res = analyze(x, [1, 2, 3], **ALL)
    # p[y] = 0.0871, 0.2369, 0.6439; only sample 2 is right; loss = -log p[y]
    assert res.metrics.accuracy == pytest.approx(1 / 3)
    assert res.metrics.perplexity == pytest.approx(math.exp(1.4401896985611955), rel=1e-14)
    assert [w["index"] for w in res.worst] == [0, 1, 2]


# --- K-dim input ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape,axis", [((3, 5, 2, 4), 1), ((4, 6, 5), -1), ((5, 3), 0)])
def test_k_dim_matches_the_flattened_rows(shape, axis) -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(0, 2, shape)
    c = shape[axis]
    batch = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    y = rng.integers(0, c, batch)
    y.reshape(-1)[::3] = -100
    res = analyze(x, y, class_axis=axis, **ALL)
    rows = np.moveaxis(x, axis, -1).reshape(-1, c)
    ref = reference(rows, y.reshape(-1))
    flat = [w["index"] for w in res.worst]
    res_flat = [
        int(np.ravel_multi_index(tuple(i), batch)) if isinstance(i, list) else i for i in flat
    ]
    assert res_flat == [r[0] for r in ref["worst"]]
    if len(batch) > 1:
        assert all(isinstance(i, list) and len(i) == len(batch) for i in flat)
    assert res.metrics.accuracy == pytest.approx(ref["accuracy"])
    assert res.metrics.ece == pytest.approx(ref["ece"], abs=1e-12)


def test_one_d_input_is_one_sample() -> None:
    res = analyze(np.array([1.0, 3.0, 2.0]), np.array(1), **ALL)
    assert res.metrics.count == 1 and res.metrics.accuracy == 1.0
    assert res.worst[0]["index"] == 0


# --- torch, where it defines the same quantity ---------------------------------------------


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F  # noqa: N812

    rng = np.random.default_rng(9)
    x = rng.normal(0, 2, (2, 8, 5, 3))
    y = rng.integers(0, 8, (2, 5, 3))
    y[0, 1] = -100
    w = rng.uniform(0.5, 2, 8)
    per = evaluate(x, y, weight=w, label_smoothing=0.1, reduction="none").per_sample
    res = analyze(x, y, per_sample=per, topk=3, **ALL)
    tx, ty = torch.tensor(x), torch.tensor(y)
    valid = ty != -100
    logits = tx.movedim(1, -1)[valid]  # (n, C) rows of the targets used
    labels = ty[valid]
    m = res.metrics
    assert m.accuracy == pytest.approx((logits.argmax(1) == labels).double().mean().item())
    top3 = (logits.topk(3, dim=1).indices == labels[:, None]).any(1).double().mean().item()
    assert m.top_k_accuracy == pytest.approx(top3)
    assert m.perplexity == pytest.approx(math.exp(F.cross_entropy(tx, ty).item()), rel=1e-12)
    ent = torch.distributions.Categorical(logits=logits).entropy().mean().item()
    assert m.mean_entropy == pytest.approx(ent, rel=1e-12)
    tper = F.cross_entropy(tx, ty, weight=torch.tensor(w), label_smoothing=0.1, reduction="none")
    for c, row in enumerate(res.per_class):
        assert row["loss"] == pytest.approx(tper[ty == c].mean().item(), rel=1e-12)
    top_loss = torch.topk(tper.reshape(-1), 5).values.tolist()
    assert [r["loss"] for r in res.worst] == pytest.approx(top_loss, rel=1e-12)


# --- block by block ---------------------------------------------------------------------------


def _feed_blocks(x, y, sizes, order, **opts) -> Accumulator:
    per = evaluate(x, y, reduction="none").per_sample
    acc = Accumulator(x.shape[1], batch_shape=(x.shape[0],), worst=5, hist=True, **opts)
    logp = np.concatenate([lp for _, lp in iter_log_probs(x)])
    bounds = np.cumsum([0, *sizes])
    for b in order:
        s, e = bounds[b], bounds[b + 1]
        acc.update(logp[s:e], y[s:e], int(s), loss=per[s:e])
    return acc


def test_blocks_handed_in_scrambled_order_give_the_one_pass_bits(monkeypatch) -> None:
    # analyze's blocks (13 rows here), measured and handed to InOrder in a scrambled order,
    # must fold to exactly what one pass adding them in sample order gives, and to what
    # analyze gives. Adding them in their arrival order does not: the float sums differ.
    x, y = _data(10, m=300, c=9)
    y[::9] = -100
    per = evaluate(x, y, reduction="none", label_smoothing=0.1).per_sample
    block_bytes = 9 * 8 * 13
    monkeypatch.setattr(insight, "row_plan", partial(row_plan, block_bytes=block_bytes))
    blocks = list(iter_log_probs(x, block_bytes=block_bytes))
    assert len(blocks) == 24

    def accumulator() -> Accumulator:
        return Accumulator(9, batch_shape=(300,), topk=3, worst=5, hist=True)

    def result(acc: Accumulator):
        return acc.result(metrics=True, per_class=True, worst=True, hist=True)

    def part(acc: Accumulator, b: int):
        s, lp = blocks[b]
        e = s + lp.shape[0]
        return s, e, acc.measure(lp, y[s:e], s, loss=per[s:e])

    one = accumulator()
    for s, lp in blocks:  # one pass, in sample order
        one.update(lp, y[s : s + lp.shape[0]], s, loss=per[s : s + lp.shape[0]])
    want = result(one)
    assert _same(want, analyze(x, y, per_sample=per, topk=3, threads=1, **ALL))

    scrambled = np.random.default_rng(3).permutation(len(blocks))
    assert scrambled[0] != 0
    acc = accumulator()
    order = InOrder(acc.add)
    for b in scrambled:
        order.put(*part(acc, b))
    assert order.stop == 300 and order.waiting == 0
    got = result(acc)
    assert _same(got, want) and got == want

    naive = accumulator()  # the same parts added as they arrive: not the same bits
    for b in scrambled:
        naive.add(part(naive, b)[2])
    assert not _same(result(naive), want)


def test_memory_mapped_input_equals_in_memory(tmp_path) -> None:
    x, y = _data(11, m=300, c=9)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert analyze(mm, y, **ALL) == analyze(x, y, **ALL)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    axis_seed=st.integers(0, 3),
    block_bytes=st.sampled_from([1, 40, 100, 1000, 1 << 20]),
)
def test_iter_rows_is_the_flat_sample_order(shape, axis_seed, block_bytes) -> None:
    shape = tuple(shape)
    axis = axis_seed % len(shape)
    x = np.arange(float(np.prod(shape))).reshape(shape)
    batch = shape[:axis] + shape[axis + 1 :] if len(shape) > 1 else ()
    t = prepare_targets(shape, np.zeros(batch or (1,)), LossSpec(class_axis=axis))
    blocks = list(iter_rows(x, class_axis=axis, block_bytes=block_bytes))
    assert [s for s, _ in blocks] == list(np.cumsum([0] + [len(r) for _, r in blocks])[:-1])
    assert np.array_equal(np.concatenate([r for _, r in blocks]), t.rows(x))
    budget = max(1, block_bytes // (8 * shape[axis]))
    assert all(len(r) <= budget for _, r in blocks) or len(shape) == 1


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 30), c=st.integers(1, 8), seed=st.integers(0, 2**16), cut=st.integers(1, 29)
)
def test_property_split_anywhere_same_result(m, c, seed, cut) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (m, c))
    y = rng.integers(0, c, m)
    y[rng.random(m) < 0.2] = -100
    cut = min(cut, m)
    sizes = [cut, m - cut] if cut < m else [m]
    res = _feed_blocks(x, y, sizes, list(range(len(sizes)))[::-1]).result(metrics=True, worst=True)
    ref = reference(x, y, k=5)
    if ref["count"]:
        assert res.metrics.accuracy == pytest.approx(ref["accuracy"])
        assert 0.0 <= res.metrics.ece <= 1.0
    assert [w["index"] for w in res.worst] == [r[0] for r in ref["worst"]]


# --- the histogram ----------------------------------------------------------------------------


def test_histogram_bins() -> None:
    h = histogram([0.0, 0.5, 1.0, 2.0, np.inf, np.nan], bins=4)
    assert h == {"edges": [0.0, 0.5, 1.0, 1.5, 2.0], "counts": [1, 1, 1, 1]}
    assert histogram([], bins=2) == {"edges": [0.0, 0.5, 1.0], "counts": [0, 0]}
    assert histogram([-1.0, 1.0], bins=2)["edges"] == [-1.0, 0.0, 1.0]
    assert histogram([0.0, 0.0], bins=1) == {"edges": [0.0, 1.0], "counts": [2]}


def test_nan_losses_come_first_among_the_worst() -> None:
    acc = Accumulator(2, batch_shape=(3,), worst=2)
    acc.update(np.log([[0.5, 0.5]] * 3), np.array([0, 1, 0]), 0, loss=np.array([1.0, np.nan, 2]))
    assert [w["index"] for w in acc.result(worst=True).worst] == [1, 2]


def test_ece_bin_edges_are_left_open() -> None:
    # confidences exactly 0.6 (= 9/15) fall in the bin (8/15, 9/15], with the 0.55 one
    p = np.array([[0.6, 0.4], [0.6, 0.4], [0.55, 0.45]])
    res = analyze(p, [0, 1, 0], input_kind="probs", metrics=True)
    conf = (0.6 + 0.6 + 0.55) / 3
    assert res.metrics.ece == pytest.approx(abs(2 / 3 - conf), rel=1e-12)


def test_classifier10_sample_figures() -> None:
    z = np.loadtxt(ROOT / "samples/classifier10/logits.csv", delimiter=",", skiprows=1)
    y = np.loadtxt(ROOT / "samples/classifier10/labels.csv", skiprows=1).astype(int)
    assert z.shape == (400, 10)
    check(analyze(z, y, **ALL), reference(z, y))


# --- one pass, in sample order: the same bits on any number of threads --------------------------


def _same(a, b) -> bool:
    """Bit for bit (``repr`` of a float is exact; NaN equals NaN)."""
    return repr(a) == repr(b)


def test_in_order_folds_in_span_order_whatever_order_parts_come_in() -> None:
    seen: list[str] = []
    order = InOrder(seen.append)
    order.put(5, 9, "c")
    order.put(2, 5, "b")
    order.put(3, 3, "empty")  # no samples: ignored
    assert seen == [] and order.waiting == 2 and order.stop == 0
    order.put(0, 2, "a")
    assert seen == ["a", "b", "c"] and order.waiting == 0 and order.stop == 9
    with pytest.raises(ValueError, match="twice"):
        order.put(2, 5, "b")


def test_in_order_buffer_stays_small_while_a_block_is_late() -> None:
    # Thread 0 holds span 0 for a while; the others race ahead and must pause once `ahead`
    # parts wait, so the buffer holds at most ahead + (threads - 1) parts, never all of them.
    folded: list[int] = []
    high = [0]
    order = InOrder(folded.append, ahead=4, patience=30.0)
    counter = iter(range(1, 200))
    lock = threading.Lock()

    def racer() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            order.put(i, i + 1, i)
            with lock:
                high[0] = max(high[0], order.waiting)

    pool = [threading.Thread(target=racer) for _ in range(3)]
    for th in pool:
        th.start()
    deadline = time.monotonic() + 10.0  # the racers fill the buffer: wait for it, not a guess
    while order.waiting < 4 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert order.waiting >= 4  # they did race ahead...
    time.sleep(0.05)
    assert order.waiting <= 4 + 3 and folded == []  # ...and then paused
    order.put(0, 1, 0)
    for th in pool:
        th.join()
    assert folded == list(range(200)) and high[0] <= 4 + 3


def test_in_order_never_waits_forever_for_a_part_that_does_not_come() -> None:
    order = InOrder(lambda part: None, ahead=1, patience=0.05)
    t0 = time.monotonic()
    for i in range(1, 5):  # span 0 never arrives (a worker failed): each put pauses briefly
        order.put(i, i + 1, i)
    assert time.monotonic() - t0 < 2.0 and order.waiting == 4


def test_measure_then_add_is_update_and_a_part_is_small() -> None:
    x, y = _data(3, m=40, c=1000)
    y[::5] = -100
    logp = np.concatenate([lp for _, lp in iter_log_probs(x)])
    one = Accumulator(1000, batch_shape=(40,), worst=3, hist=True)
    one.update(logp, y, 0)
    two = Accumulator(1000, batch_shape=(40,), worst=3, hist=True)
    parts = [two.measure(logp[s : s + 8], y[s : s + 8], s) for s in range(0, 40, 8)]
    assert all(p.classes.size <= 8 and p.class_loss.size == p.classes.size for p in parts)
    assert all(p.worst.shape == (3, 6) for p in parts)
    for p in parts:
        two.add(p)
    res = two.result(metrics=True, per_class=True, worst=True, hist=True)
    ref = one.result(metrics=True, per_class=True, worst=True, hist=True)
    assert res.worst == ref.worst and res.histogram == ref.histogram
    assert [r["support"] for r in res.per_class] == [r["support"] for r in ref.per_class]
    check(res, reference(x, y, n_worst=3))


def test_a_part_sums_each_class_present_as_a_dense_bincount_would() -> None:
    x, y = _data(4, m=300, c=50)
    y[::6] = -100
    logp = np.concatenate([lp for _, lp in iter_log_probs(x)])
    acc = Accumulator(50, batch_shape=(300,))
    for size in (300, 10):  # 50 classes <= 4 * 300: bincount; 50 > 4 * 10: np.unique
        for s in range(0, 300, size):
            lp, yy = logp[s : s + size], y[s : s + size]
            part = acc.measure(lp, yy, s)
            cls = yy[yy != -100]
            nll = -lp[yy != -100, cls]
            assert part.classes.tolist() == sorted(set(cls.tolist()))
            dense = np.bincount(cls, weights=nll, minlength=50)[part.classes]
            assert np.array_equal(part.class_loss, dense)
            assert np.array_equal(part.support, np.bincount(cls, minlength=50)[part.classes])


def test_analyze_is_the_same_on_any_number_of_threads(monkeypatch) -> None:
    x, y = _data(5, m=500, c=9)
    y[::7] = -100
    monkeypatch.setattr(insight, "row_plan", partial(row_plan, block_bytes=9 * 8 * 13))
    per = evaluate(x, y, reduction="none", label_smoothing=0.1).per_sample
    results = [analyze(x, y, per_sample=per, threads=t, **ALL) for t in (1, 2, 3, 8)]
    assert all(_same(r, results[0]) for r in results)
    check(results[0], reference(x, y, losses=per))


def test_analyze_makes_each_block_once_whatever_the_threads(monkeypatch) -> None:
    # Each block is taken by one worker: a K-dim input's rows (a transposing copy) are
    # made once per block, not once per worker and thrown away by all but one.
    rng = np.random.default_rng(6)
    x = rng.normal(0, 2, (4, 5, 60))
    y = rng.integers(0, 5, (4, 60))
    y[:, ::7] = -100
    made: list[int] = []

    def counted(plan, block):
        start, rows = block_rows(plan, block)
        made.append(start)
        return start, rows

    monkeypatch.setattr(insight, "row_plan", partial(row_plan, block_bytes=5 * 8 * 30))
    monkeypatch.setattr(insight, "block_rows", counted)
    results = []
    for threads in (1, 4):
        made.clear()
        results.append(analyze(x, y, threads=threads, **ALL))
        assert sorted(made) == list(range(0, 240, 30))
    assert _same(results[0], results[1])
    assert results[0].metrics.count == np.count_nonzero(y != -100)


def test_histogram_where_and_chunks(limits) -> None:
    rng = np.random.default_rng(0)
    v = rng.exponential(1.0, 1000)
    v[::50] = np.nan
    keep = rng.random(1000) < 0.7
    whole = histogram(v[keep])
    assert histogram(v, where=keep) == whole
    limits(hist_chunk=7)
    assert histogram(v, where=keep) == whole
    assert histogram(v[keep]) == whole
    with pytest.raises(ValueError, match="where"):
        histogram(v, where=keep[:10])


def _blocked_cases():
    rng = np.random.default_rng(21)
    x = rng.normal(0, 2, (300, 9))
    y = rng.integers(0, 9, 300)
    y[::7] = -100
    q = rng.random((300, 9))
    q /= q.sum(1, keepdims=True)
    x3 = rng.normal(0, 2, (6, 5, 7, 3))
    y3 = rng.integers(0, 5, (6, 7, 3))
    y3[0, 0] = -100
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    return {
        "float64": (x, y, {}),
        "float32": (x.astype(np.float32), y, {}),
        "float16": (x.astype(np.float16), y, {}),
        "wide": (rng.normal(0, 2, (120, 80)), rng.integers(0, 80, 120), {"topk": 3}),
        "weights": (
            x,
            y,
            {
                "weight": np.arange(1.0, 10),
                "label_smoothing": 0.1,
                "sample_weight": rng.random(300),
            },
        ),
        "kdim": (x3, y3, {}),
        "last_axis": (np.moveaxis(x3, 1, -1).copy(), y3, {"class_axis": -1}),
        "soft": (x, q, {}),
        "probs": (p, y, {"input_kind": "probs"}),
        "one_sample": (np.array([1.0, 3.0, 2.0]), np.array(1), {}),
    }


@pytest.mark.parametrize("case", list(_blocked_cases()))
def test_one_pass_insight_equals_analyze_and_ignores_threads_and_finish_order(
    case, monkeypatch
) -> None:
    x, y, opts = _blocked_cases()[case]
    kw = {k: v for k, v in opts.items() if k != "topk"}
    ask = dict(ALL, topk=opts.get("topk", 5))
    res, got = evaluate_with_insight(x, y, reduction="none", threads=1, **ask, **kw)
    assert _same(res, evaluate_blocked(x, y, reduction="none", threads=1, **kw))
    want = analyze(x, y, per_sample=res.per_sample, **ask, **kw)
    assert _same(got, want)  # one block each: the same sums, bit for bit
    # Many blocks, finished in a scrambled order: the same bits on 1, 2 and 4 threads.
    measure = Accumulator.measure
    jitter = np.random.default_rng(7)

    def late(self, *args, **kwargs):
        time.sleep(float(jitter.random()) * 0.002)
        return measure(self, *args, **kwargs)

    runs = []
    for threads in (1, 2, 4):
        if threads > 1:
            monkeypatch.setattr(Accumulator, "measure", late)
        runs.append(evaluate_with_insight(x, y, threads=threads, block_rows=7, **ask, **kw)[1])
    assert all(_same(r, runs[0]) for r in runs)
    assert runs[0].worst == want.worst and runs[0].histogram == want.histogram
    assert runs[0].metrics.count == want.metrics.count
    for f in ("accuracy", "perplexity", "mean_entropy", "ece", "bits_per_sample"):
        assert getattr(runs[0].metrics, f) == pytest.approx(getattr(want.metrics, f), rel=1e-12)
    for a, b in zip(runs[0].per_class, want.per_class, strict=True):
        assert a["support"] == b["support"]
        for f in ("loss", "accuracy", "mean_p_true"):
            assert a[f] == (None if b[f] is None else pytest.approx(b[f], rel=1e-12))
