"""The engine: the core's computations over arrays of any size, in bounded memory, on every
core.

An array is cut into blocks of consecutive samples by one scheme (``plan``, which also gives
the analyses their blocks of rows); ``runner`` runs a function over the blocks on one pool of
threads, and folds per-block results in sample order; ``kernels`` computes one block in place,
operation for operation as :mod:`xent_cli.core` does (the same bits); ``native`` is the
optional C helper, behind that one module; ``passes`` are the loss, gradient and softmax
passes; ``scans`` count non-finite values and bad probabilities, by a pass of their own or
inside another pass (the input read once); ``spill`` puts per-sample vectors of big inputs
on disk. It imports :mod:`xent_cli.core` (and the bottom layers) only, and never
decides whether an input is big: :mod:`xent_cli.api` does.
"""

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
from .runner import (
    InOrder as InOrder,
    Progress as Progress,
    run as run,
)
from .scans import (
    NonFiniteScan as NonFiniteScan,
    ProbabilityScan as ProbabilityScan,
    ProbabilityStats as ProbabilityStats,
    Scan as Scan,
    Scans as Scans,
    non_finite_stats as non_finite_stats,
    probability_stats as probability_stats,
)
from .spill import (
    empty as empty,
    empty_like as empty_like,
    on_disk as on_disk,
)
