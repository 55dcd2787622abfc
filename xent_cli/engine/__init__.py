"""The engine: the core's computations over arrays of any size, in bounded memory, on every
core.

``plan`` cuts an array into blocks of consecutive samples (the one scheme); ``runner`` runs
them on one thread pool and folds their results in order; ``kernels`` computes a block in
place as :mod:`xent_cli.core` does (the same bits); ``native`` is the door to the optional C
helper; ``passes`` are the loss, gradient and softmax passes; ``scans`` count NaN/inf and bad
probabilities, inside a pass or on their own; ``spill`` puts big per-sample vectors on disk.
It imports :mod:`xent_cli.core` and the bottom layers only; :mod:`xent_cli.api` decides
whether an input is big.

Its names load with their module on first use (start-up: a small input, which the core
computes, never loads the passes; the checks load only the scans they run).
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not ``from typing import``, as in xent_cli/__init__.py
if TYPE_CHECKING:  # what a type checker sees; at run time, __getattr__ below
    from .passes import (
        evaluate as evaluate,
        grad as grad,
        sample_rows as sample_rows,
        softmax as softmax,
    )
    from .plan import (
        Block as Block,
        block_rows as block_rows,
        iter_log_probs as iter_log_probs,
        iter_rows as iter_rows,
        reshaped as reshaped,
        row_plan as row_plan,
    )
    from .runner import InOrder as InOrder, Progress as Progress, run as run
    from .scans import (
        NonFiniteScan as NonFiniteScan,
        ProbabilityScan as ProbabilityScan,
        ProbabilityStats as ProbabilityStats,
        Scan as Scan,
        Scans as Scans,
        non_finite_stats as non_finite_stats,
        probability_stats as probability_stats,
    )
    from .spill import empty as empty, empty_like as empty_like, on_disk as on_disk

#: The module of each public name.
_HOME = {
    "passes": ("evaluate", "grad", "sample_rows", "softmax"),
    "plan": ("Block", "block_rows", "iter_log_probs", "iter_rows", "reshaped", "row_plan"),
    "runner": ("InOrder", "Progress", "run"),
    "scans": (
        "NonFiniteScan",
        "ProbabilityScan",
        "ProbabilityStats",
        "Scan",
        "Scans",
        "non_finite_stats",
        "probability_stats",
    ),
    "spill": ("empty", "empty_like", "on_disk"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> object:
    """A public name, imported from its module on first use (and kept)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
