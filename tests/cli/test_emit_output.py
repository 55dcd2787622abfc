"""``-o FILE`` through the commands: a result the file cannot hold (3-D into ``.csv``/``.txt``)
fails before any work, with the writer's own error; a ``.json`` file that got ``null`` for NaN
or infinities gives the same warning as JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from xent_cli import api, core
from xent_cli.cli import emit
from xent_cli.cli.app import cli
from xent_cli.cli.env import Env
from xent_cli.cli.options import Options, parse
from xent_cli.engine import passes
from xent_cli.errors import OutputError, StrictError
from xent_cli.io import writers
from xent_cli.limits import Limits

NULL_WARNING = "Warning: JSON has no NaN or Infinity: non-finite numbers are written as null\n"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def never(monkeypatch: pytest.MonkeyPatch, *targets: tuple[object, str]) -> list[str]:
    """Make each ``(module, name)`` record its call and fail; the list of calls made."""
    calls: list[str] = []
    for module, name in targets:

        def boom(*args: Any, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            raise AssertionError(f"{_name} ran before the -o check")

        monkeypatch.setattr(module, name, boom)
    return calls


def fits_error(path: Path, ndim: int) -> str:
    """The writer's message, as the CLI prints it (one line on stderr)."""
    extension = path.suffix
    return (
        f"Error: {path}: a {ndim}-D array does not fit a {extension} file "
        "(one row per line); use .npy or .json\n"
    )


@pytest.fixture(params=["small", "blocked"])
def route(request: pytest.FixtureRequest, limits: Any) -> str:
    """Both paths of an array command: in memory, and block by block (any size is big)."""
    if request.param == "blocked":
        limits(blocked_bytes=0)
    return str(request.param)


def options(**given: Any) -> Options:
    """A command's typed options: the defaults of ``softmax`` with ``given`` (Click's
    keywords) in their place."""
    kw: dict[str, Any] = {
        "logits": "-",
        "input_format": "auto",
        "class_axis": 1,
        "dtype": "auto",
        "threads": None,
        "strict": False,
        "quiet": False,
        "fmt": "auto",
        "as_json": False,
        "digits": 4,
        "truncate": False,
        "output": None,
    }
    kw.update(given)
    return parse(kw)


def save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)


# --- 1. a result -o cannot hold: the error comes before the pass -------------------------


@pytest.mark.parametrize("extension", [".csv", ".txt"])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_3d_into_text_fails_before_the_pass(
    extension: str, log: bool, route: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logits = save(tmp_path / "k3.npy", np.arange(24.0).reshape(2, 3, 4))
    out = tmp_path / f"k3{extension}"
    calls = never(
        monkeypatch,
        (core, "softmax"),
        (core, "log_softmax"),
        (passes, "softmax"),
        (api, "non_finite_input"),
        (api, "PassChecks"),
    )
    r = run("softmax", logits, "-o", str(out), *(["--log"] if log else []))
    assert calls == []
    assert r.exit_code == 1
    assert r.stderr == fits_error(out, 3)
    assert r.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("extension", [".csv", ".txt"])
def test_grad_3d_into_text_fails_before_the_pass(
    extension: str, route: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logits = save(tmp_path / "k3.npy", np.arange(24.0).reshape(2, 3, 4))
    targets = save(tmp_path / "t.npy", np.zeros((2, 4), dtype=np.int64))
    out = tmp_path / f"g{extension}"
    calls = never(
        monkeypatch,
        (core, "grad"),
        (passes, "grad"),
        (api, "check_inputs"),
        (api, "find_mistakes"),
        (api, "PassChecks"),
    )
    r = run("grad", logits, targets, "-o", str(out))
    assert calls == []
    assert r.exit_code == 1
    assert r.stderr == fits_error(out, 3)
    assert not out.exists()


def test_compute_per_sample_3d_into_text_fails_before_the_pass(
    route: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4-D logits (N, C, D1, D2): the per-sample losses are 3-D (N, D1, D2)."""
    logits = save(tmp_path / "k4.npy", np.arange(48.0).reshape(2, 3, 4, 2))
    targets = save(tmp_path / "t.npy", np.zeros((2, 4, 2), dtype=np.int64))
    out = tmp_path / "loss.csv"
    calls = never(
        monkeypatch,
        (core, "evaluate"),
        (passes, "evaluate"),
        (api, "check_inputs"),
        (api, "PassChecks"),
    )
    r = run("compute", logits, targets, "--reduction", "none", "-o", str(out))
    assert calls == []
    assert r.exit_code == 1
    assert r.stderr == fits_error(out, 3)
    assert not out.exists()


def test_results_that_fit_are_still_written(route: str, tmp_path: Path) -> None:
    """3-D logits: per-sample losses are 2-D (a .csv), softmax goes to .json or .npy."""
    x = np.arange(24.0).reshape(2, 3, 4) / 10
    logits = save(tmp_path / "k3.npy", x)
    targets = save(tmp_path / "t.npy", np.ones((2, 4), dtype=np.int64))
    r = run("compute", logits, targets, "--reduction", "none", "-o", str(tmp_path / "l.csv"))
    assert r.exit_code == 0, r.output
    assert np.loadtxt(tmp_path / "l.csv", delimiter=",").shape == (2, 4)
    for name in ("s.json", "s.npy"):
        r = run("softmax", logits, "-o", str(tmp_path / name))
        assert r.exit_code == 0, r.output
        assert r.stderr == ""
    assert np.allclose(json.loads((tmp_path / "s.json").read_text()), np.load(tmp_path / "s.npy"))
    r = run("softmax", "1,2;3,4", "-o", str(tmp_path / "s.csv"))  # 2-D: fine
    assert r.exit_code == 0, r.output


def test_emit_array_checks_the_shape_before_fill(tmp_path: Path) -> None:
    """The array path itself refuses before any work, whatever command calls it."""
    out = str(tmp_path / "x.txt")
    o = options(output=out, digits=4, truncate=False)

    def fill(_out: Any, _progress: Any) -> Any:
        raise AssertionError("fill ran before the -o check")

    def after() -> None:
        raise AssertionError("after ran before the -o check")

    with pytest.raises(OutputError, match=r"a 4-D array does not fit a \.txt file"):
        emit.emit_array(Env(), o, (1, 2, 3, 4), np.float64, fill, "softmax", 1, None, after)
    assert list(tmp_path.iterdir()) == []


# --- 2. -o FILE.json with NaN: the null warning ------------------------------------------


def test_softmax_nan_into_json_file_warns_about_null(route: str, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    r = run("softmax", "1,nan,3;1,2,3", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NULL_WARNING) == 1
    assert r.stdout == ""
    written = json.loads(out.read_text())
    assert written[0] == [None, None, None] and None not in written[1]


def test_compute_nan_loss_into_json_file_warns_about_null(tmp_path: Path) -> None:
    out = tmp_path / "loss.json"
    r = run("compute", "1,nan,3;1,2,3", "0,1", "--reduction", "none", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NULL_WARNING) == 1
    loss = json.loads(out.read_text())
    assert loss[0] is None and isinstance(loss[1], float)


def test_finite_results_into_json_file_give_no_warning(route: str, tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    r = run("softmax", "1,2,3;1,2,3", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    assert None not in json.loads(out.read_text())[0]


def test_null_warning_is_quiet_under_quiet(tmp_path: Path) -> None:
    r = run("softmax", "1,nan,3", "-o", str(tmp_path / "p.json"), "--quiet")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""


def test_null_under_strict_is_an_error_and_the_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    target.write_text("old\n")
    o = options(output=str(target), strict=True, quiet=False)
    with pytest.raises(StrictError, match=r"written as null \(--strict\)"):
        emit.write(o, np.array([1.0, np.inf]))
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


@pytest.mark.parametrize("chunk", [1, 3, Limits().write_values])
def test_json_writer_notes_null_while_writing(chunk: int, tmp_path: Path, limits: Any) -> None:
    """``on_null`` runs once when any null was written, whatever the slicing; never for
    finite or integer arrays, nor for the text formats."""
    limits(write_values=chunk)
    calls: list[int] = []
    bad = np.zeros((5, 4, 3))
    bad[4, 3, 2] = -np.inf  # the very last value: found in the last slice
    cases = [
        (bad, "a.json", 1),
        (np.full((2, 2), np.nan, dtype=np.float32), "b.json", 1),
        (np.float64(np.nan), "c.json", 1),
        (np.ones((5, 4, 3)), "d.json", 0),
        (np.arange(6).reshape(2, 3), "e.json", 0),
        (np.full((2, 2), np.nan), "f.csv", 0),
    ]
    for array, name, expected in cases:
        calls.clear()
        writers.write_array(str(tmp_path / name), array, on_null=lambda: calls.append(1))
        assert len(calls) == expected, name
