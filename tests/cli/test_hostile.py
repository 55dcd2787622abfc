"""Hostile input: every bad file gets a clear answer, nothing runs, nothing is lost (issue 4).

The corpus (``tests/hostile``) is run through the CLI in-process: each case must exit with its
code, print its message, and never a traceback. The tests after it prove the promises that a
message cannot show: nothing is unpickled, nothing is allocated for an absurd header, nothing
is decompressed for a zip bomb, and input that would not fit in memory is refused up front.
Process-level behaviour (signals, pipes, ``-o``) is in ``test_process.py``.
"""

from __future__ import annotations

import io
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.hostile import CASES, Case, build, npy_bytes, npz_bytes, pickle_npy
from xent_cli import system
from xent_cli.cli.app import cli
from xent_cli.errors import InputError
from xent_cli.io import memory
from xent_cli.io.sources import load

README = Path(__file__).resolve().parents[2] / "README.md"


def run(args: list[str], stdin: bytes | None = None):
    return CliRunner().invoke(cli, args, input=stdin)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    assert f"holds {len(CASES)} hostile inputs" in README.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.args[-1].startswith(("/proc/", "/dev/")) and not Path(case.args[-1]).exists():
        pytest.skip(f"needs {case.args[-1]}")
    monkeypatch.chdir(tmp_path)
    if case.name:
        (tmp_path / case.name).write_bytes(build(case))
    r = run([arg.replace("{f}", case.name) for arg in case.args], case.stdin)
    assert r.exit_code == case.code, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert case.fragment in r.stderr, r.stderr
    assert r.stdout == ""
    if case.code == 1:  # bad data: one line, Click's form
        assert r.stderr.startswith("Error: ")
        assert len(r.stderr.strip().splitlines()) == 1
    else:  # bad usage: Click's usage line, hint and error line
        assert r.stderr.startswith("Usage: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ([case.name] if case.name else [])


def test_readme_catalogue_shows_real_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``Error:`` line in the README's error catalogue is what the corpus prints."""
    text = README.read_text(encoding="utf-8")
    catalogue = text[text.index("## Error catalogue") :]
    catalogue = catalogue[: catalogue.find("\n## ", 5)]
    monkeypatch.chdir(tmp_path)
    printed = set()
    for case in CASES:
        if case.name:
            (tmp_path / case.name).write_bytes(build(case))
        r = run([arg.replace("{f}", case.name) for arg in case.args], case.stdin)
        printed.update(line.strip() for line in r.stderr.splitlines())
    shown = [line.strip("`| ") for line in catalogue.splitlines() if "`Error: " in line]
    shown = [line[line.index("Error: ") :].split("`")[0].replace("\\|", "|") for line in shown]
    assert len(shown) >= 20
    missing = [line for line in shown if line not in printed]
    assert not missing


# --- nothing executes ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["file", "stdin", "npz", "npz-stdin"])
def test_a_pickle_that_would_create_a_file_creates_none(where: str, tmp_path: Path) -> None:
    victim = tmp_path / "pwned"
    proof = tmp_path / "proof"
    np.load(io.BytesIO(pickle_npy(str(proof))), allow_pickle=True)  # the payload is live ...
    assert proof.exists()
    payload = pickle_npy(str(victim))
    if where.startswith("npz"):
        payload = npz_bytes({"logits.npy": payload})
    path = tmp_path / ("x.npz" if where.startswith("npz") else "x.npy")
    path.write_bytes(payload)
    args = ["softmax", "-" if where.endswith("stdin") or where == "stdin" else str(path)]
    r = run(args, payload if args[1] == "-" else None)
    assert r.exit_code == 1
    assert "object arrays are refused" in r.stderr
    assert not victim.exists()  # ... and xent never ran it


def test_absurd_npy_shape_allocates_nothing(tmp_path: Path) -> None:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }"
    data = npy_bytes(header, bytes(4096))
    (tmp_path / "absurd.npy").write_bytes(data)
    tracemalloc.start()
    try:
        for spec, stdin in ((str(tmp_path / "absurd.npy"), None), ("-", io.BytesIO(data))):
            with pytest.raises(InputError, match="truncated file"):
                load(spec, stdin=stdin)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the promised 8e15 bytes were never asked for


def test_zip_bomb_is_refused_before_decompression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    bomb = next(case for case in CASES if case.id == "zip bomb header")
    (tmp_path / "bomb.npz").write_bytes(build(bomb))
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(InputError, match="refusing a likely zip bomb"):
        load(str(tmp_path / "bomb.npz"))
    assert opened == []


def test_npz_member_bigger_than_memory_is_refused_before_decompression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, logits=np.zeros((1000, 100)))  # 800 kB, deflated to ~1 kB
    monkeypatch.setattr(system, "available_memory", lambda: 100_000)
    monkeypatch.setattr(zipfile.ZipFile, "open", None)  # any decompression would fail loudly
    with pytest.raises(InputError, match=r"unpacks to 800.1 kB, more than the 100.0 kB"):
        load("-", stdin=io.BytesIO(buffer.getvalue()))


def test_sparse_npz_at_deflates_best_ratio_is_still_read() -> None:
    """One-hot targets compress ~750:1: legitimate, so below the zip-bomb ratio."""
    buffer = io.BytesIO()
    targets = np.eye(1000)[np.arange(300) % 1000]
    np.savez_compressed(buffer, logits=np.zeros((300, 1000)), targets=targets)
    loaded = load("-", stdin=io.BytesIO(buffer.getvalue()))
    assert loaded.targets is not None and loaded.targets.shape == (300, 1000)


def test_json_nesting_never_recurses_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "getrecursionlimit", sys.getrecursionlimit)  # untouched
    for depth in (33, 999, 10_000, 1_000_000):
        with pytest.raises(InputError, match="nested more than 32 levels deep"):
            load("-", stdin=io.BytesIO(b"[" * depth + b"1" + b"]" * depth))


# --- too big for memory ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,what",
    [(b"1,2,3\n" * 2000, "parsing this text"), (b"[" + b"1," * 4000 + b"1]", "parsing this JSON")],
)
def test_text_too_big_for_memory_says_so(
    text: bytes, what: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(text)
    monkeypatch.setattr(system, "available_memory", lambda: 200_000)
    r = run(["softmax", str(path)])
    assert r.exit_code == 1
    assert f"{what} needs about" in r.stderr
    assert "but only 200.0 kB is available; save it as .npy" in r.stderr


def test_file_bigger_than_memory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"1,2\n" * 10_000)
    monkeypatch.setattr(system, "available_memory", lambda: 50_000)
    with pytest.raises(InputError, match="reading this input needs about 80.0 kB"):
        load(str(path))


def test_endless_stdin_is_cut_off(monkeypatch: pytest.MonkeyPatch, limits: Any) -> None:
    class Endless(io.RawIOBase):
        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            buffer[:] = b"1" * len(buffer)
            return len(buffer)

        def readable(self) -> bool:
            return True

    limits(read_chunk=1000)
    monkeypatch.setattr(system, "available_memory", lambda: 10_000)
    with pytest.raises(InputError, match=r"<stdin>: the input is larger than the memory available"):
        load("-", stdin=Endless())


def test_memory_error_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import xent_cli.core

    def hungry(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(xent_cli.core, "softmax", hungry)
    r = run(["softmax", "1,2,3"])
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: out of memory.")
    assert "Traceback" not in r.output


def test_available_memory_is_known_here_and_estimates_are_generous() -> None:
    if Path("/proc/meminfo").exists():
        assert (system.available_memory() or 0) > 0
    rows = b"0.123,-4.5,6e-3\n" * 1000
    assert memory.text_need(rows) > 3 * 100 * 1000  # > 100 bytes per cell measured
    assert memory.json_need(b"[" + b"1," * 999 + b"1]") > 1000 * 50


# --- non-finite numbers: computed as torch, a warning saying where, --strict -------------

NAN_ROW = "1,2,3;4,nan,6;7,8,inf"


@pytest.mark.parametrize(
    "args,warning",
    [
        (
            ["compute", NAN_ROW, "0,1,2"],
            "logits hold 2 non-finite values (first at sample 1, class 1: nan)",
        ),
        (
            ["compute", "--input-kind", "probs", "0.5,0.5,0;0.2,0.3,0.5", "2,2"],
            "the loss is not finite: 1 sample loss is nan or inf (first: sample 0 = inf)",
        ),
        (["compute", "--", "1,2,3;4,5,6", "-100,-100"], "no targets to average (all ignored"),
        (["softmax", NAN_ROW], "logits hold 2 non-finite values"),
        (["grad", NAN_ROW, "0,1,2"], "logits hold 2 non-finite values"),
    ],
)
def test_non_finite_warns_writes_null_and_fails_under_strict(args: list[str], warning: str) -> None:
    options = args[:1] + ["--json"] + args[1:]
    r = run(options)
    assert r.exit_code == 0, r.output
    assert f"Warning: {warning}" in r.stderr
    assert "non-finite numbers are written as null" in r.stderr
    assert "null" in r.stdout and "NaN" not in r.stdout and "Infinity" not in r.stdout
    strict = run(args[:1] + ["--strict"] + args[1:])
    assert strict.exit_code == 1
    assert strict.stderr.startswith("Error: ") and "(--strict)" in strict.stderr
    assert strict.stdout == ""


def test_warnings_name_samples_and_classes_not_the_files_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's error counts a file's rows and columns from 1 (``row 3`` is the file's third
    line); a warning names a sample and a class from 0, as the tables do (``sample 1`` is the
    second data row, whatever comments or header lines come before it)."""
    monkeypatch.chdir(tmp_path)
    Path("x.csv").write_text("# logits\na,b,c\n1,2,3\n4,nan,6\n")
    r = run(["compute", "--format", "table", "--reduction", "none", "x.csv", "0,1"])
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines() == [
        "Warning: logits hold 1 non-finite value (first at sample 1, class 1: nan)",
        "Warning: the loss is not finite: 1 sample loss is nan or inf (first: sample 1 = nan)",
    ]
    assert [line.split()[0] for line in r.stdout.splitlines()[2:]] == ["0", "1"]  # the samples
    Path("x.csv").write_text("# logits\na,b,c\n1,2,3\n4,x,6\n")
    r = run(["compute", "x.csv", "0,1"])
    assert r.stderr == "Error: x.csv, row 4, column 2: 'x' is not a number\n"
    x = np.zeros((2, 3, 4))
    x[1, 2, 3] = np.inf
    np.save("x.npy", x)
    np.save("y.npy", np.zeros((2, 4), dtype=np.int64))
    r = run(["compute", "x.npy", "y.npy"])
    assert r.stderr.splitlines() == [  # (N, C, d1): the tables' "position (n, d1)", then the class
        "Warning: logits hold 1 non-finite value (first at position (1, 3), class 2: inf)",
        "Warning: the loss is not finite: 1 sample loss is nan or inf "
        "(first: position (1, 3) = nan)",
    ]
    r = run(["compute", "--input-kind", "probs", "--class-axis", "0", "0.5,0.2;0.5,1.3", "0,1"])
    assert "(first at sample 1, class 1: 1.3)" in r.stderr  # classes down the columns
    assert "(first: sample 1 sums to 1.5)" in r.stderr


def test_non_finite_values_are_torchs(pytestconfig: pytest.Config) -> None:
    torch = pytest.importorskip("torch")
    r = run(["compute", "--reduction", "none", "--json", NAN_ROW, "0,1,2"])
    import json

    got = json.loads(r.stdout)["loss"]
    x = torch.tensor([[1, 2, 3], [4, float("nan"), 6], [7, 8, float("inf")]], dtype=torch.float64)
    want = torch.nn.functional.cross_entropy(x, torch.tensor([0, 1, 2]), reduction="none")
    assert got == [None if not np.isfinite(v) else v for v in want.tolist()]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs mkfifo")
def test_output_never_replaces_a_device_or_a_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.chdir(tmp_path)
    os.mkfifo("out.csv")
    r = run(["softmax", "1,2", "-o", "out.csv"])
    assert r.exit_code == 1
    assert r.stderr == "Error: cannot write 'out.csv': it exists and is not a regular file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
