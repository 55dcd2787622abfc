"""The ``xent`` command line: the only module that knows Click, argv, the TTY and exit codes.

Each command reads (``inputs``), computes (``core``/``steps``), and renders (``render``/``output``);
:mod:`xent_cli._emit` routes the results to stdout, ``-o`` files, ``--export`` and stderr.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from enum import IntEnum
from typing import Any

import click
import numpy as np

from . import _emit as emit
from . import diagnose
from ._errors import InputError
from .inputs import BadUsageError
from .options import export_option, input_options, insight_options, loss_options, output_options
from .targets import normalize_class_axis


class ExitCode(IntEnum):
    """Exit statuses: scripts depend on them (SPEC: Exit codes)."""

    OK = 0
    DATA = 1
    USAGE = 2
    INTERNAL = 70  # EX_SOFTWARE: a bug in xent, not in the input
    INTERRUPTED = 130  # 128 + SIGINT
    BROKEN_PIPE = 141  # 128 + SIGPIPE: what the shell reports for `seq 1e9 | head -1`


class XentGroup(click.Group):
    """A group that turns unexpected failures into one line and a distinct exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command. Ctrl-C exits 130 (SIGTERM 143, SIGHUP 129), after ``finally``
        blocks have removed any temporary file; a closed output pipe exits 141 quietly; running
        out of memory is one line and exit 1; an internal error is one line and exit 70 (the
        traceback with XENT_DEBUG=1)."""
        from ._process import Terminated, buffered_stdout, silence_stdout, termination_cleans_up

        buffered_stdout()
        try:
            with termination_cleans_up():
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except Terminated as stop:
            click.echo("Terminated.", err=True)
            raise click.exceptions.Exit(128 + stop.signum) from None
        except BrokenPipeError:
            # The reader went away (`xent softmax big.npy | head -1`): stop quietly.
            silence_stdout()
            raise click.exceptions.Exit(ExitCode.BROKEN_PIPE) from None
        except SystemExit as stop:
            # Rich's Console.on_broken_pipe raises SystemExit(1) inside its BrokenPipeError
            # handler: the same event as above, so the same exit status.
            if isinstance(stop.__context__, BrokenPipeError):
                raise click.exceptions.Exit(ExitCode.BROKEN_PIPE) from None
            raise
        except MemoryError:
            click.echo(
                "Error: out of memory. For big inputs use .npy files, which xent memory-maps "
                "and reads in blocks.",
                err=True,
            )
            raise click.exceptions.Exit(ExitCode.DATA) from None
        except Exception as err:  # the one place that catches everything: report, don't crash
            if os.environ.get("XENT_DEBUG"):
                raise
            click.echo(
                f"xent: internal error ({type(err).__name__}: {err}). This is a bug in xent; "
                "please report it with the command line. Set XENT_DEBUG=1 to see the traceback.",
                err=True,
            )
            raise click.exceptions.Exit(ExitCode.INTERNAL) from None


def translate_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """The one translation point: bad data -> exit 1 (``Error: ...``), bad usage -> exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BadUsageError as err:
            raise click.UsageError(str(err)) from None
        except (InputError, ValueError) as err:
            raise click.ClickException(str(err)) from None

    return wrapper


@click.group(cls=XentGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xent-cli", prog_name="xent")
def cli() -> None:
    """Cross-entropy loss exactly as PyTorch computes it, with every step shown.

    LOGITS and TARGETS are files (CSV/TSV, JSON, .npy, .npz), '-' for standard input, or
    literals such as 1,2,3,4;5,6,7,8 (rows separated by ';').
    """


def _input_checks(kw: dict[str, Any], x: Any, target: Any = None, targets_kind: Any = None) -> Any:
    """The checks a blocked pass makes of big logits ``x`` (and probability targets) while it
    reads them (:class:`~xent_cli.diagnose.PassChecks`: read once, not twice), or ``None``:
    no warning could be shown (``--quiet``)."""
    if kw["quiet"] and not kw["strict"]:
        return None
    return diagnose.PassChecks(
        x,
        target,
        input_kind=kw.get("input_kind", "logits"),
        targets_kind=targets_kind,
        class_axis=kw["class_axis"],
    )


def _scan(checks: Any) -> Any:
    """The ``scan=`` of a blocked pass for ``checks`` (``None``: nothing to check)."""
    return None if checks is None else checks.scan


def _after_pass(kw: dict[str, Any], checks: Any) -> None:
    """The warnings (``--strict``: the error) from the checks made by a blocked pass."""
    if checks is not None:
        emit.report(checks.messages(), strict=kw["strict"], quiet=kw["quiet"])


def _loss_call(kw: dict[str, Any], per_sample: bool = False) -> tuple[Any, dict[str, Any], Any]:
    """Read the inputs of a loss command and build the core's keyword arguments.

    An ``-o`` file is checked before the inputs are read, and once they are, that it can
    hold the result: the logits' shape (``grad``), or without the class axis
    (``per_sample``: ``compute --reduction none``).

    Also the checks (:func:`_input_checks`; their :func:`_scan` is the blocked passes'
    ``scan=``) that big logits make while the loss pass reads them, or ``None``: small
    logits are checked here, before the pass; big ones (NaN and ±inf, probabilities with
    ``--input-kind probs``, probability targets) by the pass, whose caller then reports with
    :func:`_after_pass`."""
    from .inputs import gather

    if kw.get("output"):
        from .output import check_array_output

        specs = ("logits", "targets", "weight", "sample_weight", "classes", "labels")
        check_array_output(kw["output"], [kw.get(k) for k in specs])

    data = gather(
        kw["logits"],
        kw["targets"],
        labels=kw["labels"],
        classes=kw["classes"],
        weight=kw["weight"],
        sample_weight=kw["sample_weight"],
        class_axis=kw["class_axis"],
        targets_kind=kw["targets_kind"],
        input_format=kw["input_format"],
        ignore_index=-100 if kw["ignore_index"] is None else kw["ignore_index"],
    )
    if kw.get("output"):  # before any work on the data
        from .output import check_array_ndim

        ndim = data.logits.ndim
        check_array_ndim(kw["output"], max(ndim - 1, 0) if per_sample else ndim)
    ignore = kw["ignore_index"]
    if ignore is not None and data.targets_kind == "prob":
        raise BadUsageError(
            "--ignore-index applies to class-index targets; these targets are probabilities "
            f"(shape {data.targets.shape}, the logits' shape)"
        )
    core_kw = dict(
        weight=data.weight,
        ignore_index=-100 if ignore is None else ignore,
        reduction=kw["reduction"],
        label_smoothing=kw["label_smoothing"],
        class_axis=kw["class_axis"],
        input_kind=kw["input_kind"],
        sample_weight=data.sample_weight,
        targets_kind=data.targets_kind,
        dtype=kw["dtype"],
        threads=kw["threads"],
    )
    in_pass = diagnose.scan_in_pass(data.logits)  # big logits: read once, by the pass
    messages = diagnose.check_inputs(
        data.logits,
        data.targets,
        input_kind=kw["input_kind"],
        targets_kind=data.targets_kind,
        class_axis=kw["class_axis"],
        in_pass=in_pass,
    )
    if kw["strict"] or not kw["quiet"]:
        from .mistakes import find_mistakes

        messages += find_mistakes(data.logits, data.targets, **core_kw)
    emit.report(messages, strict=kw["strict"], quiet=kw["quiet"])
    if not in_pass:
        return data, core_kw, None
    return data, core_kw, _input_checks(kw, data.logits, data.targets, data.targets_kind)


def _insight_options(kw: dict[str, Any], data: Any) -> dict[str, Any] | None:
    """The insight pieces asked for (``--metrics``, ``--per-class``, ``--worst``, ``--hist``),
    as ``analyze``'s keyword arguments; ``None`` when none is."""
    if not (kw["metrics"] or kw["per_class"] or kw["worst"] or kw["hist"]):
        return None
    return dict(
        class_names=data.class_names,
        metrics=kw["metrics"],
        topk=kw["topk"],
        per_class=kw["per_class"],
        worst=kw["worst"] or 0,
        hist=kw["hist"],
    )


@cli.command()
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@insight_options
@output_options()
@translate_errors
def compute(**kw: Any) -> None:
    """The loss of LOGITS against TARGETS (class indices or probabilities)."""
    from .core import _big, evaluate
    from .output import loss_output

    if kw["output"] and kw["reduction"] != "none":
        raise BadUsageError("-o writes arrays: use it with --reduction none (or softmax, grad)")
    emit.check_export(kw)
    data, core_kw, checks = _loss_call(kw, per_sample=True)
    scan = _scan(checks)
    asked = _insight_options(kw, data)
    extra = None
    if _big(data.logits):  # a progress bar on stderr (a terminal only) for long runs
        from ._progress import progress_bar
        from .blocks import evaluate_blocked

        with progress_bar("xent compute") as progress:
            if asked is None:
                res = evaluate_blocked(
                    data.logits, data.targets, progress=progress, scan=scan, **core_kw
                )
            else:  # the insight in the same pass over the data as the loss
                from .insight_blocked import evaluate_with_insight

                res, extra = evaluate_with_insight(
                    data.logits, data.targets, progress=progress, scan=scan, **asked, **core_kw
                )
        _after_pass(kw, checks)
    else:
        res = evaluate(data.logits, data.targets, **core_kw)
    emit.report(diagnose.result(res), strict=kw["strict"], quiet=kw["quiet"])
    if asked is not None and extra is None:  # a small input, in memory: read again, cheaply
        from .insight import analyze

        per = res.per_sample
        extra = analyze(data.logits, data.targets, per_sample=per, **asked, **core_kw)
    view = {**emit.view(kw), "insight": extra}
    emit.export(kw, lambda fmt: loss_output(res, fmt, **view), "xent compute")
    wrote = emit.write(kw, res.loss)
    if not wrote or extra is not None:
        emit.show(kw, lambda fmt: loss_output(res, fmt, with_loss=not wrote, **view))


@cli.command()
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@output_options(rows=True, out=False)
@click.option("--grad", "with_grad", is_flag=True, help="Add the gradient step, d loss / d logits.")
@export_option
@translate_errors
def explain(**kw: Any) -> None:
    """Every step of the loss, as the source post does it by hand."""
    from .output import explain_output
    from .steps import explain as explain_steps

    if kw["fmt"] == "csv":
        raise BadUsageError("explain prints steps: use --format table, plain or json")
    emit.check_export(kw)
    data, core_kw, checks = _loss_call(kw)
    scan = _scan(checks)
    steps = explain_steps(
        data.logits, data.targets, rows=kw["rows"], grad=kw["with_grad"], scan=scan, **core_kw
    )
    _after_pass(kw, checks)
    emit.report(diagnose.result(steps.result), strict=kw["strict"], quiet=kw["quiet"])
    names = data.class_names

    def produce(fmt: str) -> Any:
        return explain_output(steps, fmt, class_names=names, **emit.view(kw))

    emit.export(kw, produce, "xent explain")
    emit.show(kw, produce)


@cli.command()
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@output_options()
@translate_errors
def grad(**kw: Any) -> None:
    """d loss / d logits (same options as compute): the gradient torch's autograd gives."""
    from .core import cross_entropy_grad

    data, core_kw, checks = _loss_call(kw)
    x, t, scan = data.logits, data.targets, _scan(checks)

    def fill(out: Any, progress: Any) -> Any:
        if out is None and scan is None:
            return cross_entropy_grad(x, t, **core_kw)
        from .blocks import grad_blocked

        return grad_blocked(x, t, out=out, progress=progress, scan=scan, **core_kw)

    def after() -> None:
        _after_pass(kw, checks)

    axis = normalize_class_axis(x.ndim, kw["class_axis"])
    emit.emit_array(kw, x.shape, np.float64, fill, "grad", axis, data.class_names, after)


@cli.command()
@click.argument("logits")
@click.option("--log", "log", is_flag=True, help="log-softmax instead of softmax.")
@input_options
@output_options()
@translate_errors
def softmax(**kw: Any) -> None:
    """Softmax of LOGITS along the class axis (--log for log-softmax)."""
    from .core import compute_dtype, log_softmax
    from .core import softmax as softmax_fn
    from .inputs import class_axis_of, read_logits
    from .output import check_array_ndim, check_array_output

    if kw["output"]:
        check_array_output(kw["output"], [kw["logits"]])
    loaded = read_logits(kw["logits"], input_format=kw["input_format"])
    if kw["output"]:  # the result has the logits' shape: can -o hold it? Before any work
        check_array_ndim(kw["output"], loaded.array.ndim)
    axis = class_axis_of(loaded.array.ndim, kw["class_axis"])
    x, log = loaded.array, kw["log"]
    checks = None
    if diagnose.scan_in_pass(x):  # big logits: checked by the softmax pass, read once
        checks = _input_checks(kw, x)
    else:
        found = diagnose.non_finite_input(x, class_axis=axis)
        emit.report(found, strict=kw["strict"], quiet=kw["quiet"])

    scan = _scan(checks)

    def fill(out: Any, progress: Any) -> Any:
        if out is None and scan is None:
            fn = log_softmax if log else softmax_fn
            return fn(x, axis=axis, dtype=kw["dtype"])
        from .blocks import softmax_blocked

        return softmax_blocked(
            x,
            axis,
            log=log,
            dtype=kw["dtype"],
            out=out,
            threads=kw["threads"],
            progress=progress,
            scan=scan,
        )

    def after() -> None:
        _after_pass(kw, checks)

    name = "log_softmax" if log else "softmax"
    dtype = compute_dtype(x.dtype, kw["dtype"])
    emit.emit_array(kw, x.shape, dtype, fill, name, axis, loaded.class_names, after)
