"""Target and option validation: every error is one line that says what and where.

Messages are matched exactly (whole string): they are what a CLI user reads.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import FrozenInstanceError, astuple, fields, replace

import numpy as np
import pytest

from xent_cli import cross_entropy, cross_entropy_grad
from xent_cli.core.checks import class_indices, normalize_class_axis
from xent_cli.core.targets import (
    IndexTargets,
    ProbTargets,
    prepare_targets,
    resolve_kind,
    with_weights,
)
from xent_cli.errors import UsageError
from xent_cli.spec import LossSpec

X43 = np.zeros((4, 3))
X34 = np.zeros((3, 4))


def raises_exactly(message: str):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


# ---------------------------------------------------------------- out of bounds


class TestOutOfBounds:
    def test_one_based_hint(self):
        msg = (
            "Target 4 is out of bounds at index 1: 4 classes, expected 0..3 or the ignore "
            "index -100; labels look 1-based: use 0..3"
        )
        with raises_exactly(msg):
            prepare_targets((3, 4), [1, 4, 2])

    def test_no_one_based_hint_when_zero_present(self):
        msg = (
            "Target 4 is out of bounds at index 2: 4 classes, expected 0..3 or the ignore "
            "index -100"
        )
        with raises_exactly(msg):
            prepare_targets((3, 4), [0, 2, 4])

    def test_no_one_based_hint_above_c(self):
        msg = (
            "Target 255 is out of bounds at index 0: 4 classes, expected 0..3 or the ignore "
            "index -100"
        )
        with raises_exactly(msg):
            prepare_targets((3, 4), [255, 1, 2])

    def test_negative_label_suggests_ignore_index(self):
        msg = (
            "Target -1 is out of bounds at index 1: 4 classes, expected 0..3 or the ignore "
            "index -100; to skip such targets pass --ignore-index -1"
        )
        with raises_exactly(msg):
            prepare_targets((3, 4), [1, -1, 2])

    def test_position_for_kdim(self):
        msg = (
            "Target 3 is out of bounds at position (1, 0): 3 classes, expected 0..2 or the "
            "ignore index -100"
        )
        with raises_exactly(msg):
            prepare_targets((2, 3, 2), [[0, 1], [3, 0]])

    def test_names_the_first_offender(self):
        with pytest.raises(ValueError, match=r"^Target 7 is out of bounds at index 2:"):
            prepare_targets((5, 4), [0, 1, 7, 9, -3])

    def test_custom_ignore_index_named(self):
        with pytest.raises(ValueError, match=r"expected 0\.\.2 or the ignore index 255"):
            prepare_targets((2, 3), [0, 3], LossSpec(ignore_index=255))

    def test_ignore_index_is_not_out_of_bounds(self):
        t = prepare_targets((3, 4), [1, -1, 2], LossSpec(ignore_index=-1))
        assert t.valid.tolist() == [True, False, True]

    def test_unbatched(self):
        msg = (
            "Target 3 is out of bounds at index 0: 3 classes, expected 0..2 or the ignore "
            "index -100; labels look 1-based: use 0..2"
        )
        with raises_exactly(msg):
            prepare_targets((3,), 3)

    @pytest.mark.parametrize("f", [cross_entropy, cross_entropy_grad])
    def test_through_public_api(self, f):
        with pytest.raises(ValueError, match=r"^Target 4 is out of bounds at index 1"):
            f(X34, [1, 4, 2])


# ---------------------------------------------------------------- non-integer targets


class TestNonIntegerTargets:
    def test_nan(self):
        with raises_exactly("target at index 1 is nan; expected a class index"):
            prepare_targets((2, 3), [0, np.nan])

    def test_inf_kdim(self):
        with raises_exactly("target at position (1, 0) is inf; expected a class index"):
            prepare_targets((2, 3, 2), [[0, 1], [np.inf, 0]])

    def test_fractional(self):
        # The value must read as a number, "1.5", not as NumPy's repr "np.float64(1.5)".
        with raises_exactly("target at index 1 is 1.5; expected an integer class index"):
            prepare_targets((2, 3), [0, 1.5])

    def test_fractional_names_a_fraction(self):
        with pytest.raises(ValueError, match=r"^target at index 2 is .*expected an integer"):
            prepare_targets((3, 3), [0.0, 1.0, 2.25])

    def test_string(self):
        # The label must read as the user wrote it ('cat'), not as "np.str_('cat')".
        with raises_exactly(
            "target 'cat' is not a class index; give the class names with --classes"
        ):
            prepare_targets((2, 3), ["cat", "dog"])

    def test_string_through_public_api(self):
        with pytest.raises(ValueError, match="is not a class index; give the class names"):
            cross_entropy(np.zeros((2, 3)), np.array(["1", "2"]))

    def test_huge_integer_valued_float(self):
        # 1e30 is integer-valued but does not fit int64: it must be reported as itself, without
        # a NumPy cast warning, and without suggesting "--ignore-index -9223372036854775808".
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=r"at index 3") as err:
                prepare_targets((4, 3), [0.0, 1.0, 2.0, 1e30])
        assert "9223372036854775808" not in str(err.value)
        assert "1e+30" in str(err.value)

    def test_bool(self):
        with raises_exactly("targets must be class indices (integers), got dtype bool"):
            prepare_targets((4, 3), [True, False, True, True])

    def test_object(self):
        with raises_exactly("targets must be class indices (integers), got dtype object"):
            prepare_targets((2, 3), np.array([0, None], dtype=object))

    def test_integer_valued_floats_accepted(self):
        t = prepare_targets((3, 3), [0.0, 2.0, -100.0])
        assert t.index.dtype == np.int64
        assert t.index.tolist() == [0, 2, -100]
        assert t.valid.tolist() == [True, True, False]

    def test_class_indices_docstring_case(self):
        out = class_indices(np.array([1.0, 2.0, -100.0]), 3, -100, (3,))
        assert out.tolist() == [1, 2, -100]
        assert out.dtype == np.int64


# ---------------------------------------------------------------- shapes


class TestShapes:
    def test_wrong_class_axis_hint(self):
        msg = (
            "targets have shape (2, 5) but the input (2, 5, 3) with classes on axis 1 needs "
            "class indices of shape (2, 3) (or probabilities of shape (2, 5, 3)); the targets "
            "fit classes on axis 2: try --class-axis 2"
        )
        with raises_exactly(msg):
            prepare_targets((2, 5, 3), np.zeros((2, 5), int))

    def test_wrong_class_axis_hint_4d(self):
        with pytest.raises(ValueError, match=r"fit classes on axis 3: try --class-axis 3$"):
            prepare_targets((2, 3, 4, 5), np.zeros((2, 3, 4), int))

    def test_transposed_2d_hint(self):
        with pytest.raises(ValueError, match=r"fit classes on axis 0: try --class-axis 0$"):
            prepare_targets((4, 3), np.zeros(3, int))

    def test_column_target_no_hint(self):
        msg = (
            "targets have shape (4, 1) but the input (4, 3) with classes on axis 1 needs "
            "class indices of shape (4,) (or probabilities of shape (4, 3))"
        )
        with raises_exactly(msg):
            prepare_targets((4, 3), np.zeros((4, 1), int))

    def test_batch_mismatch(self):
        msg = (
            "targets have shape (5,) but the input (4, 3) with classes on axis 1 needs "
            "class indices of shape (4,) (or probabilities of shape (4, 3))"
        )
        with raises_exactly(msg):
            prepare_targets((4, 3), np.zeros(5, int))

    def test_unbatched_two_targets(self):
        msg = (
            "targets have shape (2,) but the input (3,) with classes on axis 0 needs class "
            "indices of shape () (or probabilities of shape (3,))"
        )
        with raises_exactly(msg):
            prepare_targets((3,), [0, 1])

    def test_prob_wrong_shape(self):
        msg = "probability targets have shape (4,), expected the input's shape (4, 3)"
        with raises_exactly(msg):
            prepare_targets((4, 3), [0, 1, 2, 0], LossSpec(targets_kind="prob"))

    def test_prob_bool(self):
        with raises_exactly("probability targets must be numbers, got dtype bool"):
            prepare_targets((2, 3), np.ones((2, 3), bool))

    def test_scalar_input(self):
        with raises_exactly("input is a single number; expected at least one axis of classes"):
            cross_entropy(np.float64(3.0), 0)

    def test_no_classes(self):
        with raises_exactly("input of shape (4, 0) has no classes on axis 1"):
            prepare_targets((4, 0), [0, 0, 0, 0])

    @pytest.mark.parametrize("axis", [2, -3])
    def test_class_axis_out_of_range(self, axis):
        msg = f"class axis {axis} is out of range for a 2-D input (expected -2..1)"
        with raises_exactly(msg):
            prepare_targets((4, 3), [0, 1, 2, 0], LossSpec(class_axis=axis))


class TestNormalizeClassAxis:
    @pytest.mark.parametrize(
        "ndim,axis,expected",
        [
            (1, 1, 0),
            (1, -1, 0),
            (1, 5, 0),
            (2, 1, 1),
            (2, -1, 1),
            (2, 0, 0),
            (3, -1, 2),
            (4, -3, 1),
            (4, 3, 3),
        ],
    )
    def test_values(self, ndim, axis, expected):
        assert normalize_class_axis(ndim, axis) == expected

    def test_default_is_one(self):
        assert normalize_class_axis(3) == 1


class TestResolveKind:
    def test_auto(self):
        assert resolve_kind((4, 3), (4, 3), "auto") == "prob"
        assert resolve_kind((4, 3), (4,), "auto") == "index"

    def test_forced(self):
        assert resolve_kind((4, 3), (4, 3), "index") == "index"
        assert resolve_kind((4, 3), (4,), "prob") == "prob"

    def test_bad(self):
        # The kind is checked once, where the options are made (LossSpec), not again in
        # resolve_kind, which only ever sees a checked kind: the same message, raised there.
        with raises_exactly("targets kind must be auto, index or prob; got 'soft'"):
            LossSpec(targets_kind="soft")


# ---------------------------------------------------------------- weights


class TestWeights:
    def test_weight_too_short(self):
        with raises_exactly("weight has 2 values, expected one per class (3)"):
            prepare_targets((4, 3), [0, 1, 2, 0], weight=[1, 2])

    def test_weight_too_long(self):
        with raises_exactly("weight has 4 values, expected one per class (3)"):
            cross_entropy(X43, [0, 1, 2, 0], weight=[1, 2, 3, 4])

    def test_weight_non_finite(self):
        with raises_exactly("weight holds a non-finite value; expected finite numbers"):
            prepare_targets((4, 3), [0, 1, 2, 0], weight=[1, np.nan, 2])

    def test_sample_weight_wrong_length(self):
        with raises_exactly("sample weight has 2 values, expected one per sample (4)"):
            prepare_targets((4, 3), [0, 1, 2, 0], sample_weight=[1, 2])

    def test_sample_weight_kdim_counts_all_positions(self):
        with raises_exactly("sample weight has 2 values, expected one per sample (4)"):
            prepare_targets((2, 3, 2), [[0, 1], [1, 0]], sample_weight=[1, 2])

    def test_sample_weight_non_finite(self):
        with raises_exactly("sample weight holds a non-finite value; expected finite numbers"):
            prepare_targets((2, 3), [0, 1], sample_weight=[1, np.inf])

    def test_weight_stored_float64(self):
        t = prepare_targets((2, 3), [0, 1], weight=np.array([1, 2, 3], dtype=np.int32))
        assert t.weight.dtype == np.float64
        assert t.weight.tolist() == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------- options


class TestOptions:
    @pytest.mark.parametrize("eps,shown", [(1.5, "1.5"), (-0.1, "-0.1"), (2, "2")])
    def test_label_smoothing_outside_0_1(self, eps, shown):
        with raises_exactly(f"label_smoothing must be between 0.0 and 1.0. Got: {shown}"):
            cross_entropy(X43, [0, 1, 2, 0], label_smoothing=eps)

    @pytest.mark.parametrize("eps", [0.0, 1.0, 0.5])
    def test_label_smoothing_bounds_accepted(self, eps):
        assert np.isfinite(cross_entropy(X43, [0, 1, 2, 0], label_smoothing=eps))

    @pytest.mark.parametrize("f", [cross_entropy, cross_entropy_grad])
    def test_bad_reduction(self, f):
        with raises_exactly("avg is not a valid value for reduction (mean, sum, none)"):
            f(X43, [0, 1, 2, 0], reduction="avg")

    def test_reduction_is_case_sensitive(self):
        with raises_exactly("Mean is not a valid value for reduction (mean, sum, none)"):
            cross_entropy(X43, [0, 1, 2, 0], reduction="Mean")


# ---------------------------------------------------------------- the Targets object


class TestTargetsObject:
    def test_docstring_case(self):
        t = prepare_targets((3, 4), [1, 2, 3])
        assert (t.batch_shape, t.n_classes, t.index.tolist()) == ((3,), 4, [1, 2, 3])
        assert t.n_rows == 3
        # Index targets are their own type now, one that holds no probabilities.
        assert isinstance(t, IndexTargets)
        assert not hasattr(t, "prob")

    def test_kdim_rows_roundtrip(self):
        x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
        t = prepare_targets(x.shape, np.zeros((2, 4, 5), int))
        rows = t.rows(x)
        assert rows.shape == (40, 3)
        assert rows[0].tolist() == [0.0, 20.0, 40.0]  # the classes of sample (0, 0, 0)
        assert (t.unrows(rows) == x).all()

    def test_effective_weight(self):
        t = prepare_targets((4, 3), [0, -100, 2, 1], weight=[1, 2, 0.5], sample_weight=[1, 2, 3, 4])
        assert t.effective_weight.tolist() == [1.0, 0.0, 1.5, 8.0]

    def test_prob_effective_weight_ignores_class_weight(self):
        t = prepare_targets((2, 3), np.full((2, 3), 1 / 3), weight=[1, 2, 0.5])
        assert t.effective_weight.tolist() == [1.0, 1.0]
        assert t.valid.tolist() == [True, True]

    def test_targets_are_frozen(self):
        t = prepare_targets((3, 4), [1, 2, 3])
        with pytest.raises(AttributeError, match="cannot assign to field 'index'"):
            t.index = np.zeros(3, np.int64)
        with pytest.raises(AttributeError, match="cannot delete field 'weight'"):
            del t.weight
        with pytest.raises(AttributeError):
            t.extra = 1  # only the fields
        assert repr(t).startswith("IndexTargets(input_shape=(3, 4), class_axis=1, weight=None,")

    def test_with_weights_keeps_the_kind_and_the_rest(self):
        t = prepare_targets((2, 3), [0, 2])
        w, sw = np.array([1.0, 2.0, 3.0]), np.array([0.5, 2.0])
        u = with_weights(t, w, sw)
        assert isinstance(u, IndexTargets) and u.index is t.index and u.valid is t.valid
        assert u.weight is w and u.sample_weight is sw and t.weight is None
        assert u.effective_weight.tolist() == [0.5, 6.0]
        q = prepare_targets((2, 3), np.full((2, 3), 1 / 3))
        v = with_weights(q, None, sw)
        assert isinstance(v, ProbTargets) and v.array is q.array
        assert v.effective_weight.tolist() == [0.5, 2.0]


class TestLossSpec:
    def test_defaults_are_torchs(self):
        s = LossSpec()
        assert astuple(s) == ("mean", -100, 0.0, 1, "logits", "auto", None)
        assert [f.name for f in fields(s)][:3] == ["reduction", "ignore_index", "label_smoothing"]

    def test_frozen_and_compared_by_value(self):
        s = LossSpec(reduction="sum", label_smoothing=1)
        assert s.label_smoothing == 1.0 and isinstance(s.label_smoothing, float)
        assert s == LossSpec("sum", label_smoothing=1.0)
        assert hash(s) == hash(LossSpec(reduction="sum", label_smoothing=1.0))
        with pytest.raises(FrozenInstanceError):
            s.reduction = "mean"  # type: ignore[misc]

    def test_replace_checks_as_a_new_spec_does(self):
        s = LossSpec()
        assert replace(s, class_axis=2, targets_kind="index").class_axis == 2
        with pytest.raises(UsageError, match="avg is not a valid value for reduction"):
            replace(s, reduction="avg")
        with pytest.raises(UsageError, match="label_smoothing must be between 0.0 and 1.0"):
            replace(s, label_smoothing=1.5)
        with pytest.raises(TypeError):
            replace(s, smoothing=0.1)
