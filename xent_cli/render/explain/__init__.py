"""The ``explain`` view: every step of the loss as the source post walks through it, as one
Rich ``Group``.

Steps 1-4 (the input, the max shift, exp and the row sums, the softmax) are in ``inputs``;
5-6 (each sample's loss, the reduction) and the PyTorch line in ``loss``; 7 (the gradient,
``explain --grad``) in ``grad``; what they are built from in ``common``. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from ...analysis.explain import Explanation
from ..tables import class_headers
from .common import Para, View
from .grad import step7
from .inputs import step1, steps2to4
from .loss import step5, step6, torch_line

__all__ = ["explain_view"]


def explain_view(
    e: Explanation,
    *,
    digits: int = 4,
    truncate: bool = False,
    class_names: Sequence[str] | None = None,
) -> Group:
    """Steps 1-6 (7, the gradient, when ``e.grad`` is set) and the equivalent PyTorch call,
    ready for ``console.print``."""
    v = View(e, digits, truncate, class_headers(e.n_classes, class_names))
    parts: list[RenderableType] = []
    for part in (step1(v), steps2to4(v), step5(v), step6(v), step7(v), [torch_line(v)]):
        for item in part:
            if isinstance(item, Para) and item.indent == 0 and parts:
                parts.append(Text(""))
            parts.append(item)
    return Group(*parts)
