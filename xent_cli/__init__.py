"""xent-cli: PyTorch-exact cross-entropy, with every step shown.

The public API (:mod:`xent_cli.api`). ``import xent_cli`` itself imports nothing heavy: each
name is imported from the API when first used, and then loads NumPy only (neither Click nor
Rich). So the ``xent`` command, whose entry point lives in this package, can guard its own
start-up (:func:`xent_cli.cli.main`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``from typing import``: typing alone takes a few ms to import
if TYPE_CHECKING:  # what a type checker or an editor sees; at run time, __getattr__ below
    from typing import Any

    from .analysis.explain import Explanation
    from .api import cross_entropy, cross_entropy_grad, evaluate, explain, log_softmax, softmax
    from .core import LossResult, encode_targets

__all__ = [
    "Explanation",
    "LossResult",
    "__version__",
    "cross_entropy",
    "cross_entropy_grad",
    "encode_targets",
    "evaluate",
    "explain",
    "log_softmax",
    "softmax",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from :mod:`xent_cli.api` on first use (and kept);
    ``__version__``, read from the package metadata only when asked for: importing
    ``importlib.metadata`` costs ~35 ms."""
    if name in __all__ and name != "__version__":
        from . import api  # start-up: the command line imports only what it uses
        from .analysis import explain  # start-up: as api

        value = getattr(explain if name == "Explanation" else api, name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version  # start-up: ~35 ms

        try:
            return version("xent-cli")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
