"""The engine: the core's computations over arrays of any size, in bounded memory, on every
core.

An array is cut into blocks of consecutive samples by one scheme (``plan``); ``runner`` runs
a function over the blocks on one pool of threads; ``kernels`` computes one block in place,
operation for operation as :mod:`xent_cli.core` does (the same bits); ``native`` is the
optional C helper, behind that one module; ``passes`` are the loss, gradient and softmax
passes; ``scans`` count non-finite values and bad probabilities, by a pass of their own or
inside another pass (the input read once); ``spill`` puts per-sample vectors of big inputs
on disk; ``rows`` gives the analyses their row blocks; ``in_order`` folds per-block results
in sample order. It imports :mod:`xent_cli.core` (and the bottom layers) only, and never
decides whether an input is big: :mod:`xent_cli.api` does.
"""

from .blocks import sample_rows as sample_rows
from .in_order import InOrder as InOrder
from .passes import (
    evaluate as evaluate,
    grad as grad,
    softmax as softmax,
)
from .plan import (
    Block as Block,
    reshaped as reshaped,
)
from .rows import (
    block_rows as block_rows,
    iter_log_probs as iter_log_probs,
    iter_rows as iter_rows,
    row_plan as row_plan,
)
from .runner import (
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
