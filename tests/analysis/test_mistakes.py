"""The usual mistakes: each heuristic fires on the bug it names, with the fix and the loss the
fix gives (checked against the core and torch), and stays quiet on correct input: the worked
example, the samples, untrained models, square inputs and byte-level models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import xent_cli
from tests.helpers import call
from xent_cli import cross_entropy, softmax
from xent_cli.analysis.mistakes import (
    FixedLoss,
    find_mistakes,
    looks_like_probabilities,
    one_based,
    unignored_marker,
    wrong_class_axis,
)
from xent_cli.core import Targets
from xent_cli.spec import LossSpec

ROOT = Path(__file__).resolve().parents[2]
KW = dict(reduction="mean", class_axis=1, ignore_index=-100, input_kind="logits")


def checked(
    x: np.ndarray, target: Any, **kw: Any
) -> tuple[np.ndarray, Targets, LossSpec, FixedLoss]:
    """The checked call of torch's keywords (index targets unless ``targets_kind`` says
    otherwise, as the old ``find_mistakes`` assumed), and the loss a fix gives: the public
    loss of ``x`` against the fixed targets (``None``: ``target``), the weights of the call."""
    kw = {"targets_kind": "index", **kw}
    c = call(x, target, **kw)
    arrays = {k: kw[k] for k in ("weight", "sample_weight") if k in kw}

    def fixed(new: np.ndarray | None, spec: LossSpec) -> float:
        given = target if new is None else new
        return float(xent_cli.evaluate(c.x, given, **arrays, **asdict(spec)).loss)

    return c.x, c.targets, c.spec, fixed


def mistakes(x: np.ndarray, target: Any, **kw: Any) -> list[str]:
    """:func:`find_mistakes` of a call made with torch's keywords."""
    return find_mistakes(*checked(x, target, **kw))


def check(heuristic: Callable[..., list[str]], x: np.ndarray, target: Any, **kw: Any) -> list[str]:
    """One heuristic (``one_based``, ...) of a call made with torch's keywords."""
    return heuristic(*checked(x, target, **kw))


def _classifier10():
    z = np.loadtxt(ROOT / "samples/classifier10/logits.csv", delimiter=",", skiprows=1)
    y = np.loadtxt(ROOT / "samples/classifier10/labels.csv", skiprows=1).astype(np.int64)
    return z, y


def _loss_in(message: str) -> float:
    return float(re.search(r"loss would be (\S+)$", message).group(1))


# --- quiet on correct input -------------------------------------------------------------------


def test_quiet_on_the_worked_example_and_the_samples() -> None:
    x = np.arange(1.0, 13.0).reshape(3, 4)
    assert mistakes(x, np.array([1, 2, 3]), **KW) == []
    post = np.array([[0.0815, 0.1693, 0.2274, -0.0068, -0.3081, -0.2758]])
    assert mistakes(post, np.array([1]), **KW) == []
    z, y = _classifier10()
    assert mistakes(z, y, **KW) == []
    assert mistakes(z, y, **{**KW, "reduction": "none", "label_smoothing": 0.1}) == []


@pytest.mark.parametrize("seed", range(5))
def test_quiet_on_untrained_models_without_label_0(seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (40, 10))
    assert mistakes(x, rng.integers(1, 10, 40), **KW) == []


def test_quiet_on_a_correct_square_input() -> None:
    z, y = _classifier10()
    assert check(wrong_class_axis, z[:10], y[:10], **KW) == []


def test_quiet_on_a_byte_model_using_label_255() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (200, 256))
    y = rng.integers(0, 256, 200)
    y[:5] = 255
    assert check(unignored_marker, x, y, **KW) == []


def test_quiet_when_255_is_the_ignore_index() -> None:
    x = np.random.default_rng(2).normal(0, 1, (30, 256))
    y = np.where(np.arange(30) % 3, 4, 255)
    assert check(unignored_marker, x, y, **{**KW, "ignore_index": 255}) == []


def test_quiet_when_0_is_the_ignore_index() -> None:
    z, y = _classifier10()
    keep = y < 9
    assert check(one_based, z[keep], y[keep] + 1, **{**KW, "ignore_index": 0}) == []


def test_no_evidence_with_few_targets() -> None:
    z, y = _classifier10()
    keep = np.flatnonzero(y < 9)[:9]
    assert check(one_based, z[keep], y[keep] + 1, **KW) == []


# --- each mistake, caught -----------------------------------------------------------------------


def test_softmax_applied_twice() -> None:
    z, y = _classifier10()
    p = softmax(z, axis=1)
    [msg] = mistakes(p, y, **KW)
    assert msg.startswith("LOGITS look like probabilities")
    assert "--input-kind probs" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(z, y), rel=1e-5)
    assert looks_like_probabilities(p.astype(np.float32))
    assert not looks_like_probabilities(p, input_kind="probs")
    assert not looks_like_probabilities(z)


def test_softmax_applied_twice_k_dim_and_reduction_none() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, (2, 5, 3, 3))
    y = rng.integers(0, 5, (2, 3, 3))
    p = softmax(x, axis=1)
    [msg] = mistakes(p, y, **{**KW, "reduction": "none"})
    assert "the mean loss would be" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(x, y), rel=1e-5)


def test_one_based_labels() -> None:
    z, y = _classifier10()
    keep = y < 9  # label 10 would be an error (with its own hint), not a warning
    [msg] = mistakes(z[keep], y[keep] + 1, **KW)
    assert msg.startswith("labels look 1-based")
    assert "subtract 1" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(z[keep], y[keep]), rel=1e-5)


def test_one_based_labels_with_weights_gives_the_weighted_fixed_loss() -> None:
    torch = pytest.importorskip("torch")
    z, y = _classifier10()
    keep = y < 9
    w = np.linspace(0.5, 2, 10)
    [msg] = mistakes(z[keep], y[keep] + 1, **{**KW, "weight": w, "label_smoothing": 0.1})
    want = torch.nn.functional.cross_entropy(
        torch.tensor(z[keep]), torch.tensor(y[keep]), weight=torch.tensor(w), label_smoothing=0.1
    ).item()
    assert _loss_in(msg) == pytest.approx(want, rel=1e-5)


def test_wrong_class_axis_on_a_square_input() -> None:
    z, y = _classifier10()
    sq, lab = z[:10], y[:10]
    [msg] = mistakes(sq.T.copy(), lab, **KW)
    assert "--class-axis 0" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(sq, lab), rel=1e-5)


def test_wrong_class_axis_k_dim() -> None:
    # (N, T, V) sequence logits with T == V: classes last, but the default axis is 1
    rng = np.random.default_rng(4)
    n, t, v = 3, 6, 6
    y = rng.integers(0, v, (n, t))
    x = rng.normal(0, 1, (n, t, v))
    x[np.arange(n)[:, None], np.arange(t)[None, :], y] += 6.0
    [msg] = mistakes(x, y, **KW)
    assert "--class-axis 2" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(x, y, class_axis=2), rel=1e-5)
    assert mistakes(x, y, **{**KW, "class_axis": -1}) == []


def test_unignored_255_marker() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (100, 256))
    y = rng.integers(0, 21, 100)
    y[::4] = 255
    [msg] = mistakes(x, y, **KW)
    assert "label 255 looks like a missing-label marker" in msg
    assert "appears 25 times" in msg and "--ignore-index 255" in msg
    assert _loss_in(msg) == pytest.approx(cross_entropy(x, y, ignore_index=255), rel=1e-5)


def test_no_index_checks_for_probability_targets() -> None:
    z, _ = _classifier10()
    q = softmax(z, axis=1)
    assert mistakes(z, q, **KW, targets_kind="prob") == []
    assert find_mistakes(z, None, LossSpec(**KW)) == []
