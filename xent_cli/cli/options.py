"""The command-line options shared by the commands, as plain decorators (sqlite-utils style),
and the typed bundles a command turns Click's keywords into (:func:`parse`), at the edge:
nothing below a command function sees Click's keyword dictionary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import click

from ..spec import (
    DTYPES,
    INPUT_FORMATS,
    INPUT_KINDS,
    OUTPUT_FORMATS,
    REDUCTIONS,
    TARGETS_KINDS,
    InsightSpec,
    LossSpec,
)


def _stack(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(func: Any) -> Any:
        for dec in reversed(decorators):
            func = dec(func)
        return func

    return apply


input_options = _stack(
    click.option(
        "--input-format",
        type=click.Choice(INPUT_FORMATS),
        default="auto",
        show_default=True,
        help="Force the input format (auto: by content, then extension).",
    ),
    click.option(
        "--class-axis",
        type=int,
        default=1,
        show_default=True,
        help="Axis of the classes; negative counts from the end (-1 for (N, T, V)).",
    ),
    click.option(
        "--dtype",
        type=click.Choice(DTYPES),
        default="auto",
        show_default=True,
        help="Compute precision; sums are always float64.",
    ),
    click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="Worker threads for large inputs (default: every core).",
    ),
    click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1)."),
    click.option("--quiet", "-q", is_flag=True, help="Do not print warnings."),
)

loss_options = _stack(
    click.option(
        "--reduction",
        type=click.Choice(REDUCTIONS),
        default="mean",
        show_default=True,
        help="How per-sample losses are combined.",
    ),
    click.option("--weight", metavar="LIST|FILE", help="One weight per class, e.g. 1,2,0.5."),
    click.option(
        "--ignore-index",
        type=int,
        default=None,
        help="Class-index targets equal to this are skipped [default: -100].",
    ),
    click.option(
        "--label-smoothing",
        type=click.FloatRange(0.0, 1.0),
        default=0.0,
        show_default=True,
        help="Mix in the uniform distribution; must be in [0, 1] (torch silently "
        "treats a negative value as 0; xent refuses it).",
    ),
    click.option(
        "--targets-kind",
        type=click.Choice(TARGETS_KINDS),
        default="auto",
        show_default=True,
        help="Class indices or probabilities (auto: input's shape -> probabilities).",
    ),
    click.option(
        "--input-kind",
        type=click.Choice(INPUT_KINDS),
        default="logits",
        show_default=True,
        help="What LOGITS holds: raw scores, probabilities, or log-probabilities.",
    ),
    click.option("--sample-weight", metavar="LIST|FILE", help="One weight per sample."),
    click.option(
        "--classes", metavar="LIST|FILE", help="Class names in column order (targets may use them)."
    ),
    click.option("--labels", metavar="LIST", help="The targets inline, instead of TARGETS."),
)


def output_options(*, rows: bool = False, out: bool = True) -> Callable[[Any], Any]:
    """--format/--json/--digits/--truncate (and -o, --rows where they apply)."""
    decs = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(OUTPUT_FORMATS),
            default="auto",
            show_default=True,
            help="auto: a table on a terminal, plain text when piped.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Short for --format json."),
        click.option(
            "--digits",
            type=click.IntRange(0, 17),
            default=4,
            show_default=True,
            help="Decimals in tables and explain.",
        ),
        click.option(
            "--truncate",
            is_flag=True,
            help="Cut digits beyond --digits instead of rounding (0.36553 -> 0.365).",
        ),
    ]
    if out:
        decs.append(
            click.option(
                "-o",
                "--output",
                type=click.Path(dir_okay=False),
                help="Write the array result to FILE (.npy, .csv, .json, .txt).",
            )
        )
    if rows:
        decs.append(
            click.option(
                "--rows",
                type=click.IntRange(min=0),
                default=10,
                show_default=True,
                help="Samples to show step by step.",
            )
        )
    return _stack(*decs)


export_option = click.option(
    "--export",
    metavar="FILE.svg|FILE.html",
    help="Also save the table view as an SVG picture or an HTML page.",
)

insight_options = _stack(
    click.option(
        "--metrics", is_flag=True, help="Accuracy, top-k accuracy, perplexity, entropy, ECE."
    ),
    click.option(
        "--topk",
        metavar="K",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        help="K of the top-k accuracy in --metrics (shown when there are more than K classes).",
    ),
    click.option("--per-class", is_flag=True, help="Support, loss and accuracy of each class."),
    click.option(
        "--worst",
        metavar="N",
        type=click.IntRange(min=1),
        default=None,
        help="The N samples with the highest loss.",
    ),
    click.option("--hist", is_flag=True, help="A histogram of the per-sample losses."),
    export_option,
)


class Options(NamedTuple):
    """A command's options: Click's keywords, typed (with the defaults of the options a
    command does not have). ``ignore_index`` is ``None`` when ``--ignore-index`` is not given
    (the loss then uses -100)."""

    logits: str
    input_format: str
    class_axis: int
    dtype: str | None
    threads: int | None
    strict: bool
    quiet: bool
    fmt: str
    as_json: bool
    digits: int
    truncate: bool
    targets: str | None = None
    labels: str | None = None
    classes: str | None = None
    weight: str | None = None
    sample_weight: str | None = None
    reduction: str = "mean"
    ignore_index: int | None = None
    label_smoothing: float = 0.0
    targets_kind: str = "auto"
    input_kind: str = "logits"
    output: str | None = None
    export: str | None = None
    metrics: bool = False
    topk: int = 5
    per_class: bool = False
    worst: int | None = None
    hist: bool = False
    rows: int = 10
    with_grad: bool = False
    log: bool = False

    @property
    def warn(self) -> bool:
        """Whether a warning could be shown (or, under ``--strict``, stop the command)."""
        return self.strict or not self.quiet

    @property
    def loss(self) -> LossSpec:
        """The loss asked for."""
        return LossSpec(
            reduction=self.reduction,
            ignore_index=-100 if self.ignore_index is None else self.ignore_index,
            label_smoothing=self.label_smoothing,
            class_axis=self.class_axis,
            input_kind=self.input_kind,
            targets_kind=self.targets_kind,
            dtype=self.dtype,
        )

    @property
    def insight(self) -> InsightSpec | None:
        """The insight pieces asked for, or ``None`` when no piece is."""
        ask = InsightSpec(self.metrics, self.topk, self.per_class, self.worst or 0, self.hist)
        return ask if ask.asked else None


def parse(kw: dict[str, Any]) -> Options:
    """Click's keywords (those of any command) as typed options."""
    return Options(**kw)
