"""xent-cli: PyTorch-exact cross-entropy, with every step shown.

The public API. ``import xent_cli`` itself imports nothing heavy: each name is imported from
its module when first used, and then loads NumPy only (neither Click nor Rich). So the ``xent``
command, whose entry point lives in this package, can guard its own start-up (``_entry``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``from typing import``: typing alone takes a few ms to import
if TYPE_CHECKING:  # what a type checker or an editor sees; at run time, __getattr__ below
    from typing import Any

    from .core import LossResult, cross_entropy, cross_entropy_grad, evaluate, log_softmax, softmax
    from .labels import encode_targets
    from .steps import Explanation, explain

#: The public names and the modules they come from.
_API = {
    "LossResult": "core",
    "cross_entropy": "core",
    "cross_entropy_grad": "core",
    "evaluate": "core",
    "log_softmax": "core",
    "softmax": "core",
    "encode_targets": "labels",
    "Explanation": "steps",
    "explain": "steps",
}


def __getattr__(name: str) -> Any:
    """A public name, imported on first use (and kept); ``__version__``, read from the package
    metadata only when asked for: importing ``importlib.metadata`` costs ~35 ms."""
    if name in _API:
        from importlib import import_module

        value = getattr(import_module(f".{_API[name]}", __name__), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("xent-cli")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
