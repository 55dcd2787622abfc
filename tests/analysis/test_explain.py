"""explain(): the steps of the post's worked example, and torch_call() strings.

Reference numbers are from /work/shared/reference/torch-semantics.md (torch 2.13.0, float64):
W1 (loss and per-sample values), W3 (log_softmax([0,1,2,3])) and section 2 (softmax - onehot).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import close
from xent_cli import Explanation, cross_entropy, cross_entropy_grad, evaluate, explain
from xent_cli.analysis.explain import Options, torch_call

LOGITS = np.arange(1.0, 13.0).reshape(3, 4)
LABELS = [1, 2, 3]
W = np.array([1.0, 2.0, 0.5, 3.0])
# Section 2, "sum" gradient = softmax - onehot: so softmax row 0 is this with +1 at column 1.
SOFTMAX_ROW = np.array([0.03205860328, 0.08714431874, 0.2368828181, 0.6439142599])
NLL = np.array([2.440189699, 1.440189699, 0.4401896986])  # W1 none
NEG_LOG_SOFTMAX = np.array([3.440189699, 2.440189699, 1.440189699, 0.4401896986])  # -W3


class TestWorkedExample:
    e = explain(LOGITS, LABELS)

    def test_type(self):
        assert isinstance(self.e, Explanation)
        assert self.e.input_shape == (3, 4)
        assert (self.e.n_samples, self.e.n_classes) == (3, 4)

    def test_softmax_row0_as_the_post_prints_it(self):
        assert self.e.softmax[0].round(4).tolist() == [0.0321, 0.0871, 0.2369, 0.6439]

    def test_softmax_rows_exact(self):
        close(self.e.softmax, np.tile(SOFTMAX_ROW, (3, 1)))

    def test_losses_as_the_post_prints_them(self):
        assert self.e.loss.round(4).tolist() == [2.4402, 1.4402, 0.4402]
        close(self.e.loss, NLL)
        close(self.e.nll, NLL)

    def test_result_mean(self):
        assert round(self.e.result.loss, 4) == 1.4402
        close(self.e.result.loss, 1.440189699)
        assert self.e.result.count == 3
        assert self.e.result.weight_sum == 3.0

    def test_result_sum(self):
        r = explain(LOGITS, LABELS, reduction="sum").result
        assert round(r.loss, 4) == 4.3206
        close(r.loss, 4.320569096)

    def test_logits_kept(self):
        assert self.e.logits.dtype == np.float64
        assert (self.e.logits == LOGITS).all()

    def test_shift_step(self):
        assert self.e.row_max.tolist() == [4.0, 8.0, 12.0]
        assert self.e.shifted.tolist() == [[-3.0, -2.0, -1.0, 0.0]] * 3

    def test_exp_step(self):
        row = [math.exp(-3), math.exp(-2), math.exp(-1), 1.0]
        close(self.e.exp, [row] * 3, rtol=1e-15)
        close(self.e.exp_sum, [sum(row)] * 3, rtol=1e-15)
        close(self.e.exp_sum, [1.553001792] * 3)  # 1 + e^-1 + e^-2 + e^-3

    def test_softmax_is_exp_over_sum(self):
        close(self.e.softmax, self.e.exp / self.e.exp_sum[:, None], rtol=1e-15)

    def test_target_step(self):
        assert self.e.target.tolist() == LABELS
        assert self.e.ignored.tolist() == [False, False, False]
        close(self.e.p_target, SOFTMAX_ROW[[1, 2, 3]])
        assert self.e.p_target.round(4).tolist() == [0.0871, 0.2369, 0.6439]

    def test_positions(self):
        assert self.e.shown.tolist() == [0, 1, 2]
        assert self.e.positions == [0, 1, 2]

    def test_no_optional_terms(self):
        e = self.e
        assert e.smooth_term is None and e.class_weight is None
        assert e.sample_weight is None and e.grad is None

    def test_options(self):
        assert self.e.options == Options("mean", None, -100, 0.0, "logits", False, 1, "index")

    def test_agrees_with_evaluate(self):
        r = evaluate(LOGITS, LABELS)
        assert self.e.result.loss == r.loss
        assert (self.e.result.per_sample == r.per_sample).all()


class TestRows:
    X = np.random.default_rng(3).normal(size=(25, 5))
    Y = np.arange(25) % 5

    def test_default_is_ten(self):
        e = explain(self.X, self.Y)
        assert e.shown.tolist() == list(range(10))
        assert e.softmax.shape == (10, 5) and e.loss.shape == (10,)
        assert e.n_samples == 25
        assert e.result.per_sample.shape == (25,)  # totals keep every sample

    def test_limit(self):
        e = explain(self.X, self.Y, rows=3)
        assert e.shown.tolist() == [0, 1, 2]
        for arr in (e.logits, e.shifted, e.exp, e.softmax):
            assert arr.shape == (3, 5)
        for arr in (e.row_max, e.exp_sum, e.target, e.ignored, e.p_target, e.nll, e.loss):
            assert arr.shape == (3,)
        close(e.result.loss, cross_entropy(self.X, self.Y), rtol=1e-15)
        close(e.loss, e.result.per_sample[:3], rtol=0)

    def test_none_shows_all(self):
        assert explain(self.X, self.Y, rows=None).shown.tolist() == list(range(25))

    def test_zero_and_negative_and_too_many(self):
        assert explain(self.X, self.Y, rows=0).shown.tolist() == []
        assert explain(self.X, self.Y, rows=-4).shown.tolist() == []
        assert len(explain(self.X, self.Y, rows=100).shown) == 25

    def test_kdim_positions(self):
        x = np.zeros((2, 3, 2, 2))
        y = np.zeros((2, 2, 2), int)
        e = explain(x, y, rows=3)
        assert e.positions == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]
        assert e.n_samples == 8

    def test_kdim_rows_are_class_vectors(self):
        x = np.arange(12.0).reshape(1, 3, 4)  # classes on axis 1
        e = explain(x, np.zeros((1, 4), int), rows=2)
        assert e.logits.tolist() == [[0.0, 4.0, 8.0], [1.0, 5.0, 9.0]]


class TestIgnored:
    e = explain(LOGITS, [1, -100, 3])

    def test_flags(self):
        assert self.e.ignored.tolist() == [False, True, False]
        assert self.e.target.tolist() == [1, -100, 3]

    def test_values(self):
        assert math.isnan(self.e.p_target[1])
        close(self.e.p_target[[0, 2]], SOFTMAX_ROW[[1, 3]])
        close(self.e.nll, [NLL[0], 0.0, NLL[2]])
        close(self.e.loss, [NLL[0], 0.0, NLL[2]])
        assert self.e.loss[1] == 0.0

    def test_result(self):
        assert self.e.result.count == 2
        close(self.e.result.loss, (NLL[0] + NLL[2]) / 2)

    def test_ignored_row_still_has_softmax(self):
        close(self.e.softmax[1], SOFTMAX_ROW)


class TestTerms:
    def test_smoothing_term(self):
        e = explain(LOGITS, LABELS, label_smoothing=0.1)
        close(e.smooth_term, [NEG_LOG_SOFTMAX.sum()] * 3)  # 7.760758796
        close(e.nll, NLL)
        close(e.loss, 0.9 * NLL + 0.1 / 4 * NEG_LOG_SOFTMAX.sum())
        assert e.options.label_smoothing == 0.1

    def test_weight_term(self):
        e = explain(LOGITS, LABELS, weight=W)
        close(e.class_weight, [2.0, 0.5, 3.0])
        close(e.nll, NLL)
        close(e.loss, W[LABELS] * NLL)
        close(e.result.loss, float(W[LABELS] @ NLL) / 5.5)
        assert e.options.weight.tolist() == W.tolist()

    def test_weight_and_smoothing_and_ignore(self):
        e = explain(LOGITS, [1, -100, 3], weight=W, label_smoothing=0.1)
        smooth = float(NEG_LOG_SOFTMAX @ W)  # 10.36123304
        close(e.smooth_term, [smooth] * 3)
        close(e.class_weight, [2.0, 0.0, 3.0])
        close(e.loss, [0.9 * 2 * NLL[0] + 0.025 * smooth, 0.0, 0.9 * 3 * NLL[2] + 0.025 * smooth])
        close(e.loss[[0, 2]], [4.651372284, 1.447543012])

    def test_sample_weight_term(self):
        e = explain(LOGITS, LABELS, sample_weight=[1.0, 2.0, 3.0], rows=2)
        assert e.sample_weight.tolist() == [1.0, 2.0]
        close(e.loss, NLL[:2] * [1.0, 2.0])
        close(e.result.loss, float(NLL @ [1.0, 2.0, 3.0]) / 6.0)
        assert e.options.sample_weight is True

    def test_grad_rows(self):
        e = explain(LOGITS, LABELS, grad=True, reduction="sum", rows=2)
        close(e.grad, np.tile(SOFTMAX_ROW, (2, 1)) - np.eye(4)[[1, 2]])
        e = explain(LOGITS, LABELS, grad=True)
        close(e.grad, cross_entropy_grad(LOGITS, LABELS), rtol=0)

    def test_grad_kdim_rows(self):
        x = np.random.default_rng(5).normal(size=(2, 3, 4))
        y = np.random.default_rng(6).integers(0, 3, size=(2, 4))
        e = explain(x, y, grad=True, rows=None)
        g = cross_entropy_grad(x, y)
        close(e.grad, np.moveaxis(g, 1, -1).reshape(-1, 3), rtol=0)

    def test_soft_targets(self):
        q = np.array([[0.1, 0.2, 0.3, 0.4]] * 3)
        e = explain(LOGITS, q)
        assert e.options.targets_kind == "prob"
        assert e.p_target is None and e.class_weight is None
        close(e.target, q, rtol=0)
        close(e.nll, [float(q[0] @ NEG_LOG_SOFTMAX)] * 3)
        assert e.ignored.tolist() == [False] * 3

    def test_probs_input(self):
        p = np.tile(SOFTMAX_ROW, (3, 1))
        e = explain(p, LABELS, input_kind="probs")
        assert e.row_max is None and e.shifted is None and e.exp is None and e.exp_sum is None
        assert (e.softmax == p).all()
        close(e.nll, NLL)

    def test_logprobs_input(self):
        lp = np.tile(-NEG_LOG_SOFTMAX, (3, 1))
        e = explain(lp, LABELS, input_kind="logprobs")
        assert e.shifted is None
        close(e.softmax, np.tile(SOFTMAX_ROW, (3, 1)))
        close(e.loss, NLL)

    def test_validates_like_cross_entropy(self):
        with pytest.raises(ValueError, match="^avg is not a valid value for reduction"):
            explain(LOGITS, LABELS, reduction="avg")
        with pytest.raises(ValueError, match="^Target 4 is out of bounds at index 2"):
            explain(LOGITS, [1, 2, 4])

    def test_class_axis_resolved(self):
        e = explain(np.zeros((2, 5, 3)), np.zeros((2, 5), int), class_axis=-1)
        assert e.options.class_axis == 2
        assert e.n_classes == 3 and e.n_samples == 10


# ---------------------------------------------------------------- torch_call


def call_for(*args, **kw) -> str:
    return torch_call(explain(*args, **kw).options)


class TestTorchCall:
    def test_default(self):
        assert call_for(LOGITS, LABELS) == "nn.CrossEntropyLoss()(logits, labels)"

    def test_sum(self):
        assert call_for(LOGITS, LABELS, reduction="sum") == (
            'nn.CrossEntropyLoss(reduction="sum")(logits, labels)'
        )

    def test_weight_and_sum(self):
        assert call_for(LOGITS, LABELS, reduction="sum", weight=[1, 2, 0.5, 3]) == (
            "nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 3.0]), "
            'reduction="sum")(logits, labels)'
        )

    def test_ignore_index_and_smoothing(self):
        assert call_for(LOGITS, LABELS, ignore_index=1, label_smoothing=0.1) == (
            "nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1)(logits, labels)"
        )

    def test_none(self):
        assert call_for(LOGITS, LABELS, reduction="none") == (
            'nn.CrossEntropyLoss(reduction="none")(logits, labels)'
        )

    def test_class_axis_last(self):
        assert call_for(np.zeros((2, 5, 3)), np.zeros((2, 5), int), class_axis=-1) == (
            "nn.CrossEntropyLoss()(logits.movedim(2, 1), labels)"
        )

    def test_class_axis_zero_on_1d_is_plain(self):
        assert call_for(np.zeros(4), 1) == "nn.CrossEntropyLoss()(logits, labels)"

    def test_class_axis_zero_on_2d_needs_a_move(self):
        # A (C, N) input with class_axis=0: torch's CrossEntropyLoss wants (N, C), so the call
        # must move the class axis; the plain call raises a batch-size error in torch.
        call = call_for(LOGITS.T, LABELS, class_axis=0)
        assert call == "nn.CrossEntropyLoss()(logits.movedim(0, 1), labels)"

    def test_soft_targets(self):
        assert call_for(LOGITS, np.full((3, 4), 0.25)) == "nn.CrossEntropyLoss()(logits, probs)"

    def test_sample_weight(self):
        assert call_for(LOGITS, LABELS, sample_weight=[1, 2, 3], reduction="sum") == (
            'nn.CrossEntropyLoss(reduction="none")(logits, labels)'
            "  # then × sample_weight and reduce by sum"
        )

    def test_logprobs(self):
        assert call_for(LOGITS, LABELS, input_kind="logprobs", weight=[1, 2, 0.5, 3]) == (
            "nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 0.5, 3.0]))(logprobs, labels)"
        )

    def test_probs(self):
        p = np.full((3, 4), 0.25)
        assert call_for(p, LABELS, input_kind="probs", reduction="sum") == (
            'nn.NLLLoss(reduction="sum")(probs.log(), labels)'
        )

    def test_options_docstring(self):
        o = Options("sum", None, -100, 0.0, "logits", False, 1, "index")
        assert torch_call(o) == 'nn.CrossEntropyLoss(reduction="sum")(logits, labels)'
