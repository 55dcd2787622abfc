"""``python -m xent_cli``: the same as the ``xent`` command."""

from .cli import main

if __name__ == "__main__":
    main()
