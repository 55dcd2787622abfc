"""The engine: the core's computations over arrays of any size, in bounded memory, on every
core.

``plan`` cuts an array into blocks of consecutive samples (the one scheme); ``runner`` runs
them on one thread pool and folds their results in order; ``kernels`` computes a block in
place as :mod:`xent_cli.core` does (the same bits); ``native`` is the door to the optional C
helper; ``passes`` are the loss, gradient and softmax passes; ``scans`` count NaN/inf and bad
probabilities, inside a pass or on their own; ``spill`` puts big per-sample vectors on disk.
It imports :mod:`xent_cli.core` and the bottom layers only; :mod:`xent_cli.api` decides
whether an input is big, and imports ``passes`` only for one (start-up).
"""

from .plan import (
    Block as Block,
    block_rows as block_rows,
    iter_log_probs as iter_log_probs,
    iter_rows as iter_rows,
    reshaped as reshaped,
    row_plan as row_plan,
    sample_rows as sample_rows,
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
