"""xent-cli: PyTorch-exact cross-entropy, with every step shown.

The public API. ``import xent_cli`` loads NumPy only (neither Click nor Rich).
"""

from importlib.metadata import PackageNotFoundError, version

from .core import LossResult, cross_entropy, cross_entropy_grad, evaluate, log_softmax, softmax
from .labels import encode_targets
from .steps import Explanation, explain

try:
    __version__ = version("xent-cli")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

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
