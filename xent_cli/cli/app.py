"""The ``xent`` command group: its help, ``--version``, and the four commands."""

from __future__ import annotations

import click

from .commands import COMMANDS
from .exits import XentGroup


@click.group(cls=XentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xent-cli", prog_name="xent")
def cli() -> None:
    """Cross-entropy loss exactly as PyTorch computes it, with every step shown.

    LOGITS and TARGETS are files (CSV/TSV, JSON, .npy, .npz), '-' for standard input, or
    literals such as 1,2,3,4;5,6,7,8 (rows separated by ';')."""


for _command in COMMANDS:
    cli.add_command(_command)
