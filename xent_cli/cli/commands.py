"""The four commands. Each reads (:mod:`xent_cli.io`), computes (:mod:`xent_cli.api`) and
renders (:mod:`xent_cli.render`); :mod:`.emit` routes the results to stdout, ``-o`` files,
``--export`` and stderr. The options arrive as Click's keywords and become typed bundles
(:func:`.options.parse`) on the first line.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import click
import numpy as np

from .. import api
from ..analysis import PassChecks, result
from ..core import ProbTargets, compute_dtype, normalize_class_axis
from ..engine import Scan
from ..errors import UsageError
from ..io import Inputs, class_axis_of, gather, read_logits
from ..render import Shown, explain_output, loss_output
from . import emit
from .env import Env
from .exits import XentCommand
from .options import (
    Options,
    export_option,
    input_options,
    insight_options,
    loss_options,
    output_options,
    parse,
)
from .progress import progress_bar


def _scan(checks: PassChecks | None) -> Scan | None:
    """The ``scan=`` of a blocked pass for ``checks`` (``None``: nothing to check)."""
    return None if checks is None else checks.scan


def _after_pass(o: Options, checks: PassChecks | None) -> None:
    """The warnings (``--strict``: the error) from the checks made by a blocked pass."""
    if checks is not None:
        emit.report(checks.messages(), o)


def _loss_call(
    env: Env, o: Options, *, per_sample: bool = False
) -> tuple[api.LossCall, Inputs, PassChecks | None]:
    """Read the inputs of a loss command, check them, and say what is wrong with them.

    ``-o`` is checked before the inputs are read, then whether it can hold the result (the
    logits' shape, or without the class axis: ``per_sample``). The warnings told before the
    pass are given here; the checks a blocked pass makes come back, for :func:`_after_pass`."""
    emit.check_outputs(o, o.logits, o.targets, o.weight, o.sample_weight, o.classes, o.labels)
    data = gather(
        o.logits,
        o.targets,
        spec=o.loss,
        labels=o.labels,
        classes=o.classes,
        weight=o.weight,
        sample_weight=o.sample_weight,
        input_format=o.input_format,
        stdin=env.stdin,
    )
    if o.output:  # before any work on the data
        from ..io.writers import check_fits  # start-up: the writers load only for -o

        ndim = data.logits.ndim
        check_fits(o.output, max(ndim - 1, 0) if per_sample else ndim)
    targets = data.targets
    assert targets is not None  # gather needs them
    if o.ignore_index is not None and isinstance(targets, ProbTargets):
        raise UsageError(
            "--ignore-index applies to class-index targets; these targets are probabilities "
            f"(shape {targets.array.shape}, the logits' shape)"
        )
    call = api.LossCall(data.logits, targets, o.loss, o.threads)
    before, checks = api.loss_checks(call, warn=o.warn)
    emit.report(before, o)
    return call, data, checks


@click.command(cls=XentCommand)
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@insight_options
@output_options()
@click.pass_obj
def compute(env: Env, /, **kw: Any) -> None:
    """The loss of LOGITS against TARGETS (class indices or probabilities)."""
    o = parse(kw)
    if o.output and o.loss.reduction != "none":
        raise UsageError("-o writes arrays: use it with --reduction none (or softmax, grad)")
    emit.check_export(o)
    call, data, checks = _loss_call(env, o, per_sample=True)
    with progress_bar("xent compute", env) as progress:  # drawn for long runs on a terminal
        res, extra = api.run_loss(
            call,
            insight=o.insight,
            class_names=data.class_names,
            progress=progress,
            scan=_scan(checks),
        )
    _after_pass(o, checks)
    emit.report(result(res), o)

    def produce(fmt: str, with_loss: bool = True) -> Shown:
        digits, truncate = o.digits, o.truncate
        return loss_output(
            res, fmt, digits=digits, truncate=truncate, insight=extra, with_loss=with_loss
        )

    emit.export(env, o, produce, "xent compute")
    wrote = emit.write(o, res.loss)
    if not wrote or extra is not None:
        emit.show(env, o, lambda fmt: produce(fmt, with_loss=not wrote))


@click.command(cls=XentCommand)
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@output_options(rows=True, out=False)
@click.option("--grad", "with_grad", is_flag=True, help="Add the gradient step, d loss / d logits.")
@export_option
@click.pass_obj
def explain(env: Env, /, **kw: Any) -> None:
    """Every step of the loss, as the source post does it by hand."""
    o = parse(kw)
    if o.fmt == "csv":
        raise UsageError("explain prints steps: use --format table, plain or json")
    emit.check_export(o)
    call, data, checks = _loss_call(env, o)
    steps = api.run_explain(call, rows=o.rows, grad=o.with_grad, scan=_scan(checks))
    _after_pass(o, checks)
    emit.report(result(steps.result), o)

    def produce(fmt: str) -> Shown:
        return explain_output(
            steps, fmt, class_names=data.class_names, digits=o.digits, truncate=o.truncate
        )

    emit.export(env, o, produce, "xent explain")
    emit.show(env, o, produce)


@click.command(cls=XentCommand)
@click.argument("logits")
@click.argument("targets", required=False)
@loss_options
@input_options
@output_options()
@click.pass_obj
def grad(env: Env, /, **kw: Any) -> None:
    """d loss / d logits (same options as compute): the gradient torch's autograd gives."""
    o = parse(kw)
    call, data, checks = _loss_call(env, o)
    fill = partial(api.run_grad, call, scan=_scan(checks))
    x, after = data.logits, partial(_after_pass, o, checks)
    axis = normalize_class_axis(x.ndim, o.class_axis)
    emit.emit_array(env, o, x.shape, np.float64, fill, "grad", axis, data.class_names, after)


@click.command(cls=XentCommand)
@click.argument("logits")
@click.option("--log", "log", is_flag=True, help="log-softmax instead of softmax.")
@input_options
@output_options()
@click.pass_obj
def softmax(env: Env, /, **kw: Any) -> None:
    """Softmax of LOGITS along the class axis (--log for log-softmax)."""
    o = parse(kw)
    emit.check_outputs(o, o.logits)
    loaded = read_logits(o.logits, input_format=o.input_format, stdin=env.stdin)
    x = loaded.array
    if o.output:  # the result has the logits' shape: can -o hold it? Before any work
        from ..io.writers import check_fits  # start-up: as in compute

        check_fits(o.output, x.ndim)
    axis = class_axis_of(x.ndim, o.class_axis)
    before, checks = api.softmax_checks(x, axis, warn=o.warn)
    emit.report(before, o)
    fill = partial(
        api.run_softmax, x, axis, log=o.log, dtype=o.dtype, threads=o.threads, scan=_scan(checks)
    )
    name, dtype = "log_softmax" if o.log else "softmax", compute_dtype(x.dtype, o.dtype)
    after = partial(_after_pass, o, checks)
    emit.emit_array(env, o, x.shape, dtype, fill, name, axis, loaded.class_names, after)


COMMANDS = (compute, explain, grad, softmax)
