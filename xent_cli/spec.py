"""What a call asks for: the option types, checked once, and the choices of every option.

:class:`LossSpec` is torch's options less the arrays (weights go with the targets), checked
when it is made, so code below the public API never checks an option again;
:class:`InsightSpec` is what ``compute`` adds beyond the loss. No NumPy.

>>> LossSpec(reduction="sum").reduction
'sum'
>>> LossSpec(reduction="avg")
Traceback (most recent call last):
...
xent_cli.errors.UsageError: avg is not a valid value for reduction (mean, sum, none)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .errors import UsageError

REDUCTIONS = ("mean", "sum", "none")
INPUT_KINDS = ("logits", "probs", "logprobs")
TARGETS_KINDS = ("auto", "index", "prob")
DTYPES = ("auto", "float64", "float32")
#: ``--input-format``: by content and extension, or forced.
INPUT_FORMATS = ("auto", "csv", "json", "npy", "npz")
#: ``--format``: ``auto`` is a table on a terminal, plain text when piped.
OUTPUT_FORMATS = ("auto", "table", "plain", "json", "csv")
#: ``-o FILE``: the format of an array result, by extension.
OUTPUT_EXTENSIONS = (".npy", ".csv", ".txt", ".json")
#: ``--export FILE``: a picture or a page of the table view.
EXPORT_EXTENSIONS = (".svg", ".html")


@dataclass(frozen=True)
class LossSpec:
    """The loss asked for (torch's options; ``dtype``: the precision of the row-wise math,
    ``None``/``"auto"`` by the input's); a bad value is a :class:`~xent_cli.errors.UsageError`."""

    reduction: str = "mean"
    ignore_index: int = -100
    label_smoothing: float = 0.0
    class_axis: int = 1
    input_kind: str = "logits"
    targets_kind: str = "auto"
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.reduction not in REDUCTIONS:
            raise UsageError(
                f"{self.reduction} is not a valid value for reduction (mean, sum, none)"
            )
        smoothing = float(self.label_smoothing)
        if not 0.0 <= smoothing <= 1.0:
            raise UsageError(
                f"label_smoothing must be between 0.0 and 1.0. Got: {self.label_smoothing}"
            )
        object.__setattr__(self, "label_smoothing", smoothing)
        if self.input_kind not in INPUT_KINDS:
            raise UsageError(
                f"input_kind must be one of logits, probs, logprobs; got {self.input_kind!r}"
            )
        if self.dtype not in (None, *DTYPES):
            raise UsageError(f"dtype must be one of auto, float64, float32; got {self.dtype!r}")
        if self.targets_kind not in TARGETS_KINDS:
            raise UsageError(f"targets kind must be auto, index or prob; got {self.targets_kind!r}")


class InsightSpec(NamedTuple):
    """The pieces ``compute`` adds beyond the loss (``--metrics``, ``--per-class``,
    ``--worst N``, ``--hist``); ``topk`` is the k of the top-k accuracy."""

    metrics: bool = False
    topk: int = 5
    per_class: bool = False
    worst: int = 0
    hist: bool = False

    @property
    def asked(self) -> bool:
        """Whether any piece is asked for."""
        return self.metrics or self.per_class or bool(self.worst) or self.hist
