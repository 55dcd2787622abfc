"""xent-cli: PyTorch-exact cross-entropy, with every step shown.

The public API. ``import xent_cli`` loads NumPy only (neither Click nor Rich).
"""

from .core import LossResult, cross_entropy, cross_entropy_grad, evaluate, log_softmax, softmax
from .labels import encode_targets
from .steps import Explanation, explain


def __getattr__(name: str) -> str:
    """``__version__``, read from the package metadata only when asked for: importing
    ``importlib.metadata`` costs a shell user ~35 ms on every call."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("xent-cli")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
