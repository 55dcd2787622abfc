"""The reference implementation: cross-entropy, its gradient and softmax, in memory.

NumPy only, nothing blocked or threaded, no I/O: the definition the engine reproduces bit
for bit. ``targets`` checks the targets (with ``checks``) and lays inputs out as ``(M, C)``
rows, ``loss`` computes on them, ``labels`` maps class names.
It imports no other subpackage (only xent's errors, options and limits).
"""

from .checks import (
    check_vector as check_vector,
    normalize_class_axis as normalize_class_axis,
    parts as parts,
    position as position,
    position_label as position_label,
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
from .targets import (
    IndexTargets as IndexTargets,
    ProbTargets as ProbTargets,
    Targets as Targets,
    prepare_targets as prepare_targets,
    resolve_kind as resolve_kind,
    with_weights as with_weights,
)
