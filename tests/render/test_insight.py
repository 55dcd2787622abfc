"""Golden Rich output for the insight tables and the histogram; plain and CSV pieces; the
exported SVG and HTML parse and carry the numbers."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from rich.console import Console

from tests.helpers import PageText, analyze
from xent_cli.api import explain
from xent_cli.errors import OutputError
from xent_cli.io.writers import write_text
from xent_cli.render.explain import explain_view
from xent_cli.render.explain.common import View
from xent_cli.render.explain.grad import target_weights
from xent_cli.render.insight import (
    HIST_WIDTH,
    csv_text,
    histogram_view,
    metrics_table,
    per_class_table,
    plain_text,
    sections,
    tables,
    worst_table,
)
from xent_cli.render.numbers import bar
from xent_cli.render.outputs import export_kind, export_text

X = np.arange(1.0, 13.0).reshape(3, 4)  # the worked example
Y = [1, 2, 3]
NAMES = ["cat", "dog", "emu", "fox"]


def render(renderable, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


def export(renderable, path: str, *, width: int = 100, title: str = "xent") -> None:
    """The old ``render_insight.export``: the view as SVG/HTML text, written atomically."""
    write_text(path, export_text(renderable, export_kind(path), width=width, title=title))


def example(**kw):
    opts = dict(metrics=True, per_class=True, worst=2, hist=True, topk=2, class_names=NAMES)
    return analyze(X, Y, **{**opts, **kw})


def test_metrics_table_golden() -> None:
    # p = softmax(1..4) = [0.0321, 0.0871, 0.2369, 0.6439] in every row; only sample 2 is
    # right; every confidence is 0.6439, in bin (0.6, 0.667]: ECE = |1/3 - 0.6439| = 0.3106.
    assert render(metrics_table(example().metrics)) == (
        "          metrics           \n"
        "metric                 value\n"
        "────────────────────────────\n"
        "accuracy              0.3333\n"
        "top-2 accuracy        0.6667\n"
        "perplexity            4.2215\n"
        "bits per sample       2.0778\n"
        "mean entropy (nats)   0.9475\n"
        "ECE (15 bins)         0.3106\n"
        "targets used               3\n"
    )


def test_metrics_table_leaves_out_top_k_when_c_is_at_most_k() -> None:
    out = render(metrics_table(example(topk=4).metrics))
    assert "top-" not in out and "accuracy" in out


def test_per_class_table_golden() -> None:
    assert render(per_class_table(example().per_class)) == (
        "                         per class                          \n"
        "class   support     loss   accuracy                mean p[y]\n"
        "────────────────────────────────────────────────────────────\n"
        "cat           0        —          —                        —\n"
        "dog           1   2.4402     0.0000   ░░░░░░░░░░      0.0871\n"
        "emu           1   1.4402     0.0000   ░░░░░░░░░░      0.2369\n"
        "fox           1   0.4402     1.0000   ██████████      0.6439\n"
    )


def test_worst_table_golden() -> None:
    assert render(worst_table(example().worst)) == (
        "                worst 2 samples                 \n"
        "sample   target   predicted   p[target]     loss\n"
        "────────────────────────────────────────────────\n"
        "0           dog         fox      0.0871   2.4402\n"
        "1           emu         fox      0.2369   1.4402\n"
    )


def test_worst_table_k_dim_positions_and_digits() -> None:
    res = analyze(X.reshape(1, 3, 4), [[1, -100, 3]], class_axis=2, worst=1)
    out = render(worst_table(res.worst, digits=2))
    assert out.splitlines()[1].startswith("position")
    assert out.splitlines()[3] == "(0, 0)          1           3        0.09   2.44"


def test_histogram_golden() -> None:
    h = {"edges": [0.0, 0.5, 1.0, 1.5, 2.0], "counts": [12, 3, 0, 1]}
    assert render(histogram_view(h)) == (
        "loss histogram (16 losses, 4 bins)\n"
        "loss from     to   count\n" + "─" * 66 + "\n"
        "     0.00   0.50      12  " + "█" * 40 + "\n"
        "     0.50   1.00       3  " + "█" * 10 + "\n"
        "     1.00   1.50       0\n"
        "     1.50   2.00       1  ███▍\n"
    )


def test_histogram_lines_have_no_trailing_spaces() -> None:
    for line in render(histogram_view(example().histogram)).splitlines():
        assert line == line.rstrip()


def test_hist_bar() -> None:
    # the histogram's bar of count / most (hist_bar(count, most, width) before)
    assert bar(5 / 10, 4, track=False) == "██"
    assert bar(1 / 8, 8, track=False) == "█" and bar(1 / 80, 10, track=False) == "▏"
    # hist_bar(0, 0) == "": no count at all draws no bar (what histogram_view draws then)
    assert bar(0.0, HIST_WIDTH, track=False) == ""
    h = {"edges": [0.0, 1.0, 2.0], "counts": [0, 0]}
    assert render(histogram_view(h)).splitlines()[3:] == [
        "     0.00   1.00       0",
        "     1.00   2.00       0",
    ]


def test_tables_in_order() -> None:
    views = tables(example())
    assert len(views) == 4
    assert [t.title for t in views[:3]] == ["metrics", "per class", "worst 2 samples"]


def test_plain_text() -> None:
    res = analyze(X, Y, metrics=True, worst=1)
    assert plain_text(res) == (
        "metric value\n"
        "accuracy 0.3333333333333333\n"
        "top_5_accuracy nan\n"
        "perplexity 4.221496552867101\n"
        "bits_per_sample 2.077754536053608\n"
        "mean_entropy 0.9475369639754255\n"
        "ece 0.31058092655463904\n"
        "count 3\n"
        "\n"
        "index target predicted p_target loss\n"
        "0 1 3 0.08714431874203257 2.4401896985611953"
    )


def test_csv_text_quotes_coordinates_and_names() -> None:
    res = analyze(
        X.reshape(1, 3, 4),
        [[1, -100, 3]],
        class_axis=2,
        worst=2,
        hist=False,
        per_class=True,
        class_names=["a,b", "c", "d", "e"],
    )
    text = csv_text(res)
    assert text.splitlines()[:2] == [
        "class,support,loss,accuracy,mean_p_true",
        '"a,b",0,nan,nan,nan',
    ]
    assert text.endswith(
        "index,target,predicted,p_target,loss\n"
        '"(0,0)",c,e,0.08714431874203257,2.4401896985611953\n'
        '"(0,2)",e,e,0.6439142598879724,0.44018969856119533'
    )


def test_sections_histogram() -> None:
    [(header, rows)] = sections(analyze(X, Y, hist=True))
    assert header == ["lo", "hi", "count"] and len(rows) == 20
    assert rows[0][0] == "0.0" and rows[-1][1] == "2.4401896985611953"


# --- export -------------------------------------------------------------------------------------


def test_export_svg_parses_and_carries_the_numbers(tmp_path) -> None:
    path = tmp_path / "insight.svg"
    export(tables(example())[0], str(path), width=60, title="xent compute")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext()).replace("\xa0", " ")
    for number in ("0.3333", "4.2215", "0.3106"):
        assert number in text
    assert "xent compute" in text
    assert [p.name for p in tmp_path.iterdir()] == ["insight.svg"]  # no temporary file left


def test_export_html_parses_and_carries_the_numbers(tmp_path) -> None:
    path = tmp_path / "insight.html"
    path.write_text("STALE CONTENT")
    export(tables(example())[1], str(path), width=70)
    parser = PageText()
    parser.feed(path.read_text(encoding="utf-8"))
    text = "".join(parser.parts)
    assert "per class" in text and "2.4402" in text and "fox" in text
    assert "STALE" not in text


def test_export_kind() -> None:
    assert export_kind("a/b.SVG") == "svg"
    with pytest.raises(ValueError, match="expected a .svg or .html"):
        export_kind("x.png")


def test_export_to_a_missing_folder_is_an_output_error(tmp_path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        export(tables(example())[0], str(tmp_path / "no" / "x.svg"))
    assert os.listdir(tmp_path) == []


# --- explain --grad: the effective targets a ------------------------------------------------


@pytest.mark.parametrize(
    "target,opts",
    [
        ([1, 2, 3], {}),
        ([1, -100, 3], {"weight": [1, 2, 0.5, 1], "label_smoothing": 0.1}),
        ([1, 2, 3], {"sample_weight": [1, 2, 3], "reduction": "sum"}),
        (np.full((3, 4), 0.25), {"weight": [1, 2, 3, 4], "label_smoothing": 0.2}),
        (np.eye(4)[[0, 1, 3]], {"sample_weight": [0.5, 1, 2]}),
    ],
)
def test_grad_is_p_times_sum_a_minus_a_scaled(target, opts) -> None:
    e = explain(X, target, grad=True, **opts)
    a = target_weights(View(e, 4, False, NAMES))
    s = 1 / e.result.weight_sum if e.result.reduction == "mean" else 1.0
    np.testing.assert_allclose(
        e.grad, s * (e.softmax * a.sum(axis=1, keepdims=True) - a), rtol=1e-12, atol=1e-15
    )


def test_grad_step_golden_for_weights_and_smoothing() -> None:
    e = explain(X, Y, grad=True, rows=2, weight=[1, 2, 0.5, 1], label_smoothing=0.1)
    out = render(explain_view(e), width=100)
    step7 = out[out.index("Step 7") : out.index("PyTorch:")]
    assert step7 == (
        "Step 7  gradient  ∂loss/∂z = (p·Σa − a) / 3.5      (what loss.backward() puts in .grad)\n"
        "        reduction mean: divided by 3.5, the divisor of the mean\n"
        "        a = (1 − ε)·w[y]·onehot(y) + ε/C·w: the target the loss pulls p towards\n"
        "sample         0          1          2         3       Σa\n"
        "─────────────────────────────────────────────────────────\n"
        "0         0.0250   [1.8500]     0.0125    0.0250   1.9125\n"
        "1         0.0250     0.0500   [0.4625]    0.0250   0.5625\n"
        "sample          0           1           2         3\n"
        "───────────────────────────────────────────────────\n"
        "0          0.0104   [-0.4810]      0.1259    0.3447\n"
        "1         -0.0020     -0.0003   [-0.0941]    0.0963\n"
        "        each row sums to 0: adding a constant to a row's logits changes nothing\n"
        "\n"
    )
