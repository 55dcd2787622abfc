"""``compute --metrics/--topk/--per-class/--worst/--hist/--export``, ``explain --grad/--export``
and the usual-mistake warnings, through Click's CliRunner (stdout and stderr apart)."""

from __future__ import annotations

import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.helpers import PageText, analyze, evaluate_blocked
from xent_cli import evaluate, softmax
from xent_cli.cli.app import cli

ROOT = Path(__file__).resolve().parents[2]
C10 = ROOT / "samples/classifier10"
LOGITS, LABELS = str(C10 / "logits.csv"), str(C10 / "labels.csv")
WX = str(ROOT / "samples/worked_example/logits.csv")
WY = str(ROOT / "samples/worked_example/labels.csv")
ALL = ("--metrics", "--per-class", "--worst", "3", "--hist")
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def c10():
    z = np.loadtxt(LOGITS, delimiter=",", skiprows=1)
    y = np.loadtxt(LABELS, skiprows=1).astype(np.int64)
    return z, y


# --- every format ---------------------------------------------------------------------------


def test_json_has_every_piece() -> None:
    r = run("compute", LOGITS, LABELS, *ALL, "--json")
    assert r.exit_code == 0 and r.stderr == ""
    out = json.loads(r.stdout)
    assert list(out) == [
        "loss",
        "reduction",
        "count",
        "weight_sum",
        "metrics",
        "per_class",
        "worst",
        "histogram",
    ]
    z, y = c10()
    want = analyze(z, y, metrics=True, per_class=True, worst=3, hist=True, class_names=NAMES)
    assert out["metrics"] == want.metrics.to_json()
    assert out["metrics"]["top_k_accuracy"]["k"] == 5 and out["metrics"]["count"] == 400
    assert out["per_class"] == want.per_class
    assert [row["class"] for row in out["per_class"]] == NAMES
    assert out["worst"] == want.worst
    assert out["worst"][0] == {
        "index": 281,
        "target": "ship",
        "predicted": "bird",
        "p_target": pytest.approx(9.01842e-06, rel=1e-5),
        "loss": pytest.approx(11.6162, rel=1e-5),
    }
    assert sum(out["histogram"]["counts"]) == 400 and len(out["histogram"]["edges"]) == 21


def test_json_only_what_was_asked() -> None:
    out = json.loads(run("compute", WX, WY, "--metrics", "--json").stdout)
    assert set(out) == {"loss", "reduction", "count", "weight_sum", "metrics"}
    assert out["metrics"]["top_k_accuracy"] is None  # C = 4 <= 5
    out = json.loads(run("compute", WX, WY, "--metrics", "--topk", "2", "--json").stdout)
    assert out["metrics"]["top_k_accuracy"] == {"k": 2, "value": pytest.approx(2 / 3)}


def test_plain_is_the_loss_then_blocks() -> None:
    r = run("compute", LOGITS, LABELS, "--metrics", "--worst", "2")
    assert r.exit_code == 0
    blocks = r.stdout.rstrip("\n").split("\n\n")
    assert blocks[0] == repr(evaluate(*c10()).loss)
    assert blocks[1].splitlines()[:2] == ["metric value", "accuracy 0.855"]
    assert blocks[2].splitlines()[0] == "index target predicted p_target loss"
    assert blocks[2].splitlines()[1].startswith("281 ship bird ")


def test_csv_blocks() -> None:
    r = run("compute", LOGITS, LABELS, "--per-class", "--hist", "--format", "csv")
    blocks = r.stdout.rstrip("\n").split("\n\n")
    assert blocks[0].splitlines()[0] == "loss"
    assert blocks[1].splitlines()[0] == "class,support,loss,accuracy,mean_p_true"
    assert blocks[1].splitlines()[1].startswith("airplane,50,")
    assert blocks[2].splitlines()[0] == "lo,hi,count" and len(blocks[2].splitlines()) == 21


def test_table_shows_every_piece() -> None:
    r = run("compute", LOGITS, LABELS, *ALL, "--format", "table")
    assert r.exit_code == 0
    for title in ("metrics", "per class", "worst 3 samples", "loss histogram (400 losses"):
        assert title in r.stdout
    assert "top-5 accuracy        0.9800" in r.stdout


def test_without_insight_options_output_is_unchanged() -> None:
    assert run("compute", WX, WY).stdout == "1.4401896985611955\n"
    assert json.loads(run("compute", WX, WY, "--json").stdout) == {
        "loss": 1.4401896985611955,
        "reduction": "mean",
        "count": 3,
        "weight_sum": 3.0,
    }


def test_output_file_takes_the_losses_and_stdout_the_insight(tmp_path) -> None:
    out = tmp_path / "losses.npy"
    r = run("compute", WX, WY, "--reduction", "none", "-o", str(out), "--metrics", "--json")
    assert r.exit_code == 0
    assert np.load(out).shape == (3,)
    got = json.loads(r.stdout)
    assert "loss" not in got and got["metrics"]["count"] == 3


def test_k_dim_worst_positions(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(0, 1, (2, 3, 4, 5)))
    y = rng.integers(0, 3, (2, 4, 5))
    y[0, 0, 0] = -100
    np.save(tmp_path / "y.npy", y)
    r = run("compute", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), *ALL, "--json")
    out = json.loads(r.stdout)
    assert out["metrics"]["count"] == 39
    assert all(len(w["index"]) == 3 for w in out["worst"])
    assert [0, 0, 0] not in [w["index"] for w in out["worst"]]
    r = run(
        "compute",
        str(tmp_path / "x.npy"),
        str(tmp_path / "y.npy"),
        "--worst",
        "1",
        "--format",
        "table",
    )
    assert "position" in r.stdout


def test_probability_targets_and_weights(tmp_path) -> None:
    z, y = c10()
    q = softmax(z * 3, axis=1)
    np.savetxt(tmp_path / "q.csv", q, delimiter=",")
    r = run(
        "compute",
        LOGITS,
        str(tmp_path / "q.csv"),
        "--metrics",
        "--per-class",
        "--json",
        "--weight",
        ",".join(["1"] * 9 + ["2"]),
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    want = analyze(z, q, metrics=True)
    assert out["metrics"]["accuracy"] == pytest.approx(want.metrics.accuracy)


def test_all_ignored_metrics_are_null_with_a_warning() -> None:
    r = run("compute", WX, "--labels", "-100,-100,-100", "--metrics", "--json")
    out = json.loads(r.stdout)
    assert out["metrics"]["accuracy"] is None and out["metrics"]["count"] == 0
    assert "null" in r.stderr


# --- export ---------------------------------------------------------------------------------


def test_compute_export_svg(tmp_path) -> None:
    path = tmp_path / "m.svg"
    r = run("compute", LOGITS, LABELS, "--metrics", "--export", str(path))
    assert r.exit_code == 0
    assert r.stdout.startswith("0.5104586800163606\n")  # stdout is unchanged
    text = "".join(ET.parse(path).getroot().itertext()).replace("\xa0", " ")
    assert "0.5105" in text and "0.8550" in text and "metrics" in text


def test_explain_export_html(tmp_path) -> None:
    path = tmp_path / "e.html"
    r = run("explain", WX, WY, "--grad", "--export", str(path), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["loss"] == 1.4401896985611955
    p = PageText()
    p.feed(path.read_text(encoding="utf-8"))
    text = "".join(p.parts)
    assert "Step 7" in text and "[-0.3043]" in text and "1.4402" in text


@pytest.mark.parametrize("name", ["x.png", "noext"])
def test_export_needs_svg_or_html(tmp_path, name) -> None:
    r = run("compute", WX, WY, "--export", str(tmp_path / name))
    assert r.exit_code == 2 and "expected a .svg or .html" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_an_input(tmp_path) -> None:
    target = tmp_path / "labels.html"
    target.write_text("1,2,3")
    r = run("compute", WX, str(target), "--export", str(target))
    assert r.exit_code == 2 and target.read_text() == "1,2,3"


# --- explain --grad -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "opts",
    [
        (),
        ("--weight", "1,2,0.5,1", "--label-smoothing", "0.1"),
        ("--reduction", "sum"),
        ("--labels", "1,-100,3"),
    ],
)
def test_explain_grad_matches_torch(opts) -> None:
    torch = pytest.importorskip("torch")
    args = [WX] + ([] if "--labels" in opts else [WY])
    r = run("explain", *args, "--grad", "--json", *opts)
    assert r.exit_code == 0, r.output
    got = np.array(json.loads(r.stdout)["steps"]["grad"])
    x = torch.arange(1.0, 13.0, dtype=torch.float64).reshape(3, 4).requires_grad_()
    kw = {}
    if "--weight" in opts:
        kw = {"weight": torch.tensor([1, 2, 0.5, 1], dtype=torch.float64), "label_smoothing": 0.1}
    if "--reduction" in opts:
        kw["reduction"] = "sum"
    y = torch.tensor([1, -100, 3] if "--labels" in opts else [1, 2, 3])
    torch.nn.functional.cross_entropy(x, y, **kw).backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_explain_grad_text() -> None:
    r = run("explain", WX, WY, "--grad")
    assert "Step 7  gradient  ∂loss/∂z = (p − onehot(y)) / 3" in r.stdout
    assert (
        "sample 0: (0.0321, 0.0871 − 1, 0.2369, 0.6439) / 3 = (0.0107, -0.3043, 0.0790, "
        "0.2146)" in r.stdout
    )
    assert r.stdout.index("Step 7") < r.stdout.index("PyTorch:")
    r = run("explain", WX, WY, "--grad", "--weight", "1,2,0.5,1", "--label-smoothing", "0.1")
    assert "(p·Σa − a) / 3.5" in r.stdout
    assert "a = (1 − ε)·w[y]·onehot(y) + ε/C·w" in r.stdout
    assert "[1.8500]" in r.stdout  # a[y] of sample 0: 0.9·2 + 0.1/4·2
    assert "Step 7" not in run("explain", WX, WY).stdout


def test_explain_grad_probability_input_and_ignored() -> None:
    r = run(
        "explain",
        "0.2,0.3,0.5;0.1,0.1,0.8",
        "--labels",
        "2,-100",
        "--input-kind",
        "probs",
        "--grad",
    )
    assert r.exit_code == 0, r.output
    assert "∂loss/∂p = −a / p / 1" in r.stdout and "ignored samples: gradient 0" in r.stdout


# --- the usual mistakes -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["compute", "explain", "grad"])
def test_no_warning_on_the_samples(command) -> None:
    for args in ([WX, WY], [LOGITS, LABELS]):
        r = run(command, *args, *(ALL if command == "compute" else ()))
        assert r.exit_code == 0 and r.stderr == "", r.stderr


def _probs_file(tmp_path) -> str:
    z, _ = c10()
    path = tmp_path / "probs.csv"
    np.savetxt(path, softmax(z, axis=1), delimiter=",")
    return str(path)


def test_double_softmax_warns_with_the_fix(tmp_path) -> None:
    r = run("compute", _probs_file(tmp_path), LABELS)
    assert r.exit_code == 0
    assert r.stderr.startswith("Warning: LOGITS look like probabilities")
    assert "pass --input-kind probs: the loss would be 0.510459" in r.stderr
    fixed = run("compute", _probs_file(tmp_path), LABELS, "--input-kind", "probs")
    assert fixed.stderr == "" and float(fixed.stdout) == pytest.approx(0.510459, rel=1e-6)


def test_strict_makes_a_mistake_an_error_and_quiet_silences_it(tmp_path) -> None:
    probs = _probs_file(tmp_path)
    r = run("compute", probs, LABELS, "--strict")
    assert r.exit_code == 1 and "LOGITS look like probabilities" in r.stderr
    assert "(--strict)" in r.stderr and r.stdout == ""
    r = run("compute", probs, LABELS, "--quiet")
    assert r.exit_code == 0 and r.stderr == ""


def test_one_based_labels_warn(tmp_path) -> None:
    z, y = c10()
    keep = y < 9
    np.savetxt(tmp_path / "z.csv", z[keep], delimiter=",")
    r = run("compute", str(tmp_path / "z.csv"), "--labels", ",".join(map(str, y[keep] + 1)))
    assert r.exit_code == 0
    assert "Warning: labels look 1-based" in r.stderr and "subtract 1" in r.stderr


def test_wrong_class_axis_warns(tmp_path) -> None:
    z, y = c10()
    np.savetxt(tmp_path / "zt.csv", z[:10].T, delimiter=",")
    r = run("compute", str(tmp_path / "zt.csv"), "--labels", ",".join(map(str, y[:10])))
    assert "pass --class-axis 0" in r.stderr
    fixed = run(
        "compute",
        str(tmp_path / "zt.csv"),
        "--labels",
        ",".join(map(str, y[:10])),
        "--class-axis",
        "0",
    )
    assert fixed.stderr == ""


def test_255_marker_warns(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(0, 1, (40, 256)))
    y = rng.integers(0, 21, 40)
    y[::4] = 255
    np.save(tmp_path / "y.npy", y)
    r = run("compute", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert "label 255 looks like a missing-label marker" in r.stderr
    assert "--ignore-index 255" in r.stderr
    r = run("compute", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--ignore-index", "255")
    assert r.stderr == ""


# --- the README shows real output -----------------------------------------------------------


def _readme_examples() -> list[tuple[str, list[str]]]:
    """(command, expected lines) of the README's classifier10 and ``--grad`` examples."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("\n")
    out = []
    for i, line in enumerate(lines):
        cmd = line[2:]
        if not line.startswith("$ xent ") or "|" in cmd or "--export" in cmd:
            continue
        if "samples/classifier10" not in cmd and "--grad" not in cmd:
            continue
        j = i + 1
        while not lines[j].startswith("$ ") and lines[j] != "```":
            j += 1
        out.append((cmd, lines[i + 1 : j]))
    return out


def test_the_readme_has_the_insight_examples() -> None:
    commands = " ".join(cmd for cmd, _ in _readme_examples())
    for option in ("--metrics", "--per-class", "--worst", "--hist", "--json", "--grad"):
        assert option in commands


@pytest.mark.parametrize("cmd,expected", _readme_examples(), ids=lambda v: str(v)[:60])
def test_readme_example_is_real_output(cmd, expected, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(cli, shlex.split(cmd)[1:], env={"COLUMNS": "100"})
    assert r.exit_code == 0 and r.stderr == ""
    got = [line.rstrip() for line in r.stdout.rstrip("\n").split("\n")]
    if expected and expected[0] == "...":
        assert got[-(len(expected) - 1) :] == expected[1:]
    else:
        assert got == expected


def test_big_memory_mapped_input_agrees_with_the_in_memory_computation(tmp_path) -> None:
    # 5.6 MB of float64: compute takes the blocked path and reads the logits memory-mapped
    rng = np.random.default_rng(12)
    x = rng.normal(0, 2, (70_000, 10))
    y = rng.integers(0, 10, 70_000)
    y[::11] = -100
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    r = run("compute", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), *ALL, "--json")
    assert r.exit_code == 0 and r.stderr == ""
    out = json.loads(r.stdout)
    halves = [
        evaluate(x[s], y[s], reduction="none").per_sample
        for s in (slice(0, 35_000), slice(35_000, None))
    ]
    want = analyze(
        x, y, per_sample=np.concatenate(halves), metrics=True, per_class=True, worst=3, hist=True
    )
    assert out["metrics"]["count"] == want.metrics.count == 63_636
    for key in ("accuracy", "perplexity", "mean_entropy", "ece", "bits_per_sample"):
        assert out["metrics"][key] == pytest.approx(getattr(want.metrics, key), rel=1e-12)
    assert [w["index"] for w in out["worst"]] == [w["index"] for w in want.worst]
    assert out["histogram"]["counts"] == want.histogram["counts"]
    for got, exp in zip(out["per_class"], want.per_class, strict=True):
        assert got["support"] == exp["support"]
        assert got["loss"] == pytest.approx(exp["loss"], rel=1e-12)


def test_big_input_insight_comes_from_the_loss_pass_itself(tmp_path, monkeypatch) -> None:
    # One pass: every block of the memory-mapped logits is loaded once (by the loss pass,
    # which measures the insight while the block is at hand); analyze's own pass over the
    # logits never runs, and the mistake checks read no more than the first block.
    # The JSON is the same, bit for bit, on 1 and on 3 threads.
    rng = np.random.default_rng(13)
    x = rng.normal(0, 2, (100_000, 12)).astype(np.float32)  # 4.8 MB: the blocked path
    y = rng.integers(0, 12, len(x))
    y[::13] = -100
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    from xent_cli.analysis import insight, mistakes
    from xent_cli.engine import passes
    from xent_cli.engine.plan import iter_log_probs, iter_rows

    per = evaluate_blocked(x, y, reduction="none").per_sample
    want = analyze(x, y, per_sample=per, metrics=True, per_class=True, worst=3, hist=True)

    def second_pass(*args, **kwargs):
        raise AssertionError("a second pass over the logits")

    monkeypatch.setattr(insight, "analyze", second_pass)
    monkeypatch.setattr(insight, "row_plan", second_pass)
    monkeypatch.setattr(insight, "block_rows", second_pass)
    spans: list[tuple[int, int]] = []
    load = passes.chunk

    def counted(plan, w, block, ct):
        spans.append(plan.span(block))
        return load(plan, w, block, ct)

    monkeypatch.setattr(passes, "chunk", counted)
    read_by_checks = []

    def rows(*args, **kwargs):
        for item in iter_rows(*args, **kwargs):
            read_by_checks.append(item[0])
            yield item

    def log_probs(*args, **kwargs):
        for item in iter_log_probs(*args, **kwargs):
            read_by_checks.append(item[0])
            yield item

    monkeypatch.setattr(mistakes, "iter_rows", rows)
    monkeypatch.setattr(mistakes, "iter_log_probs", log_probs)
    outs = []
    for threads in ("1", "3"):
        spans.clear()
        read_by_checks.clear()
        r = run(
            "compute",
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
            *ALL,
            "--json",
            "--threads",
            threads,
        )
        assert r.exit_code == 0 and r.stderr == "", r.output
        spans.sort()
        assert spans[0][0] == 0 and spans[-1][1] == len(x) and len(spans) > 1
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # each once
        assert read_by_checks == [0]  # the double-softmax check stops at the first block
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    out = json.loads(outs[0])
    assert out["metrics"]["count"] == want.metrics.count
    assert [w["index"] for w in out["worst"]] == [w["index"] for w in want.worst]
    assert out["histogram"] == want.histogram
    for key in ("accuracy", "perplexity", "mean_entropy", "ece", "bits_per_sample"):
        assert out["metrics"][key] == pytest.approx(getattr(want.metrics, key), rel=1e-12)
    for got, exp in zip(out["per_class"], want.per_class, strict=True):
        assert got["support"] == exp["support"]
        assert got["loss"] == pytest.approx(exp["loss"], rel=1e-12)
