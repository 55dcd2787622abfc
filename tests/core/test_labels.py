"""encode_targets: class names (or numeric labels listed as classes) to column indices."""

from __future__ import annotations

import re

import numpy as np
import pytest

from xent_cli import cross_entropy, encode_targets

POST_CLASSES = ["2", "4", "8", "1", "3", "5"]  # the post's example: column order of the classes


class TestPostExample:
    def test_label_4_is_column_1(self):
        out = encode_targets(np.array([4]), POST_CLASSES)
        assert out.tolist() == [1.0]

    def test_label_4_as_float_and_text(self):
        assert encode_targets(np.array([4.0]), POST_CLASSES).tolist() == [1.0]
        assert encode_targets(np.array(["4"]), POST_CLASSES).tolist() == [1.0]
        assert encode_targets([4.0], POST_CLASSES).tolist() == [1.0]

    def test_every_class(self):
        out = encode_targets(np.array([2, 4, 8, 1, 3, 5]), POST_CLASSES)
        assert out.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]

    def test_numeric_class_names_match_float_text(self):
        assert encode_targets(np.array(["4.0", "8.00"]), POST_CLASSES).tolist() == [1.0, 2.0]

    def test_unlisted_integer_is_an_index(self):
        # 0 and 7 are not class names, so they stay column indices.
        assert encode_targets(np.array([0, 7]), POST_CLASSES).tolist() == [0.0, 7.0]

    def test_feeds_cross_entropy(self):
        logits = np.eye(6)[[1]] * 5.0  # one sample, confident in column 1 (class "4")
        y = encode_targets(np.array([4]), POST_CLASSES)
        loss = cross_entropy(logits, y)
        assert loss == pytest.approx(-np.log(np.exp(5) / (np.exp(5) + 5)), rel=1e-14)


class TestNames:
    def test_names_and_ignore_marker(self):
        out = encode_targets(np.array(["dog", "cat", "-100"]), ["cat", "dog"])
        assert out.tolist() == [1.0, 0.0, -100.0]
        assert out.dtype == np.float64

    def test_shape_kept(self):
        out = encode_targets(np.array([["cat", "dog"], ["dog", "dog"]]), ["cat", "dog"])
        assert out.shape == (2, 2)
        assert out.tolist() == [[0.0, 1.0], [1.0, 1.0]]

    def test_whitespace_stripped(self):
        out = encode_targets(np.array([" cat", "dog "]), [" cat ", "dog"])
        assert out.tolist() == [0.0, 1.0]

    def test_names_win_over_indices(self):
        # "0" is the name of column 1 here, not column 0.
        assert encode_targets(np.array(["0", "1"]), ["1", "0"]).tolist() == [1.0, 0.0]

    def test_first_duplicate_numeric_name_wins(self):
        assert encode_targets(np.array([1.0]), ["1", "1.0"]).tolist() == [0.0]


class TestErrors:
    def test_unknown_name(self):
        msg = "target 'bird' at index 1 is neither a class name (cat, dog) nor a class index"
        with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
            encode_targets(np.array(["cat", "bird"]), ["cat", "dog"])

    def test_unknown_name_long_class_list_truncated(self):
        msg = (
            "target 'z' at index 0 is neither a class name (a, b, c, d, e, f, g, h, ...) "
            "nor a class index"
        )
        with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
            encode_targets(np.array(["z"]), list("abcdefghij"))

    def test_unknown_name_flat_index_in_2d(self):
        with pytest.raises(ValueError, match=r"^target 'x' at index 3 is neither"):
            encode_targets(np.array([["a", "b"], ["a", "x"]]), ["a", "b"])

    def test_text_without_classes(self):
        msg = (
            "target 'x' at index 0 is not a class index; name the classes with --classes "
            "(or a header row)"
        )
        with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
            encode_targets(np.array(["x", "1"]), None)


class TestNoClasses:
    def test_numbers_pass_through(self):
        arr = np.array([[1, 2], [0, 3]])
        out = encode_targets(arr, None)
        assert out.dtype == arr.dtype
        assert (out == arr).all()

    def test_empty_list_is_no_classes(self):
        assert encode_targets(np.array([2, 0]), []).tolist() == [2, 0]

    def test_numeric_text_parsed(self):
        out = encode_targets(np.array(["1", "2", "-100"]), None)
        assert out.tolist() == [1.0, 2.0, -100.0]
        assert out.dtype == np.float64
