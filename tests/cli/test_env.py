"""The terminal and the environment are read in one place, once: ``xent_cli.cli.env.Env``.

``COLUMNS`` that is not a positive integer used to end ``--format table`` with
``Error: invalid literal for int()`` (exit 1); it now means the default width, as for
``--export``.
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from xent_cli.cli.app import cli
from xent_cli.cli.env import Env

TABLE = """\
quantity               value
────────────────────────────
loss                  2.4076
reduction               mean
targets used               1
divisor of the mean        1
"""


@pytest.mark.parametrize("columns", ["abc", "", "0", "-5", "12.5", " 80"])
def test_a_columns_that_is_not_a_width_is_the_default_width(columns: str) -> None:
    r = CliRunner().invoke(
        cli, ["compute", "1,2,3", "0", "--format", "table"], env={"COLUMNS": columns}
    )
    assert r.exit_code == 0, r.output
    assert r.output == TABLE


def test_columns_sets_the_width_of_a_table_on_a_pipe() -> None:
    args = ["softmax", "1,2,3,4,5,6,7;1,1,1,1,1,1,1", "--format", "table"]
    wide = CliRunner().invoke(cli, args, env={"COLUMNS": "200"}).output
    narrow = CliRunner().invoke(cli, args, env={"COLUMNS": "40"}).output
    assert max(map(len, narrow.splitlines())) <= 40 < max(map(len, wide.splitlines()))


def test_env_reads_each_fact_once_from_what_it_is_given() -> None:
    class Stream(io.StringIO):
        asked = 0

        def isatty(self) -> bool:
            Stream.asked += 1
            return True

    env = Env(stdout=Stream(), stderr=io.StringIO(), environ={"COLUMNS": "120", "XENT_DEBUG": "1"})
    assert env.stdout_tty and env.stdout_tty and Stream.asked == 1
    assert not env.stderr_tty  # StringIO is no terminal
    assert env.columns == 120 and env.debug
    assert Env(environ={}).columns == 100 and not Env(environ={}).debug


def test_a_command_that_writes_a_file_never_asks_about_stdout(tmp_path) -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise AssertionError("stdout was asked about")

    out = tmp_path / "p.npy"
    r = CliRunner().invoke(cli, ["softmax", "1,2;3,4", "-o", str(out)], obj=Env(stdout=Closed()))
    assert r.exit_code == 0, r.output
    assert out.exists()
    # the same fake on a command that prints: asked, and the test would know
    r = CliRunner().invoke(cli, ["softmax", "1,2;3,4"], obj=Env(stdout=Closed()))
    assert r.exit_code == 70 and "stdout was asked about" in r.output
