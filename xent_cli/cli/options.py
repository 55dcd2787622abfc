"""The command-line options shared by the commands, as plain decorators (sqlite-utils style),
and the typed bundles a command turns Click's keywords into (:func:`parse`), at the edge:
nothing below a command function sees Click's keyword dictionary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Sources:
    """What a command reads (:func:`xent_cli.io.gather`'s arguments)."""

    logits: str
    targets: str | None
    labels: str | None
    classes: str | None
    weight: str | None
    sample_weight: str | None
    input_format: str


@dataclass(frozen=True)
class Run:
    """How to run and what to do with warnings."""

    threads: int | None
    strict: bool
    quiet: bool

    @property
    def warn(self) -> bool:
        """Whether a warning could be shown (or, under ``--strict``, stop the command)."""
        return self.strict or not self.quiet


@dataclass(frozen=True)
class Output:
    """Where results go and how they look."""

    fmt: str
    as_json: bool
    digits: int
    truncate: bool
    output: str | None
    export: str | None


@dataclass(frozen=True)
class Options:
    """A command's options, typed: ``ignore_given`` says ``--ignore-index`` was given (the
    loss then uses it, else -100); ``insight`` is ``None`` when no piece is asked for."""

    sources: Sources
    loss: LossSpec
    ignore_given: bool
    run: Run
    out: Output
    insight: InsightSpec | None
    rows: int = 10
    grad: bool = False
    log: bool = False


def parse(kw: dict[str, Any]) -> Options:
    """Click's keywords (those of any command) as typed bundles."""
    ignore = kw.get("ignore_index")
    insight = InsightSpec(
        metrics=kw.get("metrics", False),
        topk=kw.get("topk", 5),
        per_class=kw.get("per_class", False),
        worst=kw.get("worst") or 0,
        hist=kw.get("hist", False),
    )
    return Options(
        sources=Sources(
            kw["logits"],
            kw.get("targets"),
            kw.get("labels"),
            kw.get("classes"),
            kw.get("weight"),
            kw.get("sample_weight"),
            kw["input_format"],
        ),
        loss=LossSpec(
            reduction=kw.get("reduction", "mean"),
            ignore_index=-100 if ignore is None else ignore,
            label_smoothing=kw.get("label_smoothing", 0.0),
            class_axis=kw["class_axis"],
            input_kind=kw.get("input_kind", "logits"),
            targets_kind=kw.get("targets_kind", "auto"),
            dtype=kw["dtype"],
        ),
        ignore_given=ignore is not None,
        run=Run(kw["threads"], kw["strict"], kw["quiet"]),
        out=Output(
            kw["fmt"],
            kw["as_json"],
            kw["digits"],
            kw["truncate"],
            kw.get("output"),
            kw.get("export"),
        ),
        insight=insight if insight.asked else None,
        rows=kw.get("rows", 10),
        grad=kw.get("with_grad", False),
        log=kw.get("log", False),
    )
