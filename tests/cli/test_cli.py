"""Every command, format and exit code, through Click's CliRunner (stdout and stderr apart).

Golden numbers are torch 2.13.0 float64 results, printed with repr():
  F.cross_entropy(arange(1,13).reshape(3,4).double(), [1,2,3])            -> 1.4401896985611955
  ... reduction="sum"                                                      -> 4.320569095683586
  ... reduction="none" -> [2.4401896985611953, 1.4401896985611953, 0.44018969856119533]
  torch.softmax([1,1,2,2].double(), 0) -> [0.13447071068499758, ..., 0.36552928931500245, ...]
  F.cross_entropy([[0.0815,0.1693,0.2274,-0.0068,-0.3081,-0.2758]], [1])   -> 1.624415912891375
  F.cross_entropy([[1,2,3],[4,5,6]], [0,2], weight=[1,2,3], label_smoothing=0.1)
                                                                           -> 0.9242726311110472
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xent_cli.cli.app import cli

ROOT = Path(__file__).resolve().parents[2]
LOGITS = str(ROOT / "samples/worked_example/logits.csv")
LABELS = str(ROOT / "samples/worked_example/labels.csv")
EXAMPLE_JSON = str(ROOT / "samples/worked_example/example.json")
POST_LOGITS = str(ROOT / "samples/post_classes/logits.csv")
POST_LABELS = str(ROOT / "samples/post_classes/labels.csv")

MEAN = "1.4401896985611955"
SUM = "4.320569095683586"
NONE = "2.4401896985611953 1.4401896985611953 0.44018969856119533"


def run(*args: str, input: str | bytes | None = None, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), input=input, env=env)


# --- compute ---------------------------------------------------------------------------


def test_compute_mean_plain_is_torch_repr() -> None:
    r = run("compute", LOGITS, LABELS)
    assert r.exit_code == 0, r.output
    assert r.stdout == MEAN + "\n"
    assert r.stderr == ""


@pytest.mark.parametrize("reduction,expected", [("sum", SUM), ("none", NONE), ("mean", MEAN)])
def test_compute_reductions(reduction: str, expected: str) -> None:
    r = run("compute", LOGITS, LABELS, "--reduction", reduction)
    assert r.exit_code == 0
    assert r.stdout == expected + "\n"


def test_compute_json() -> None:
    r = run("compute", LOGITS, LABELS, "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "loss": float(MEAN),
        "reduction": "mean",
        "count": 3,
        "weight_sum": 3.0,
    }


def test_compute_json_none_and_format_json_agree() -> None:
    a = run("compute", LOGITS, LABELS, "--reduction", "none", "--json")
    b = run("compute", LOGITS, LABELS, "--reduction", "none", "--format", "json")
    assert a.stdout == b.stdout
    assert json.loads(a.stdout)["loss"] == [float(v) for v in NONE.split()]


def test_compute_csv() -> None:
    r = run("compute", LOGITS, LABELS, "--format", "csv")
    assert r.stdout == f"loss\n{MEAN}\n"
    r = run("compute", LOGITS, LABELS, "--format", "csv", "--reduction", "none")
    assert r.stdout.splitlines() == ["loss", *NONE.split()]


def test_compute_table_shows_four_decimals() -> None:
    r = run("compute", LOGITS, LABELS, "--format", "table")
    assert r.exit_code == 0
    assert "1.4402" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no colour codes
    r = run("compute", LOGITS, LABELS, "--format", "table", "--reduction", "sum")
    assert "4.3206" in r.stdout


def test_compute_from_one_json_file_carrying_labels() -> None:
    r = run("compute", EXAMPLE_JSON)
    assert r.stdout == MEAN + "\n"


def test_compute_literals_and_labels_option() -> None:
    assert run("compute", "1,2,3,4;5,6,7,8;9,10,11,12", "1,2,3").stdout == MEAN + "\n"
    assert run("compute", LOGITS, "--labels", "1,2,3").stdout == MEAN + "\n"


def test_compute_targets_from_stdin() -> None:
    r = run("compute", LOGITS, "-", input="1\n2\n3\n")
    assert r.exit_code == 0, r.output
    assert r.stdout == MEAN + "\n"


def test_compute_logits_from_stdin() -> None:
    text = Path(LOGITS).read_text()
    r = run("compute", "-", LABELS, input=text)
    assert r.stdout == MEAN + "\n"


def test_npy_input(tmp_path: Path) -> None:
    x = tmp_path / "x.npy"
    y = tmp_path / "y.npy"
    np.save(x, np.arange(1.0, 13.0).reshape(3, 4))
    np.save(y, np.array([1, 2, 3]))
    assert run("compute", str(x), str(y)).stdout == MEAN + "\n"


def test_double_dash_for_negative_literal() -> None:
    r = run("compute", "--reduction", "sum", "--", "1,2,3,4;5,6,7,8", "1,-100")
    assert r.exit_code == 0, r.output
    assert float(r.stdout) == pytest.approx(2.4401896985611953, rel=1e-15)


def test_post_first_example_with_class_names() -> None:
    r = run("compute", POST_LOGITS, POST_LABELS, "--classes", "2,4,8,1,3,5")
    assert r.exit_code == 0, r.output
    # torch prints 1.624415912891375; its vectorised exp/sum may differ in the last bit.
    assert float(r.stdout) == pytest.approx(1.624415912891375, rel=4e-16)


def test_weight_and_smoothing_match_torch() -> None:
    r = run("compute", "1,2,3;4,5,6", "0,2", "--weight", "1,2,3", "--label-smoothing", "0.1")
    assert float(r.stdout) == pytest.approx(0.9242726311110472, rel=1e-12)


def test_output_file_for_reduction_none(tmp_path: Path) -> None:
    out = tmp_path / "loss.npy"
    r = run("compute", LOGITS, LABELS, "--reduction", "none", "-o", str(out))
    assert r.exit_code == 0
    assert r.stdout == ""
    np.testing.assert_allclose(np.load(out), [float(v) for v in NONE.split()], rtol=1e-15)


# --- softmax / grad / explain ----------------------------------------------------------


def test_softmax_plain_full_precision() -> None:
    r = run("softmax", "1,1,2,2")
    assert r.stdout == (
        "0.13447071068499758 0.13447071068499758 0.36552928931500245 0.36552928931500245\n"
    )


def test_softmax_table_three_digits_round_and_truncate() -> None:
    r = run("softmax", "1,1,2,2", "--format", "table", "--digits", "3")
    assert "0.134" in r.stdout and "0.366" in r.stdout
    r = run("softmax", "1,1,2,2", "--format", "table", "--digits", "3", "--truncate")
    assert r.stdout.count("0.134") == 2 and r.stdout.count("0.365") == 2


def test_softmax_worked_example_row0_table() -> None:
    r = run("softmax", LOGITS, "--format", "table")
    for value in ("0.0321", "0.0871", "0.2369", "0.6439"):
        assert value in r.stdout


def test_log_softmax_json() -> None:
    r = run("softmax", "0,1,2,3", "--log", "--json")
    got = json.loads(r.stdout)["log_softmax"]
    np.testing.assert_allclose(
        got,
        [[-3.4401896985611953, -2.4401896985611953, -1.4401896985611953, -0.44018969856119533]],
        rtol=1e-15,
    )


def test_grad_sum_is_softmax_minus_onehot() -> None:
    r = run("grad", LOGITS, LABELS, "--reduction", "sum", "--json")
    g = np.array(json.loads(r.stdout)["grad"])
    np.testing.assert_allclose(
        g[0], [0.03205860328, -0.9128556813, 0.2368828181, 0.6439142599], rtol=1e-9
    )
    assert g.shape == (3, 4)


def test_grad_output_npy(tmp_path: Path) -> None:
    out = tmp_path / "g.npy"
    assert run("grad", LOGITS, LABELS, "-o", str(out)).exit_code == 0
    assert np.load(out).shape == (3, 4)


def test_explain_walks_through_the_post() -> None:
    r = run("explain", LOGITS, LABELS)
    assert r.exit_code == 0, r.output
    for text in (
        "Step 1",
        "Step 2",
        "Step 3",
        "Step 4",
        "Step 5",
        "Step 6",
        "0.0321",
        "0.0871",
        "0.2369",
        "0.6439",
        "2.4402",
        "0.4402",
        "(2.4402 + 1.4402 + 0.4402) / 3 = 1.4402",
        "nn.CrossEntropyLoss()",
    ):
        assert text in r.stdout, text


def test_explain_sum_and_rows_limit() -> None:
    r = run("explain", LOGITS, LABELS, "--reduction", "sum", "--rows", "2")
    assert r.exit_code == 0
    assert "4.3206" in r.stdout
    assert "2 of 3" in r.stdout


def test_explain_json() -> None:
    r = run("explain", LOGITS, LABELS, "--json")
    data = json.loads(r.stdout)
    assert data["loss"] == float(MEAN)
    assert np.round(data["steps"]["softmax"][0], 4).tolist() == [0.0321, 0.0871, 0.2369, 0.6439]
    assert data["pytorch"] == "nn.CrossEntropyLoss()(logits, labels)"


# --- warnings, strictness, non-finite values ---------------------------------------------


def test_nan_logit_warns_and_json_null() -> None:
    r = run("compute", "1,nan,3;1,2,3", "0,1", "--reduction", "none", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["loss"][0] is None
    assert "non-finite" in r.stderr
    assert "null" in r.stderr


def test_strict_turns_warnings_into_errors() -> None:
    r = run("compute", "1,nan,3", "0", "--strict")
    assert r.exit_code == 1
    assert "non-finite" in r.stderr and "--strict" in r.stderr
    assert r.stdout == ""


def test_quiet_silences_warnings() -> None:
    r = run("compute", "1,nan,3", "0", "--quiet")
    assert r.exit_code == 0
    assert r.stderr == ""
    assert r.stdout == "nan\n"


def test_all_ignored_mean_is_nan_with_a_warning() -> None:
    r = run("compute", "--", "1,2;3,4", "-100,-100")
    assert r.stdout == "nan\n"
    assert "no targets" in r.stderr


# --- exit codes and messages -------------------------------------------------------------


@pytest.mark.parametrize(
    "args,fragment",
    [
        (("compute", "nope.csv", LABELS), "nope.csv"),
        (("compute", LOGITS, "1,2,4"), "Target 4 is out of bounds"),
        (("compute", LOGITS, "1,2"), "shape"),
        (("compute", LOGITS, LABELS, "--weight", "1,2"), "--weight"),
        (("compute", LOGITS, "1,2.5,3"), "2.5"),
        (("compute", LOGITS, "1,2,nan"), "nan"),
        (("compute", "1,2;3,x", "0,1"), "'x'"),
    ],
)
def test_bad_data_exits_1_with_one_line(args: tuple, fragment: str) -> None:
    r = run(*args)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ")
    assert fragment in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    "args,fragment",
    [
        (("compute", LOGITS, LABELS, "--reduction", "avg"), "--reduction"),
        (("compute", LOGITS, LABELS, "--label-smoothing", "-0.1"), "--label-smoothing"),
        (("compute", LOGITS, LABELS, "--label-smoothing", "1.5"), "--label-smoothing"),
        (("compute", LOGITS), "missing TARGETS"),
        (("compute", "1,2;3,4", "0.5,0.5;1,0", "--ignore-index", "1"), "--ignore-index"),
        (("compute", LOGITS, LABELS, "--bogus"), "--bogus"),
        (("compute", LOGITS, LABELS, "-o", "x.npy"), "-o"),
        (("explain", LOGITS, LABELS, "--format", "csv"), "explain"),
    ],
)
def test_bad_usage_exits_2(args: tuple, fragment: str) -> None:
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert fragment in r.stderr
    assert "Usage:" in r.stderr


def test_output_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    x = tmp_path / "x.npy"
    np.save(x, np.arange(12.0).reshape(3, 4))
    before = x.read_bytes()
    r = run("softmax", str(x), "-o", str(x))
    assert r.exit_code == 2
    assert "refusing to overwrite" in r.stderr
    assert x.read_bytes() == before


def test_internal_error_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    import xent_cli.core

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(xent_cli.core, "evaluate", boom)
    r = run("compute", LOGITS, LABELS)
    assert r.exit_code == 70
    assert "internal error" in r.stderr and "kaboom" in r.stderr
    assert "Traceback" not in r.stderr


def test_version_from_metadata() -> None:
    from importlib.metadata import version

    r = run("--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"xent, version {version('xent-cli')}"
