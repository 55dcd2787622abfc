"""What is computed beyond the loss itself, from its inputs and results.

``explain`` lays out every step for the first samples; ``insight`` (with ``records`` and
``insight_pass``) measures metrics, per-class figures, the worst samples and a histogram, in
memory or inside the engine's pass; ``diagnostics`` words the warnings; ``mistakes`` catches
the usual mistakes. Only the last two are imported here (start-up): the others are imported
where they are used. It may import :mod:`xent_cli.engine` and :mod:`xent_cli.core`, never
:mod:`xent_cli.io` or what is above it; whether a path is blocked is the caller's choice.
"""

from .diagnostics import (
    PassChecks as PassChecks,
    check_inputs as check_inputs,
    non_finite_input as non_finite_input,
    result as result,
)
from .mistakes import FixedLoss as FixedLoss, find_mistakes as find_mistakes
