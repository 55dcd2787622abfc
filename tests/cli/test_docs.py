"""Every command has help, and the README documents every command and option."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from xent_cli.cli.app import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def test_the_four_commands_exist() -> None:
    assert COMMANDS == ["compute", "explain", "grad", "softmax"]


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name} [OPTIONS] LOGITS" in result.output
    assert cli.commands[name].help, f"{name} has no docstring"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_in_readme(name: str) -> None:
    assert f"xent {name}" in README


@pytest.mark.parametrize(
    "name,option",
    [
        (name, opt)
        for name in COMMANDS
        for param in cli.commands[name].params
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ],
)
def test_option_in_readme(name: str, option: str) -> None:
    assert option in README, f"{name} {option} is not documented in README.md"


def test_every_option_has_help() -> None:
    for name, cmd in cli.commands.items():
        for param in cmd.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.opts} has no help text"
