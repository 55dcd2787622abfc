"""The reference implementation: cross-entropy, its gradient and softmax, in memory.

NumPy only (plus xent's errors, options and limits), nothing blocked, nothing threaded, no
I/O: the code to read first, and the definition the engine must reproduce bit for bit.
``targets`` checks the targets (with ``checks``) and lays the input out as ``(M, C)``
rows; ``loss`` computes on them; ``labels`` maps class names to indices; ``positions``
names a sample. It imports no other subpackage.
"""

from .checks import (
    check_vector as check_vector,
    normalize_class_axis as normalize_class_axis,
    parts as parts,
)
from .labels import encode_targets as encode_targets
from .loss import (
    Loss as Loss,
    LossResult as LossResult,
    as_float as as_float,
    as_numeric as as_numeric,
    coefficients as coefficients,
    compute_dtype as compute_dtype,
    evaluate as evaluate,
    grad as grad,
    grad_scaled as grad_scaled,
    log_softmax as log_softmax,
    losses as losses,
    mean_scale as mean_scale,
    reduce as reduce,
    row_log_probs as row_log_probs,
    softmax as softmax,
)
from .positions import (
    position as position,
    position_label as position_label,
)
from .targets import (
    IndexTargets as IndexTargets,
    ProbTargets as ProbTargets,
    Targets as Targets,
    prepare_targets as prepare_targets,
    resolve_kind as resolve_kind,
    with_weights as with_weights,
)
