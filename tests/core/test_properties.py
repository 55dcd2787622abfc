"""Properties of the core that hold for every input (hypothesis, small shapes, finite logits)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from xent_cli import cross_entropy, cross_entropy_grad, evaluate, log_softmax, softmax

SETTINGS = settings(max_examples=60, deadline=None)
LOGIT = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
WEIGHT = st.floats(0.1, 5.0, allow_nan=False, allow_infinity=False)
EPS = st.one_of(st.sampled_from([0.0, 0.1, 0.37, 1.0]), st.floats(0.0, 1.0))


def logits(shape):
    return hnp.arrays(np.float64, shape, elements=LOGIT)


@st.composite
def problems(
    draw,
    *,
    soft: bool | None = False,
    weighted: bool | None = None,
    smoothing: bool = True,
    ignore: bool = True,
    max_n: int = 5,
    max_c: int = 6,
):
    """(x, target, kwargs) for an (N, C) input; soft=None draws either kind of target."""
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    x = draw(logits((n, c)))
    if soft is None:
        soft = draw(st.booleans())
    if soft:
        q = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0.0, 1.0)))
        target = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-3)
    else:
        target = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
        if ignore:
            mask = draw(hnp.arrays(np.bool_, (n,)))
            target = np.where(mask, -100, target)
    kw = {}
    if weighted is None:
        weighted = draw(st.booleans())
    if weighted:
        kw["weight"] = draw(hnp.arrays(np.float64, (c,), elements=WEIGHT))
    if smoothing:
        kw["label_smoothing"] = draw(EPS)
    return x, target, kw


# ---------------------------------------------------------------- softmax / log_softmax


@SETTINGS
@given(
    x=logits(hnp.array_shapes(min_dims=2, max_dims=2, max_side=6)),
    shift=st.floats(-50, 50, allow_nan=False),
)
def test_shift_invariance_of_softmax(x, shift):
    c = np.linspace(-1.0, 1.0, x.shape[0])[:, None] * shift  # a different constant per row
    np.testing.assert_allclose(
        log_softmax(x + c, axis=1), log_softmax(x, axis=1), rtol=1e-12, atol=1e-11
    )
    np.testing.assert_allclose(softmax(x + c, axis=1), softmax(x, axis=1), rtol=1e-10, atol=1e-13)


@SETTINGS
@given(x=logits(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)), data=st.data())
def test_softmax_is_a_distribution(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    p = softmax(x, axis=axis)
    assert p.shape == x.shape
    assert (p >= 0).all() and (p <= 1).all()
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(x, axis=axis)), p, rtol=1e-12, atol=1e-300)
    assert (log_softmax(x, axis=axis) <= 0).all()


# ---------------------------------------------------------------- the loss


@SETTINGS
@given(problem=problems(soft=None), shift=st.floats(-50, 50, allow_nan=False))
def test_shift_invariance_of_the_loss(problem, shift):
    x, t, kw = problem
    c = np.linspace(1.0, -1.0, x.shape[0])[:, None] * shift
    a = cross_entropy(x + c, t, reduction="none", **kw)
    b = cross_entropy(x, t, reduction="none", **kw)
    np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)
    ga = cross_entropy_grad(x + c, t, **kw)
    gb = cross_entropy_grad(x, t, **kw)
    np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(problem=problems(soft=None))
def test_sum_is_mean_times_weight_sum(problem):
    x, t, kw = problem
    r_sum = evaluate(x, t, reduction="sum", **kw)
    r_mean = evaluate(x, t, reduction="mean", **kw)
    assert r_sum.weight_sum == r_mean.weight_sum
    if r_mean.weight_sum == 0.0:  # everything ignored: torch's mean of nothing
        assert math.isnan(r_mean.loss) and r_sum.loss == 0.0
    else:
        np.testing.assert_allclose(
            r_mean.loss * r_mean.weight_sum, r_sum.loss, rtol=1e-12, atol=1e-300
        )


@SETTINGS
@given(problem=problems(soft=True))
def test_prob_target_mean_divides_by_samples(problem):
    x, t, kw = problem
    r = evaluate(x, t, **kw)
    assert r.weight_sum == x.shape[0] and r.count == x.shape[0]


@SETTINGS
@given(problem=problems(soft=None))
def test_none_sums_to_sum(problem):
    x, t, kw = problem
    none = cross_entropy(x, t, reduction="none", **kw)
    assert none.shape == (x.shape[0],)
    total = cross_entropy(x, t, reduction="sum", **kw)
    np.testing.assert_allclose(none.sum(), total, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(problem=problems(weighted=False))
def test_loss_nonnegative_for_index_targets(problem):
    x, t, kw = problem
    none = cross_entropy(x, t, reduction="none", **kw)
    assert (none >= 0).all()
    assert (none[t == -100] == 0).all()


# ---------------------------------------------------------------- the gradient


def _finite_differences(x, t, kw, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (cross_entropy(up, t, **kw) - cross_entropy(down, t, **kw)) / (2 * h)
    return g


@settings(max_examples=40, deadline=None)
@given(problem=problems(soft=None, max_n=4, max_c=5), reduction=st.sampled_from(["mean", "sum"]))
def test_gradient_matches_finite_differences(problem, reduction):
    x, t, kw = problem
    kw = dict(kw, reduction=reduction)
    g = cross_entropy_grad(x, t, **kw)
    if math.isnan(cross_entropy(x, t, **kw)):
        assert (t == -100).all()  # the mean of nothing; torch's gradient is then all zeros
        assert (g == 0).all()
        return
    np.testing.assert_allclose(g, _finite_differences(x, t, kw), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(problem=problems(soft=None), reduction=st.sampled_from(["mean", "sum", "none"]))
def test_gradient_rows_sum_to_zero(problem, reduction):
    x, t, kw = problem
    g = cross_entropy_grad(x, t, reduction=reduction, **kw)
    assert g.shape == x.shape
    scale = max(1.0, float(np.abs(g).max())) if g.size and np.isfinite(g).all() else 1.0
    np.testing.assert_allclose(g.sum(axis=1), 0.0, rtol=0, atol=1e-12 * scale * x.shape[1])


# ---------------------------------------------------------------- K-dim == flattened 2-D


@SETTINGS
@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=4),
    soft=st.booleans(),
    reduction=st.sampled_from(["mean", "sum", "none"]),
)
def test_kdim_equals_moveaxis_flatten(data, shape, soft, reduction):
    c = shape[1]
    x = data.draw(logits(shape))
    if soft:
        t = softmax(data.draw(logits(shape)), axis=1)
        t2 = np.moveaxis(t, 1, -1).reshape(-1, c)
    else:
        batch = shape[:1] + shape[2:]
        t = data.draw(hnp.arrays(np.int64, batch, elements=st.integers(0, c - 1)))
        t2 = t.reshape(-1)
    kw = {"label_smoothing": data.draw(EPS), "reduction": reduction}
    if data.draw(st.booleans()):
        kw["weight"] = data.draw(hnp.arrays(np.float64, (c,), elements=WEIGHT))
    x2 = np.moveaxis(x, 1, -1).reshape(-1, c)
    kdim = cross_entropy(x, t, **kw)
    flat = cross_entropy(x2, t2, **kw)
    if reduction == "none":
        assert np.shape(kdim) == shape[:1] + shape[2:]
        kdim = np.reshape(kdim, -1)
    np.testing.assert_allclose(kdim, flat, rtol=1e-14, atol=0)
    g = cross_entropy_grad(x, t, **kw)
    g2 = cross_entropy_grad(x2, t2, **kw)
    np.testing.assert_allclose(np.moveaxis(g, 1, -1).reshape(-1, c), g2, rtol=1e-14, atol=0)
