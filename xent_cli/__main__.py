"""``python -m xent_cli``: the same as the ``xent`` command (with the same start-up guard)."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="xent")
