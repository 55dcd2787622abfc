"""Golden values for xent_cli.core.

Every number below is copied from /work/shared/reference/torch-semantics.md (sections 1.6,
1.9 and 2), which records the output of torch 2.13.0+cpu on float64 tensors (float32 where
stated), printed to 10 significant digits. Hence rtol=1e-9 against float64 anchors, and
rtol=1e-6 against the float32 ones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import close
from xent_cli import (
    LossResult,
    cross_entropy,
    cross_entropy_grad,
    evaluate,
    log_softmax,
    softmax,
)
from xent_cli.core.loss import compute_dtype

RTOL = 1e-9  # the reference prints 10 significant digits
RTOL32 = 1e-6  # float32 anchors

inf = math.inf
nan = math.nan

# Shared inputs of section 1.9.
W1 = np.arange(1.0, 13.0).reshape(3, 4)
W1_Y = [1, 2, 3]
B0 = np.array([[2, 1, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 3.1], [0, 0, 0]])
Y = np.array([0, 1, 2, 1])
W = np.array([1, 2, 0.5])
YI = np.array([0, -100, 2, 1])
P = np.array([[0.7, 0.2, 0.1], [0, 1, 0], [0.25, 0.25, 0.5], [1 / 3, 1 / 3, 1 / 3]])
K1_X = np.array([[[1, 2], [0, -1], [3, 0.5]], [[-2, 0], [1, 1], [0, 2]]])
K1_Y = np.array([[2, 0], [1, 2]])


# ---------------------------------------------------------------- W: the worked example


class TestWorkedExample:
    # W1: logits arange(1,13).reshape(3,4), labels [1,2,3] (torch 2.13.0, float64)
    def test_w1_mean(self):
        close(cross_entropy(W1, W1_Y), 1.440189699)

    def test_w1_sum(self):
        close(cross_entropy(W1, W1_Y, reduction="sum"), 4.320569096)

    def test_w1_none(self):
        close(cross_entropy(W1, W1_Y, reduction="none"), [2.440189699, 1.440189699, 0.4401896986])

    def test_w1_mean_is_python_float(self):
        assert type(cross_entropy(W1, W1_Y)) is float
        assert type(cross_entropy(W1, W1_Y, reduction="sum")) is float

    # W1b: the same in float32 (torch float32 output): 1.440189719 / 4.320569038 / none
    @pytest.mark.parametrize("how", ["float32-input", "dtype-float32"])
    def test_w1b_float32(self, how):
        if how == "float32-input":
            x, kw = W1.astype(np.float32), {}
        else:
            x, kw = W1, {"dtype": "float32"}
        close(cross_entropy(x, W1_Y, **kw), 1.440189719, rtol=RTOL32)
        close(cross_entropy(x, W1_Y, reduction="sum", **kw), 4.320569038, rtol=RTOL32)
        close(
            cross_entropy(x, W1_Y, reduction="none", **kw),
            [2.4401896, 1.440189719, 0.4401896894],
            rtol=RTOL32,
        )

    def test_w1_float32_input_forced_float64(self):
        # arange(1,13) is exact in float32, so float64 compute reproduces the float64 anchor.
        close(cross_entropy(W1.astype(np.float32), W1_Y, dtype="float64"), 1.440189699)

    # W2: softmax([1,1,2,2]) = [1/(2+2e), 1/(2+2e), e/(2+2e), e/(2+2e)]
    def test_w2_softmax(self):
        expected = [0.1344707107, 0.1344707107, 0.3655292893, 0.3655292893]
        close(softmax([1.0, 1.0, 2.0, 2.0]), expected)
        e = math.e
        close(
            softmax([1.0, 1.0, 2.0, 2.0]), [1 / (2 + 2 * e)] * 2 + [e / (2 + 2 * e)] * 2, rtol=1e-15
        )

    def test_w2_softmax_float32(self):
        out = softmax(np.array([1, 1, 2, 2], dtype=np.float32))
        assert out.dtype == np.float32
        close(out, [0.1344707161, 0.1344707161, 0.3655292988, 0.3655292988], rtol=RTOL32)

    # W3: log_softmax([0,1,2,3])
    def test_w3_log_softmax(self):
        close(
            log_softmax([0.0, 1.0, 2.0, 3.0]),
            [-3.440189699, -2.440189699, -1.440189699, -0.4401896986],
        )

    def test_w3_every_w1_row_reduces_to_it(self):
        close(
            log_softmax(W1, axis=1), np.tile(log_softmax([0.0, 1.0, 2.0, 3.0]), (3, 1)), rtol=1e-15
        )

    def test_log_softmax_axis0(self):
        close(log_softmax(W1.T, axis=0), log_softmax(W1, axis=1).T, rtol=0)


# ---------------------------------------------------------------- U: unbatched input


class TestUnbatched:
    X = np.array([0.5, -1, 2])

    def test_u1(self):
        # U1: [0.5,-1,2], target 2 -> 0.2413112967
        close(cross_entropy(self.X, 2), 0.2413112967)

    def test_u1_none_is_0d(self):
        out = cross_entropy(self.X, 2, reduction="none")
        assert np.shape(out) == ()
        close(out, 0.2413112967)

    def test_u1_target_shape_1_accepted(self):
        close(cross_entropy(self.X, [2]), 0.2413112967)

    def test_u2_soft(self):
        # U2: soft target [0.2,0.3,0.5] -> 1.441311297
        close(cross_entropy(self.X, [0.2, 0.3, 0.5]), 1.441311297)

    def test_u3_weight(self):
        # U3: weight cancels in the mean; none and sum give w[y]*l
        close(cross_entropy(self.X, 2, weight=W), 0.2413112967)
        close(cross_entropy(self.X, 2, weight=W, reduction="none"), 0.1206556483)
        close(cross_entropy(self.X, 2, weight=W, reduction="sum"), 0.1206556483)

    def test_u3_divisor(self):
        r = evaluate(self.X, 2, weight=W)
        assert r.count == 1
        assert r.weight_sum == 0.5


# ---------------------------------------------------------------- K: K-dimensional input


class TestKDim:
    def test_k1(self):
        # K1: (2,3,2) input, target [[2,0],[1,2]]
        close(
            cross_entropy(K1_X, K1_Y, reduction="none"),
            [[0.1698460196, 0.2413112967], [0.3490122168, 0.4076059644]],
        )
        close(cross_entropy(K1_X, K1_Y), 0.2919438744)
        close(cross_entropy(K1_X, K1_Y, reduction="sum"), 1.167775497)

    def test_k2(self):
        # K2: (2,3,2,2) input arange(24)/7, target with one -100; mean = sum/7
        x = np.arange(24.0).reshape(2, 3, 2, 2) / 7
        y = np.array([[[0, 1], [2, 0]], [[1, 1], [2, -100]]])
        close(cross_entropy(x, y), 1.204626513)
        close(cross_entropy(x, y, reduction="sum"), 8.432385591)
        r = evaluate(x, y)
        assert (r.count, r.weight_sum) == (7, 7.0)
        assert r.per_sample.shape == (2, 2, 2)
        assert r.per_sample[1, 1, 1] == 0.0

    def test_k3(self):
        # K3: K1 input, target [[2,0],[1,-100]], weight w
        y = np.array([[2, 0], [1, -100]])
        close(cross_entropy(K1_X, y, weight=W), 0.2926453543)
        close(
            cross_entropy(K1_X, y, weight=W, reduction="none"),
            [[0.08492300978, 0.2413112967], [0.6980244335, 0.0]],
        )


# ---------------------------------------------------------------- B, I: base, weight, ignore


class TestBaseWeightIgnore:
    def test_b0(self):
        close(
            cross_entropy(B0, Y, reduction="none"),
            [0.4170300163, 0.220049523, 0.186140787, 1.098612289],
        )
        close(cross_entropy(B0, Y), 0.4804581537)
        close(cross_entropy(B0, Y, reduction="sum"), 1.921832615)

    def test_b1_weight(self):
        close(
            cross_entropy(B0, Y, weight=W, reduction="none"),
            [0.4170300163, 0.440099046, 0.09307039349, 2.197224577],
        )
        close(cross_entropy(B0, Y, weight=W, reduction="sum"), 3.147424033)
        close(cross_entropy(B0, Y, weight=W), 0.5722589151)
        r = evaluate(B0, Y, weight=W)
        assert (r.count, r.weight_sum) == (4, 5.5)

    def test_i1_ignore_default(self):
        close(
            cross_entropy(B0, YI, reduction="none"), [0.4170300163, 0.0, 0.186140787, 1.098612289]
        )
        close(cross_entropy(B0, YI), 0.5672610306)
        close(cross_entropy(B0, YI, reduction="sum"), 1.701783092)
        r = evaluate(B0, YI)
        assert (r.count, r.weight_sum) == (3, 3.0)

    def test_ignored_loss_is_exactly_zero(self):
        assert cross_entropy(B0, YI, reduction="none")[1] == 0.0

    def test_i2_ignore_a_real_class(self):
        close(
            cross_entropy(B0, Y, ignore_index=1, reduction="none"),
            [0.4170300163, 0.0, 0.186140787, 0.0],
        )
        close(cross_entropy(B0, Y, ignore_index=1), 0.3015854016)
        assert evaluate(B0, Y, ignore_index=1).count == 2

    def test_i3_weight_and_ignore(self):
        close(cross_entropy(B0, YI, weight=W), 0.7735214249)
        close(cross_entropy(B0, YI, weight=W, reduction="sum"), 2.707324987)
        assert evaluate(B0, YI, weight=W).weight_sum == 3.5

    @pytest.mark.parametrize(
        "kw",
        [{}, {"weight": W}, {"label_smoothing": 0.1}, {"weight": W, "label_smoothing": 0.1}],
        ids=["plain", "weighted", "smoothed", "weighted+smoothed"],
    )
    def test_i4_all_ignored(self, kw):
        y = np.full(4, -100)
        assert math.isnan(cross_entropy(B0, y, **kw))
        assert cross_entropy(B0, y, reduction="sum", **kw) == 0.0
        close(cross_entropy(B0, y, reduction="none", **kw), [0.0, 0.0, 0.0, 0.0], rtol=0)
        r = evaluate(B0, y, **kw)
        assert (r.count, r.weight_sum) == (0, 0.0)

    def test_i6_empty_batch(self):
        x = np.zeros((0, 3))
        y = np.zeros(0, dtype=np.int64)
        assert math.isnan(cross_entropy(x, y))
        assert cross_entropy(x, y, reduction="sum") == 0.0
        assert cross_entropy(x, y, reduction="none").shape == (0,)
        assert math.isnan(cross_entropy(x, np.zeros((0, 3))))  # prob-target mean
        assert cross_entropy_grad(x, y).shape == (0, 3)


# ---------------------------------------------------------------- L: label smoothing


class TestLabelSmoothing:
    def test_l1(self):
        close(
            cross_entropy(B0, Y, label_smoothing=0.1, reduction="none"),
            [0.5136966829, 0.360049523, 0.346140787, 1.098612289],
        )
        close(cross_entropy(B0, Y, label_smoothing=0.1), 0.5796248204)
        close(cross_entropy(B0, Y, label_smoothing=0.1, reduction="sum"), 2.318499282)

    def test_l1_equals_soft_target(self):
        q = 0.9 * np.eye(3)[Y] + 0.1 / 3
        close(cross_entropy(B0, q), cross_entropy(B0, Y, label_smoothing=0.1), rtol=1e-14)

    def test_l2_weight(self):
        kw = {"label_smoothing": 0.1, "weight": W}
        close(
            cross_entropy(B0, Y, reduction="none", **kw),
            [0.5223138499, 0.5250949191, 0.362146446, 2.105673553],
        )
        close(cross_entropy(B0, Y, **kw), 0.6391325033)
        close(cross_entropy(B0, Y, reduction="sum", **kw), 3.515228768)

    def test_l3_ignore(self):
        close(cross_entropy(B0, YI, label_smoothing=0.1), 0.6528165862)
        close(cross_entropy(B0, YI, label_smoothing=0.1, reduction="sum"), 1.958449759)

    def test_l4_weight_ignore(self):
        kw = {"label_smoothing": 0.1, "weight": W}
        close(
            cross_entropy(B0, YI, reduction="none", **kw),
            [0.5223138499, 0.0, 0.362146446, 2.105673553],
        )
        close(cross_entropy(B0, YI, **kw), 0.8543239569)
        close(cross_entropy(B0, YI, reduction="sum", **kw), 2.990133849)

    def test_l5_full_smoothing(self):
        close(
            cross_entropy(B0, Y, label_smoothing=1.0, reduction="none"),
            [1.383696683, 1.620049523, 1.786140787, 1.098612289],
        )

    def test_l6_kdim(self):
        close(cross_entropy(K1_X, K1_Y, label_smoothing=0.2), 0.5669438744)

    def test_l7_weight_ignore_real_class(self):
        kw = {"label_smoothing": 0.05, "weight": W, "ignore_index": 1}
        close(cross_entropy(B0, Y, reduction="sum", **kw), 0.6972803528)
        close(cross_entropy(B0, Y, **kw), 0.4648535685)


# ---------------------------------------------------------------- S: soft targets


class TestSoftTargets:
    def test_s1(self):
        close(
            cross_entropy(B0, P, reduction="none"),
            [0.8070300163, 0.220049523, 1.386140787, 1.098612289],
        )
        close(cross_entropy(B0, P), 0.8779581537)
        close(cross_entropy(B0, P, reduction="sum"), 3.511832615)
        r = evaluate(B0, P)
        assert (r.count, r.weight_sum) == (4, 4.0)

    def test_s2_weight_mean_divides_by_n(self):
        close(
            cross_entropy(B0, P, weight=W, reduction="none"),
            [0.9745845187, 0.440099046, 2.111140787, 1.281714337],
        )
        close(cross_entropy(B0, P, weight=W), 1.201884672)
        assert evaluate(B0, P, weight=W).weight_sum == 4.0

    def test_s3_smoothing(self):
        close(cross_entropy(B0, P, label_smoothing=0.2), 0.9967914871)
        close(cross_entropy(B0, 0.8 * P + 0.2 / 3), 0.9967914871)

    def test_s4_unvalidated(self):
        close(cross_entropy(np.array([2, 1, 0.1]), np.array([2, -1, 0.5])), 0.5755450244)
        close(cross_entropy(np.array([[2, 1, 0.1]]), np.array([[2, -1, 0.5]])), 0.5755450244)


# ---------------------------------------------------------------- float32 table of 1.9

FLOAT32_ANCHORS = [
    # (case, args, kwargs, torch float32 output)
    ("B0", (B0, Y), {}, 0.4804581702),
    ("B1", (B0, Y), {"weight": W}, 0.5722588897),
    ("I1", (B0, YI), {}, 0.5672610402),
    ("I3", (B0, YI), {"weight": W}, 0.7735214233),
    ("L1", (B0, Y), {"label_smoothing": 0.1}, 0.5796248317),
    ("L2", (B0, Y), {"label_smoothing": 0.1, "weight": W}, 0.6391324997),
    ("L4", (B0, YI), {"label_smoothing": 0.1, "weight": W}, 0.8543239236),
    ("S1", (B0, P), {}, 0.8779581785),
    ("S2", (B0, P), {"weight": W}, 1.201884627),
]


@pytest.mark.parametrize(
    "case,args,kw,expected", FLOAT32_ANCHORS, ids=[c[0] for c in FLOAT32_ANCHORS]
)
def test_float32_anchors(case, args, kw, expected):
    x, t = args
    close(cross_entropy(x.astype(np.float32), t, **kw), expected, rtol=RTOL32)
    close(cross_entropy(x, t, dtype="float32", **kw), expected, rtol=RTOL32)


def test_float32_really_computes_in_float32():
    # B0's float32 result differs from float64 at 3e-8 relative: the dtype must matter.
    f64 = cross_entropy(B0, Y)
    f32 = cross_entropy(B0, Y, dtype="float32")
    assert f32 != f64
    assert abs(f32 - f64) / f64 < 1e-6


def test_per_sample_is_float64_for_float32_input():
    r = evaluate(B0.astype(np.float32), Y, reduction="none")
    assert r.per_sample.dtype == np.float64
    assert cross_entropy_grad(B0.astype(np.float32), Y).dtype == np.float64


@pytest.mark.parametrize(
    "given,dtype,expected",
    [
        (np.float16, None, np.float32),
        (np.float32, None, np.float32),
        (np.float64, None, np.float64),
        (np.int64, None, np.float64),
        (np.float32, "auto", np.float32),
        (np.float32, "float64", np.float64),
        (np.float64, "float32", np.float32),
    ],
)
def test_compute_dtype(given, dtype, expected):
    assert compute_dtype(np.dtype(given), dtype) == np.dtype(expected)


def test_compute_dtype_rejects_unknown():
    with pytest.raises(
        ValueError,
        match=r"dtype must be one of auto, float64, float32; "
        r"got 'float16'",
    ):
        cross_entropy(B0, Y, dtype="float16")


def test_integer_logits_are_computed_in_float64():
    close(cross_entropy(np.arange(1, 13).reshape(3, 4), W1_Y), 1.440189699)


def test_non_numeric_logits_rejected():
    with pytest.raises(ValueError, match="expected a real numeric array, got dtype <U1"):
        cross_entropy(np.array([["a", "b"]]), [0])


# ---------------------------------------------------------------- 1.6 non-finite logits


class TestNonFinite:
    """Section 1.6 (float64, one row, C=3): loss and gradient."""

    def test_minus_inf_other_class(self):
        x = np.array([[0, -inf, 1]])
        close(cross_entropy(x, [0]), 1.313261688)
        close(cross_entropy_grad(x, [0]), [[-0.7310585786, 0.0, 0.7310585786]])

    def test_minus_inf_true_class(self):
        x = np.array([[0, -inf, 1]])
        assert cross_entropy(x, [1]) == inf
        close(cross_entropy_grad(x, [1]), [[0.2689414214, -1.0, 0.7310585786]])

    @pytest.mark.parametrize(
        "row,target",
        [([0, inf, 1], 1), ([0, inf, 1], 0), ([0, nan, 1], 0), ([-inf, -inf, -inf], 0)],
        ids=["+inf-true", "+inf-other", "nan", "all-minus-inf"],
    )
    def test_nan_rows(self, row, target):
        x = np.array([row])
        assert math.isnan(cross_entropy(x, [target]))
        assert np.isnan(cross_entropy_grad(x, [target])).all()

    def test_large_logits_stable(self):
        x = np.array([[1000.0, 1001, 1002]])
        close(cross_entropy(x, [0]), 2.407605964)
        close(cross_entropy_grad(x, [0]), [[-0.9099694268, 0.2447284711, 0.6652409558]])

    def test_huge_spread(self):
        x = np.array([[-1000.0, 0, 1000]])
        close(cross_entropy(x, [0]), 2000.0)
        close(cross_entropy_grad(x, [0]), [[-1.0, 0.0, 1.0]], rtol=0, atol=1e-300)

    @pytest.mark.parametrize("bad", [[0, nan, 1], [-inf, -inf, -inf]], ids=["nan", "all-minus-inf"])
    def test_ignored_bad_row(self, bad):
        x = np.array([bad, [1.0, 2, 3]])
        y = [-100, 0]
        close(cross_entropy(x, y), 2.407605964)  # the forward is clean
        g = cross_entropy_grad(x, y)
        assert np.isnan(g[0]).all()  # issue #11551: the ignored row's gradient is NaN
        close(g[1], [-0.9099694268, 0.2447284711, 0.6652409558])

    def test_soft_target_zero_times_minus_inf(self):
        assert math.isnan(cross_entropy(np.array([[0, -inf, 1]]), np.array([[0.5, 0, 0.5]])))

    def test_smoothing_with_minus_inf(self):
        assert cross_entropy(np.array([[0, -inf, 1]]), [0], label_smoothing=0.1) == inf


# ---------------------------------------------------------------- 2. gradients

# Section 2, worked example (W1 logits, labels [1,2,3]).
G_W1_MEAN = [
    [0.01068620109, -0.3042852271, 0.07896093936, 0.2146380866],
    [0.01068620109, 0.02904810625, -0.254372394, 0.2146380866],
    [0.01068620109, 0.02904810625, 0.07896093936, -0.1186952467],
]
G_W1_SUM = [
    [0.03205860328, -0.9128556813, 0.2368828181, 0.6439142599],
    [0.03205860328, 0.08714431874, -0.7631171819, 0.6439142599],
    [0.03205860328, 0.08714431874, 0.2368828181, -0.3560857401],
]
# B0 with weight w and targets yi, mean.
G_B0_W_YI = [
    [-0.09742824603, 0.06926656306, 0.02816168297],
    [0, 0, 0],
    [0.0177379133, 0.006525413631, -0.02426332693],
    [0.1904761905, -0.380952381, 0.1904761905],
]
# The same with label_smoothing=0.1, mean.
G_B0_W_YI_LS = [
    [-0.07524252632, 0.05137338673, 0.0238691396],
    [0, 0, 0],
    [0.01057915888, -0.01165215027, 0.001072991386],
    [0.173015873, -0.3507936508, 0.1777777778],
]
# Soft targets P, mean.
G_B0_P = [
    [-0.01024971528, 0.01060824268, -0.0003585273977],
    [0.02715093258, -0.04938023605, 0.02222930348],
    [-0.03145865173, -0.05108052615, 0.08253917788],
    [0, 0, 0],
]


class TestGradient:
    def test_w1_mean(self):
        close(cross_entropy_grad(W1, W1_Y), G_W1_MEAN)

    def test_w1_sum(self):
        close(cross_entropy_grad(W1, W1_Y, reduction="sum"), G_W1_SUM)

    def test_w1_none_is_gradient_of_sum(self):
        close(cross_entropy_grad(W1, W1_Y, reduction="none"), G_W1_SUM)

    @pytest.mark.parametrize("reduction", ["none", "sum"])
    def test_w1_grad_output_123(self, reduction):
        # none with grad_output=[1,2,3] scales the rows by 1, 2, 3: the gradient of sum(s*l).
        g = cross_entropy_grad(W1, W1_Y, reduction=reduction, sample_weight=[1, 2, 3])
        close(g, np.array(G_W1_SUM) * np.array([[1], [2], [3]]))

    def test_b0_weight_ignore(self):
        g = cross_entropy_grad(B0, YI, weight=W)
        close(g, G_B0_W_YI)
        assert (g[1] == 0).all()

    def test_b0_weight_ignore_smoothing(self):
        g = cross_entropy_grad(B0, YI, weight=W, label_smoothing=0.1)
        close(g, G_B0_W_YI_LS)
        assert (g[1] == 0).all()

    def test_soft_p(self):
        g = cross_entropy_grad(B0, P)
        close(g[:3], G_B0_P[:3])
        # Row 3 is uniform logits against a uniform target: p - q = 0 up to rounding.
        np.testing.assert_allclose(g[3], 0.0, atol=1e-16)

    def test_all_ignored_mean_gradient_is_zero(self):
        # torch 2.13.0 gives an all-zero gradient for an all-ignored mean (checked by running).
        for kw in ({}, {"weight": W}, {"label_smoothing": 0.1}):
            g = cross_entropy_grad(B0, np.full(4, -100), **kw)
            assert (g == 0).all(), kw

    def test_grad_shape_follows_input(self):
        assert cross_entropy_grad(K1_X, K1_Y).shape == (2, 3, 2)
        assert cross_entropy_grad(K1_X[0, :, 0], 2).shape == (3,)


# ---------------------------------------------------------------- reduction none shapes


@pytest.mark.parametrize(
    "shape,class_axis,batch",
    [
        ((4,), 1, ()),
        ((5, 4), 1, (5,)),
        ((2, 4, 3), 1, (2, 3)),
        ((2, 4, 3, 5), 1, (2, 3, 5)),
        ((2, 3, 4), -1, (2, 3)),
        ((4, 5), 0, (5,)),
        ((0, 4), 1, (0,)),
        ((2, 4, 0), 1, (2, 0)),
    ],
)
def test_reduction_none_shape(shape, class_axis, batch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    y = rng.integers(0, 4, size=batch)
    out = cross_entropy(x, y, reduction="none", class_axis=class_axis)
    assert isinstance(out, np.ndarray)
    assert out.shape == batch
    r = evaluate(x, y, reduction="none", class_axis=class_axis)
    assert r.per_sample.shape == batch
    assert r.reduction == "none"
    assert cross_entropy_grad(x, y, class_axis=class_axis).shape == shape


def test_per_sample_kept_for_mean_and_sum():
    for reduction in ("mean", "sum"):
        r = evaluate(B0, YI, weight=W, reduction=reduction)
        assert isinstance(r, LossResult)
        close(r.per_sample, [0.4170300163, 0.0, 0.09307039349, 2.197224577])
        assert r.reduction == reduction


def test_loss_result_is_frozen():
    r = evaluate(W1, W1_Y)
    with pytest.raises(AttributeError):
        r.loss = 0.0  # type: ignore[misc]


# ---------------------------------------------------------------- count and weight_sum


@pytest.mark.parametrize(
    "args,kw,count,weight_sum",
    [
        ((W1, W1_Y), {}, 3, 3.0),
        ((B0, Y), {"weight": W}, 4, 5.5),
        ((B0, YI), {}, 3, 3.0),
        ((B0, YI), {"weight": W}, 3, 3.5),
        ((B0, Y), {"ignore_index": 1}, 2, 2.0),
        ((B0, Y), {"ignore_index": 1, "weight": W}, 2, 1.5),
        ((B0, P), {"weight": W}, 4, 4.0),
        ((B0, Y), {"sample_weight": [1, 2, 0.5, 3]}, 4, 6.5),
        ((B0, YI), {"weight": W, "sample_weight": [1, 2, 0.5, 3]}, 3, 7.25),
        ((B0, P), {"sample_weight": [1, 2, 0.5, 3]}, 4, 6.5),
        ((np.zeros((0, 3)), np.zeros(0, int)), {}, 0, 0.0),
    ],
)
def test_count_and_weight_sum(args, kw, count, weight_sum):
    for reduction in ("mean", "sum", "none"):
        r = evaluate(*args, reduction=reduction, **kw)
        assert r.count == count
        assert type(r.count) is int
        assert r.weight_sum == pytest.approx(weight_sum, rel=1e-15)


def test_mean_is_sum_over_weight_sum():
    r_sum = evaluate(B0, YI, weight=W, label_smoothing=0.1, reduction="sum")
    r_mean = evaluate(B0, YI, weight=W, label_smoothing=0.1)
    assert r_mean.loss == pytest.approx(r_sum.loss / r_sum.weight_sum, rel=1e-15)


# ---------------------------------------------------------------- class_axis


class TestClassAxis:
    rng = np.random.default_rng(42)
    X = rng.normal(size=(2, 5, 7))  # (N, T, V)
    Y = rng.integers(0, 7, size=(2, 5))

    @pytest.mark.parametrize(
        "kw",
        [{}, {"weight": np.linspace(0.5, 2, 7)}, {"label_smoothing": 0.3}, {"ignore_index": 3}],
        ids=["plain", "weight", "smoothing", "ignore3"],
    )
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_minus_one_equals_transposed(self, kw, reduction):
        moved = np.moveaxis(self.X, -1, 1)  # (N, V, T)
        a = cross_entropy(self.X, self.Y, class_axis=-1, reduction=reduction, **kw)
        b = cross_entropy(moved, self.Y, class_axis=1, reduction=reduction, **kw)
        close(a, b, rtol=1e-15)
        ga = cross_entropy_grad(self.X, self.Y, class_axis=-1, reduction=reduction, **kw)
        gb = cross_entropy_grad(moved, self.Y, class_axis=1, reduction=reduction, **kw)
        assert ga.shape == self.X.shape
        close(ga, np.moveaxis(gb, 1, -1), rtol=1e-15)

    def test_minus_one_same_as_two(self):
        assert cross_entropy(self.X, self.Y, class_axis=-1) == cross_entropy(
            self.X, self.Y, class_axis=2
        )

    def test_soft_targets_minus_one(self):
        q = softmax(self.rng.normal(size=self.X.shape), axis=-1)
        a = cross_entropy(self.X, q, class_axis=-1, reduction="none")
        b = cross_entropy(np.moveaxis(self.X, -1, 1), np.moveaxis(q, -1, 1), reduction="none")
        close(a, b, rtol=1e-15)

    def test_class_axis_ignored_for_1d(self):
        close(cross_entropy(np.array([0.5, -1, 2]), 2, class_axis=-1), 0.2413112967)

    def test_class_axis_zero_on_2d(self):
        close(cross_entropy(B0.T, Y, class_axis=0), 0.4804581537)


# ---------------------------------------------------------------- input_kind


class TestInputKind:
    def test_probs_equals_logits(self):
        for kw in ({}, {"weight": W}, {"label_smoothing": 0.1}, {"reduction": "none"}):
            close(
                cross_entropy(softmax(B0, axis=1), YI, input_kind="probs", **kw),
                cross_entropy(B0, YI, **kw),
                rtol=1e-13,
            )

    def test_logprobs_equals_logits(self):
        for kw in ({}, {"weight": W, "label_smoothing": 0.37}, {"reduction": "none"}):
            close(
                cross_entropy(log_softmax(B0, axis=1), YI, input_kind="logprobs", **kw),
                cross_entropy(B0, YI, **kw),
                rtol=1e-15,
            )

    def test_logprobs_soft_targets(self):
        close(cross_entropy(log_softmax(B0, axis=1), P, input_kind="logprobs"), 0.8779581537)

    def test_logprobs_are_used_as_given(self):
        # NLLLoss semantics: -x[y], no normalisation (torch: nll_loss of W1 = -mean p_y style).
        x = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
        close(cross_entropy(x, [2, 0], input_kind="logprobs"), -(0.5 + 0.1) / 2, rtol=1e-15)

    def test_probability_zero_on_true_class_is_inf(self):
        x = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])
        assert cross_entropy(x, [0, 2], input_kind="probs") == inf
        losses = cross_entropy(x, [0, 2], input_kind="probs", reduction="none")
        assert losses[0] == inf
        close(losses[1], -math.log(0.5), rtol=1e-15)

    def test_probability_zero_elsewhere_is_finite(self):
        x = np.array([[0.0, 1.0, 0.0]])
        assert cross_entropy(x, [1], input_kind="probs") == 0.0
        close(cross_entropy_grad(x, [1], input_kind="probs"), [[0.0, -1.0, 0.0]], rtol=0)

    def test_probs_gradient(self):
        p = softmax(B0, axis=1)
        g = cross_entropy_grad(p, Y, input_kind="probs", reduction="sum")
        expected = np.zeros_like(p)
        expected[np.arange(4), Y] = -1.0 / p[np.arange(4), Y]
        close(g, expected, rtol=1e-15)

    def test_logprobs_gradient(self):
        g = cross_entropy_grad(log_softmax(B0, axis=1), YI, weight=W, input_kind="logprobs")
        expected = np.zeros((4, 3))
        valid = YI != -100
        expected[np.arange(4)[valid], YI[valid]] = -W[YI[valid]] / 3.5
        close(g, expected, rtol=1e-15)

    def test_bad_input_kind(self):
        with pytest.raises(
            ValueError, match="input_kind must be one of logits, probs, logprobs; got 'prob'"
        ):
            cross_entropy(B0, Y, input_kind="prob")


# ---------------------------------------------------------------- sample_weight

B1_NONE = np.array([0.4170300163, 0.440099046, 0.09307039349, 2.197224577])  # B1, section 1.9
B0_NONE = np.array([0.4170300163, 0.220049523, 0.186140787, 1.098612289])  # B0, section 1.9
SW = np.array([1.0, 2.0, 0.5, 3.0])


class TestSampleWeight:
    def test_none_is_multiplied(self):
        close(cross_entropy(B0, Y, weight=W, sample_weight=SW, reduction="none"), B1_NONE * SW)

    def test_sum(self):
        close(
            cross_entropy(B0, Y, weight=W, sample_weight=SW, reduction="sum"), float(B1_NONE @ SW)
        )

    def test_mean_divides_by_w_y_times_s(self):
        expected = float(B1_NONE @ SW) / float(W[Y] @ SW)  # 9.935... / 11.25
        close(cross_entropy(B0, Y, weight=W, sample_weight=SW), expected)
        assert evaluate(B0, Y, weight=W, sample_weight=SW).weight_sum == 11.25

    def test_mean_without_class_weight(self):
        close(cross_entropy(B0, Y, sample_weight=SW), float(B0_NONE @ SW) / SW.sum())

    def test_ignored_samples_leave_the_divisor(self):
        valid = YI != -100
        expected = float((B0_NONE * SW)[valid].sum()) / float(SW[valid].sum())
        close(cross_entropy(B0, YI, sample_weight=SW), expected)

    def test_ones_change_nothing(self):
        for kw in ({}, {"weight": W, "label_smoothing": 0.1}):
            assert cross_entropy(B0, YI, sample_weight=np.ones(4), **kw) == pytest.approx(
                cross_entropy(B0, YI, **kw), rel=1e-15
            )

    def test_soft_targets(self):
        s1 = np.array([0.8070300163, 0.220049523, 1.386140787, 1.098612289])  # S1
        close(cross_entropy(B0, P, sample_weight=SW), float(s1 @ SW) / SW.sum())

    def test_kdim_flat_or_batch_shaped(self):
        sw = np.array([[1.0, 2.0], [0.5, 3.0]])
        a = cross_entropy(K1_X, K1_Y, sample_weight=sw)
        b = cross_entropy(K1_X, K1_Y, sample_weight=sw.reshape(-1))
        assert a == b
        k1 = np.array([0.1698460196, 0.2413112967, 0.3490122168, 0.4076059644])  # K1 none
        close(a, float(k1 @ sw.reshape(-1)) / sw.sum())

    def test_gradient_mean(self):
        g = cross_entropy_grad(B0, Y, weight=W, sample_weight=SW)
        p = softmax(B0, axis=1)
        expected = (W[Y] * SW)[:, None] * (p - np.eye(3)[Y]) / float(W[Y] @ SW)
        close(g, expected, rtol=1e-13)


# ---------------------------------------------------------------- targets_kind


class TestTargetsKind:
    def test_auto_picks_prob_for_same_shape(self):
        assert cross_entropy(B0, P, targets_kind="prob") == cross_entropy(B0, P)

    def test_index_override_on_1d_shape_1(self):
        # (C,) input with a (1,) target: auto reads probabilities, index reads a class.
        x = np.array([2.0])
        assert cross_entropy(x, [0.0], targets_kind="index") == 0.0
        x3 = np.array([0.5])
        r = evaluate(x3, [0], targets_kind="index")
        assert r.count == 1

    def test_index_override_with_input_shaped_target_fails(self):
        with pytest.raises(ValueError, match=r"targets have shape \(4, 3\) but the input"):
            cross_entropy(B0, P, targets_kind="index")

    def test_prob_override_with_index_shaped_target_fails(self):
        with pytest.raises(
            ValueError,
            match=r"probability targets have shape \(4,\), expected the input's shape \(4, 3\)",
        ):
            cross_entropy(B0, Y, targets_kind="prob")

    def test_unknown_kind(self):
        with pytest.raises(ValueError, match="targets kind must be auto, index or prob; got 'x'"):
            cross_entropy(B0, Y, targets_kind="x")


# ---------------------------------------------------------------- options and purity


@pytest.mark.parametrize("eps", [-0.1, 1.5, nan])
def test_label_smoothing_out_of_range(eps):
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0. Got: "):
        cross_entropy(B0, Y, label_smoothing=eps)


def test_bad_reduction():
    with pytest.raises(ValueError, match=r"^avg is not a valid value for reduction"):
        cross_entropy(B0, Y, reduction="avg")


def test_inputs_not_mutated():
    x, y, w, sw = B0.copy(), YI.copy(), W.copy(), SW.copy()
    x32 = B0.astype(np.float32)
    x32_copy = x32.copy()
    for f in (cross_entropy, cross_entropy_grad):
        f(x, y, weight=w, sample_weight=sw, label_smoothing=0.1)
        f(x32, y)
    log_softmax(x)
    softmax(x32)
    assert (x == B0).all() and (y == YI).all() and (w == W).all() and (sw == SW).all()
    assert (x32 == x32_copy).all()


def test_accepts_lists():
    close(cross_entropy(W1.tolist(), W1_Y), 1.440189699)
    close(cross_entropy(B0.tolist(), P.tolist()), 0.8779581537)


def test_integer_valued_float_targets():
    close(cross_entropy(B0, Y.astype(np.float64)), 0.4804581537)


def test_uint8_targets_with_ignore_255():
    # section 1.3: a uint8 target with ignore_index=255 works (0.5672610306)
    y = np.array([0, 255, 2, 1], dtype=np.uint8)
    close(cross_entropy(B0, y, ignore_index=255), 0.5672610306)


def test_c_equals_one_is_zero_loss():
    x = np.array([[3.0], [-2.0]])
    assert cross_entropy(x, [0, 0]) == 0.0
    assert (cross_entropy_grad(x, [0, 0]) == 0).all()
