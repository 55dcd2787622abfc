"""render: number formatting, plain/CSV/JSON text, golden Rich tables and the explain view.

Tables are rendered as the CLI renders them when piped: ``Console(file=io.StringIO(),
width=100, color_system=None, force_terminal=False)``. The post's numbers (softmax row
0.0321 0.0871 0.2369 0.6439, losses 2.4402 1.4402 0.4402, mean 1.4402, sum 4.3206) are those
printed by torch in the source post and in reference/torch-semantics.md (W1).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

from xent_cli.api import evaluate, explain
from xent_cli.render.explain import explain_view
from xent_cli.render.numbers import compact, csv_array, fmt, json_dumps, plain_array, plain_scalar
from xent_cli.render.tables import array_table, loss_table

LOGITS = np.arange(1.0, 13.0).reshape(3, 4)
LABELS = [1, 2, 3]
W = [1.0, 2.0, 0.5, 3.0]


def text(renderable, width: int = 100) -> str:
    """What the CLI prints when piped: no colour, ``width`` columns."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()


def flat(out: str) -> str:
    """The text with wrapped lines joined (and runs of spaces collapsed)."""
    return " ".join(out.split())


def view(*args, digits: int = 4, truncate: bool = False, class_names=None, **kwargs) -> str:
    e = explain(*args, **kwargs)
    return text(explain_view(e, digits=digits, truncate=truncate, class_names=class_names))


# --- fmt ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "digits", "truncate", "expected"),
    [
        (0.36552928931500245, 3, False, "0.366"),
        (0.36552928931500245, 3, True, "0.365"),
        (0.03205860328008499, 4, False, "0.0321"),
        (0.03205860328008499, 4, True, "0.0320"),
        (0.36553, 4, False, "0.3655"),
        (0.36553, 3, False, "0.366"),
        (0.36553, 3, True, "0.365"),
        (0.125, 2, False, "0.12"),  # half-even, as format()
        (0.3, 1, True, "0.3"),  # truncates the shortest repr, not 0.2999...
        (-0.36559, 3, True, "-0.365"),
        (1.4401896985611955, 4, False, "1.4402"),
        (2.0, 4, False, "2.0000"),
        (2.5, 0, False, "2"),
        (1234567.891, 4, False, "1.2346e+06"),
        (1234567.891, 4, True, "1.2345e+06"),
        (2.5618e-10, 4, False, "2.5618e-10"),
        (1.23456789e-7, 4, True, "1.2345e-07"),
        (0.00001, 4, False, "1.0000e-05"),
        (0.0001, 4, False, "0.0001"),
        (0.0, 4, False, "0.0000"),
        (float("nan"), 4, False, "nan"),
        (float("inf"), 4, True, "inf"),
        (float("-inf"), 4, False, "-inf"),
        (np.float32(0.5), 2, False, "0.50"),
    ],
)
def test_fmt(value, digits, truncate, expected) -> None:
    assert fmt(value, digits, truncate=truncate) == expected


def test_fmt_default_is_four_digits_rounded() -> None:
    assert fmt(0.08714431874203257) == "0.0871"


def test_compact() -> None:
    assert [compact(3.0), compact(0.5), compact(2.25), compact(1 / 3)] == [
        "3",
        "0.5",
        "2.25",
        "0.3333",
    ]


# --- plain / csv / json ----------------------------------------------------------------------


def test_plain_scalar() -> None:
    assert plain_scalar(np.float64(1.4401896985611955)) == "1.4401896985611955"
    assert plain_scalar(4.320569095683587) == "4.320569095683587"
    assert [plain_scalar(x) for x in (np.nan, np.inf, -np.inf)] == ["nan", "inf", "-inf"]


def test_plain_array_shapes() -> None:
    assert plain_array(np.array(1.5)) == "1.5"
    assert plain_array(np.array([2.440189698561196, 1.4401896985611957, 0.44018969856119533])) == (
        "2.440189698561196 1.4401896985611957 0.44018969856119533"
    )
    assert plain_array(np.array([[0.0, 1.0], [np.nan, -np.inf]])) == "0.0 1.0\nnan -inf"
    assert plain_array(np.arange(8.0).reshape(2, 2, 2)) == "0.0 1.0\n2.0 3.0\n4.0 5.0\n6.0 7.0"
    assert not plain_array(np.ones((2, 3))).endswith("\n")


def test_csv_array() -> None:
    assert csv_array(np.array([[0.25, 0.75], [1.0, 0.0]])) == "0.25,0.75\n1.0,0.0"
    assert csv_array(np.array([0.5, 2.0]), header=["a", "b"]) == "a,b\n0.5,2.0"
    assert csv_array(np.array([[1.0, 2.0]]), header=["x,y", "z"]) == '"x,y",z\n1.0,2.0'
    assert csv_array(np.array(3.0), header=["loss"]) == "loss\n3.0"


def test_json_dumps_maps_numpy_and_non_finite() -> None:
    out, bad = json_dumps(
        {
            "loss": np.float64(np.nan),
            "per": np.array([1.0, np.inf, -np.inf]),
            "count": np.int64(3),
            "shown": [(0, 1), 2],
            "ok": np.bool_(True),
        }
    )
    assert bad is True
    assert json.loads(out) == {
        "loss": None,
        "per": [1.0, None, None],
        "count": 3,
        "shown": [[0, 1], 2],
        "ok": True,
    }
    assert "NaN" not in out and "Infinity" not in out


def test_json_dumps_finite_has_no_flag() -> None:
    out, bad = json_dumps({"loss": np.float64(1.4401896985611955), "reduction": "mean"})
    assert (out, bad) == ('{"loss": 1.4401896985611955, "reduction": "mean"}', False)


# --- tables ----------------------------------------------------------------------------------


def test_loss_table_mean() -> None:
    assert text(loss_table(evaluate(LOGITS, LABELS))) == (
        "quantity               value\n"
        "────────────────────────────\n"
        "loss                  1.4402\n"
        "reduction               mean\n"
        "targets used               3\n"
        "divisor of the mean        3\n"
    )


def test_loss_table_weighted_mean_divisor() -> None:
    out = text(loss_table(evaluate(LOGITS, [1, -100, 3], weight=W)))
    assert "targets used               2" in out
    assert "divisor of the mean        5" in out


def test_loss_table_sum_has_no_divisor() -> None:
    out = text(loss_table(evaluate(LOGITS, LABELS, reduction="sum"), digits=2))
    assert "loss            4.32" in out
    assert "divisor" not in out


def test_loss_table_none_rows_and_title() -> None:
    res = evaluate(LOGITS, LABELS, reduction="none")
    assert text(loss_table(res, title="losses")) == (
        "    losses     \n"
        "sample     loss\n"
        "───────────────\n"
        "0        2.4402\n"
        "1        1.4402\n"
        "2        0.4402\n"
    )
    assert "0        2.440\n" in text(loss_table(res, digits=3, truncate=True))


def test_loss_table_none_k_dim_coordinates() -> None:
    res = evaluate(np.zeros((2, 3, 2)), [[0, 1], [2, 0]], reduction="none")
    lines = text(loss_table(res)).splitlines()
    assert lines[0].split() == ["position", "loss"]
    assert [line.split("  ")[0] for line in lines[2:]] == ["(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"]
    assert all(line.endswith("1.0986") for line in lines[2:])


def test_array_table_with_class_names() -> None:
    # "[b]" would be Rich markup if it were passed as a string: it must print as is.
    out = text(array_table(np.array([[0.1, 0.9], [0.5, 0.5]]), class_names=["cat", "[b]"]))
    assert out == (
        "sample      cat      [b]\n"
        "────────────────────────\n"
        "0        0.1000   0.9000\n"
        "1        0.5000   0.5000\n"
    )


def test_array_table_one_d_and_k_dim() -> None:
    assert text(array_table(np.array([0.25, 0.75]))).splitlines()[2] == "0        0.2500   0.7500"
    out = text(array_table(np.arange(8.0).reshape(2, 2, 2), digits=2)).splitlines()
    assert out[0].split() == ["position", "0", "1"]
    assert out[2:] == [
        "(0, 0)     0.00   1.00",
        "(0, 1)     2.00   3.00",
        "(1, 0)     4.00   5.00",
        "(1, 1)     6.00   7.00",
    ]


def test_array_table_row_labels_title_and_truncate() -> None:
    t = array_table(
        np.array([[0.36552928931500245, 0.6344707106849975]]),
        digits=3,
        truncate=True,
        title="softmax",
        row_labels=["first"],
    )
    out = text(t)
    assert "softmax" in out.splitlines()[0]
    assert "first    0.365   0.634" in out


def test_array_table_wrong_number_of_class_names() -> None:
    with pytest.raises(ValueError, match="3 class names given for 2 classes"):
        array_table(np.ones((1, 2)), class_names=["a", "b", "c"])


# --- explain: the post's worked example ------------------------------------------------------

# Written once from the output after checking it by eye against the post (softmax row
# 0.0321 0.0871 0.2369 0.6439; losses 2.4402 1.4402 0.4402; mean 1.4402).
GOLDEN_WORKED_EXAMPLE = """\
Step 1  logits z (3 samples × 4 classes) and targets y      y = [1, 2, 3]
sample         0          1          2           3   y
──────────────────────────────────────────────────────
0         1.0000   [2.0000]     3.0000      4.0000   1
1         5.0000     6.0000   [7.0000]      8.0000   2
2         9.0000    10.0000    11.0000   [12.0000]   3

Step 2  shift by the row max: z − max(z)   (exp cannot overflow; softmax is unchanged)
sample     max z          0           1           2          3
──────────────────────────────────────────────────────────────
0         4.0000    -3.0000   [-2.0000]     -1.0000     0.0000
1         8.0000    -3.0000     -2.0000   [-1.0000]     0.0000
2        12.0000    -3.0000     -2.0000     -1.0000   [0.0000]

Step 3  exp, and the row sums
sample         0          1          2          3      sum
──────────────────────────────────────────────────────────
0         0.0498   [0.1353]     0.3679     1.0000   1.5530
1         0.0498     0.1353   [0.3679]     1.0000   1.5530
2         0.0498     0.1353     0.3679   [1.0000]   1.5530

Step 4  softmax p = exp / sum   (each row sums to 1)
sample            0            1            2            3
──────────────────────────────────────────────────────────
0            0.0321     [0.0871]       0.2369       0.6439
         ▍░░░░░░░░░   ▉░░░░░░░░░   ██▍░░░░░░░   ██████▌░░░
1            0.0321       0.0871     [0.2369]       0.6439
         ▍░░░░░░░░░   ▉░░░░░░░░░   ██▍░░░░░░░   ██████▌░░░
2            0.0321       0.0871       0.2369     [0.6439]
         ▍░░░░░░░░░   ▉░░░░░░░░░   ██▍░░░░░░░   ██████▌░░░

Step 5  loss per sample  −log p[y] = logsumexp(z) − z[y]
sample   y   logsumexp(z)      z[y]     p[y]   −log p[y]
────────────────────────────────────────────────────────
0        1         4.4402    2.0000   0.0871      2.4402
1        2         8.4402    7.0000   0.2369      1.4402
2        3        12.4402   12.0000   0.6439      0.4402

Step 6  reduction mean: (2.4402 + 1.4402 + 0.4402) / 3 = 1.4402
        divisor: the number of targets used

PyTorch: nn.CrossEntropyLoss()(logits, labels) → tensor(1.4402)
"""


def test_worked_example_golden() -> None:
    assert view(LOGITS, LABELS) == GOLDEN_WORKED_EXAMPLE


def test_worked_example_numbers_of_the_post() -> None:
    out = view(LOGITS, LABELS)
    for s in ("0.0321", "[0.0871]", "0.2369", "0.6439", "2.4402", "1.4402", "0.4402",
              "(2.4402 + 1.4402 + 0.4402) / 3 = 1.4402", "y = [1, 2, 3]",
              "PyTorch: nn.CrossEntropyLoss()(logits, labels) → tensor(1.4402)"):  # fmt: skip
        assert s in out, s
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("Step")] == [
        ["Step", str(i)] for i in range(1, 7)
    ]


def test_worked_example_fits_in_100_columns() -> None:
    assert max(len(line) for line in view(LOGITS, LABELS).splitlines()) <= 100


def test_worked_example_sum_and_none() -> None:
    out = view(LOGITS, LABELS, reduction="sum")
    assert "Step 6  reduction sum: 2.4402 + 1.4402 + 0.4402 = 4.3206" in out
    assert 'nn.CrossEntropyLoss(reduction="sum")(logits, labels) → tensor(4.3206)' in out
    out = view(LOGITS, LABELS, reduction="none")
    assert "reduction none: the per-sample losses, unreduced" in out
    assert "        [2.4402, 1.4402, 0.4402]" in out
    assert "→ tensor([2.4402, 1.4402, 0.4402])" in out


def test_digits_and_truncate_apply_to_every_number() -> None:
    out = view(LOGITS, LABELS, digits=3, truncate=True)
    assert "0.032" in out and "[0.087]" in out and "0.236" in out and "0.643" in out
    assert "(2.440 + 1.440 + 0.440) / 3 = 1.440" in out
    assert "tensor(1.440)" in out
    assert "0.0321" not in out
    assert "(2.44 + 1.44 + 0.44) / 3 = 1.44" in view(LOGITS, LABELS, digits=2)


def test_target_cell_is_styled_not_only_bracketed() -> None:
    console = Console(file=io.StringIO(), width=100, color_system="standard", force_terminal=True)
    console.print(explain_view(explain(LOGITS, LABELS)))
    assert "\x1b[1;7m[0.0871]\x1b[0m" in console.file.getvalue()


def test_class_names_in_headers_and_targets() -> None:
    # The post's classes: label 4 is column 1.
    logits = np.array([[0.0815, 0.1693, 0.2274, -0.0068, -0.3081, -0.2758]])
    out = view(logits, [1], class_names=["2", "4", "8", "1", "3", "5"])
    assert "y = [4]" in out
    assert out.splitlines()[1].split() == ["sample", "2", "4", "8", "1", "3", "5", "y"]
    assert max(len(line) for line in out.splitlines()) <= 100
    out = view(LOGITS, LABELS, class_names=["cat", "dog", "[b]", "eel"])
    assert "y = [dog, [b], eel]" in out


# --- explain: options ------------------------------------------------------------------------


def test_weights_smoothing_and_ignored() -> None:
    out = view(LOGITS, [1, -100, 3], weight=W, label_smoothing=0.1)
    assert "y = [1, -100, 3]" in out
    assert "-100 (ignored)" in out
    assert "loss = (1 − ε)·w[y]·(−log p[y]) + ε/C·Σ_c w_c(−log p_c)" in out
    assert "with ε = 0.1 (label smoothing) and C = 4" in out
    row0 = next(line for line in out.splitlines() if line.startswith("0           1"))
    assert row0.split() == ["0", "1", "0.0871", "2.4402", "0.2590", "2", "4.6514"]
    row1 = next(line for line in out.splitlines() if line.startswith("1        -100"))
    assert row1.split() == ["1", "-100", "ignored", "—", "—", "—", "0"]
    assert "ignored (target = -100), loss 0: sample 1" in out
    assert "Step 6  reduction mean: (4.6514 + 1.4475) / (2 + 3) = 6.0989 / 5 = 1.2198" in out
    assert "divisor: Σ w[y] over the targets used" in out
    assert "label_smoothing=0.1)(logits, labels) → tensor(1.2198)" in flat(out)


def test_sample_weights() -> None:
    out = view(LOGITS, LABELS, sample_weight=[1.0, 2.0, 0.5])
    assert "loss = sample weight × (−log p[y])" in out
    assert "(2.4402 + 2.8804 + 0.2201) / (1 + 2 + 0.5) = 5.5407 / 3.5 = 1.5830" in out
    assert "# then × sample_weight and reduce by mean → tensor(1.5830)" in flat(out)


def test_all_ignored_mean_is_nan() -> None:
    out = view(LOGITS, [-100, -100, -100])
    assert "mean of no targets: 0/0 = nan (as torch)" in out
    assert "ignored (target = -100), loss 0: samples 0, 1, 2" in out
    assert out.rstrip().endswith("→ tensor(nan)")
    assert "reduction sum: sum of no targets = 0" in view(LOGITS, [-100] * 3, reduction="sum")


def test_probability_targets() -> None:
    q = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 0.0], [0.25] * 4])
    out = view(LOGITS, q)
    assert "and target probabilities q" in out
    assert "Step 5  loss per sample  −Σ_c q_c log p_c" in out
    assert "−Σ q log p" in out
    losses = explain(LOGITS, q).loss
    terms = " + ".join(fmt(x) for x in losses)
    assert f"({terms}) / 3 = {fmt(losses.mean())}" in out
    assert "divisor: the number of samples (probability targets; as torch)" in out
    assert "(logits, probs) →" in out
    assert "[" not in out.split("Step 4")[1].split("Step 5")[0]  # no single target to mark


def test_probability_targets_with_weights_and_smoothing() -> None:
    q = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 0.0], [0.25] * 4])
    out = view(LOGITS, q, weight=W, label_smoothing=0.2)
    assert "loss = (1 − ε)·(−Σ_c w_c q_c log p_c) + ε/C·Σ_c w_c(−log p_c)" in out
    row0 = next(line for line in out.splitlines() if line.startswith("0  ") and "0.5181" in line)
    assert row0.split() == ["0", "2.0644", "0.5181", "2.1695"]  # 0.8 × 2.0644 + 0.5181


def test_probabilities_input_skips_shift_and_exp() -> None:
    p = np.exp(LOGITS) / np.exp(LOGITS).sum(axis=1, keepdims=True)
    out = view(p, LABELS, input_kind="probs")
    assert "Step 1  probabilities p (3 samples × 4 classes)" in out
    assert "input is probabilities: p is given" in out
    assert "Step 2 " not in out and "Step 3 " not in out
    assert "Step 5  loss per sample  −log p[y]\n" in out
    assert "(2.4402 + 1.4402 + 0.4402) / 3 = 1.4402" in out
    assert "nn.NLLLoss()(probs.log(), labels) → tensor(1.4402)" in out


def test_logprobs_input() -> None:
    out = view(np.log(np.full((2, 3), 1 / 3)), [0, 2], input_kind="logprobs", reduction="sum")
    assert "input is log-probabilities: p = exp(log p)" in out
    assert "[0.3333]" in out
    assert "reduction sum: 1.0986 + 1.0986 = 2.1972" in out


def test_k_dim_positions() -> None:
    x = np.arange(24.0).reshape(2, 3, 4)
    out = view(x, [[0, 1, 2, 0], [2, 2, 1, -100]], reduction="none", rows=3)
    assert "Step 1  logits z (8 samples × 3 classes)" in out
    assert "each of the 2 × 4 = 8 positions is a sample" in out
    assert "showing 3 of 8 samples; the reduction below uses all 8" in out
    assert [line[:6] for line in out.splitlines() if line[:1] == "("] == [
        "(0, 0)",
        "(0, 1)",
        "(0, 2)",
    ] * 5
    assert "shape (2, 4)" in out
    assert "[8.0185, 4.0185, 0.0185, 8.0185, 0.0185, 0.0185, 4.0185, 0.0000]" in out
    torch_line = flat(out[out.index("PyTorch:") :])
    assert "tensor([[8.0185, 4.0185, 0.0185, 8.0185], [0.0185, 0.0185, 4.0185, 0.0000]])" in (
        torch_line
    )


def test_rows_limit_is_said_and_the_total_is_true() -> None:
    out = view(LOGITS, LABELS, reduction="sum", rows=2)
    assert "showing 2 of 3 samples; the reduction below uses all 3" in out
    assert "y = [1, 2, …]" in out
    assert "Step 6  reduction sum: 2.4402 + 1.4402 + … (1 more) = 4.3206" in out
    out = view(LOGITS, LABELS, rows=2)
    assert "(2.4402 + 1.4402 + … (1 more)) / 3 = 4.3206 / 3 = 1.4402" in out


def test_no_rows_shown_still_tells_the_total() -> None:
    out = view(LOGITS, LABELS, rows=0)
    assert "y = […]" in out
    assert "showing 0 of 3 samples; the reduction below uses all 3" in out
    assert "reduction mean: (… (3 terms)) / 3 = 4.3206 / 3 = 1.4402" in out


def test_zero_weights_divide_by_zero_as_torch() -> None:
    out = flat(view(LOGITS, LABELS, weight=[0.0] * 4))
    assert "/ (0 + 0 + 0) = 0.0000 / 0 = nan (as torch: the divisor is 0)" in out


def test_many_samples_and_many_classes() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 10)), rng.integers(0, 10, 1000)
    e = explain(x, y, rows=10)
    out = text(explain_view(e))
    assert "showing 10 of 1000 samples; the reduction below uses all 1000" in out
    assert "showing classes 0…4 of 10; the target's value has its own column" in out
    step6 = out[out.index("Step 6") : out.index("PyTorch")]
    assert flat(step6).count(" + ") == 8  # 8 terms written, then the rest counted
    assert "… (992 more)) / 1000 = " in flat(step6)
    assert f"= {fmt(e.result.loss)}\n" in out
    assert "the bar shows p[y], the target's probability" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    # the target's cell: in the "p[y]" column, marked, with its bar below
    assert f"[{fmt(e.p_target[0])}]" in out


def test_no_trailing_spaces_even_when_lines_wrap() -> None:
    out = view(LOGITS, [1, -100, 3], weight=W, sample_weight=[1.0, 2.0, 0.5], label_smoothing=0.1)
    assert "PyTorch: nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 3.0])," in out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert [line for line in lines if line != line.rstrip()] == []
    narrow = view(LOGITS, [1, -100, 3], rows=2, weight=W)
    assert all(line == line.rstrip() for line in narrow.splitlines())


def test_one_dimensional_input() -> None:
    out = view(np.array([0.0, 1.0, 2.0, 3.0]), 3, reduction="none")
    assert "(1 sample × 4 classes)" in out
    assert "→ tensor(0.4402)" in out


def test_nan_logits_show_nan() -> None:
    out = view(np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]]), [0, 1])
    assert "(nan + 1.4076) / 2 = nan" in out


# --- the rules: return, never print; no click; not loaded by import xent_cli -----------------


def test_nothing_prints(capsys: pytest.CaptureFixture[str]) -> None:
    explain_view(explain(LOGITS, LABELS))
    loss_table(evaluate(LOGITS, LABELS))
    array_table(np.ones((2, 2)))
    json_dumps({"a": 1})
    assert capsys.readouterr() == ("", "")


def test_imports() -> None:
    code = (
        "import sys, xent_cli\n"
        "assert 'xent_cli.render' not in sys.modules and 'rich' not in sys.modules\n"
        "import xent_cli.render.numbers, xent_cli.render.tables\n"
        "import xent_cli.render.explain.common, xent_cli.render.explain.inputs\n"
        "import xent_cli.render.explain.loss, xent_cli.render.explain.grad\n"
        "import xent_cli.render.explain\n"
        "assert 'click' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_render_module_loads_no_rich_for_plain_output() -> None:
    code = (
        "import sys, xent_cli.render, xent_cli.render.numbers\n"
        "import xent_cli.render.tables\n"
        "assert 'rich' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
