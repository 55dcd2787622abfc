"""From command-line specs (paths, ``-``, literals) to the arrays and checked targets a loss
call takes.

Where the targets come from, class names, label vectors written as a row or a column, and
the checks that need both the logits and the targets, made once, naming each input's source.
"""

from __future__ import annotations

from dataclasses import replace
from typing import BinaryIO, NamedTuple

import numpy as np

from ..core import (
    Targets,
    check_vector,
    encode_targets,
    normalize_class_axis,
    prepare_targets,
    resolve_kind,
    with_weights,
)
from ..engine import empty_like
from ..errors import InputError, UsageError, plural
from ..spec import LossSpec
from .sources import Loaded, load, load_list


class Inputs(NamedTuple):
    """Everything a loss command needs, read and checked: the logits as read, their checked
    targets (with the weights) or ``None``, the class names, and where each came from."""

    logits: np.ndarray
    logits_source: str
    targets: Targets | None
    targets_source: str | None
    class_names: tuple[str, ...] | None


def _label_vector(raw: np.ndarray, batch_shape: tuple[int, ...]) -> np.ndarray:
    """Labels written as one row or one column are the same vector (SPEC: Inputs)."""
    n = int(np.prod(batch_shape, dtype=np.int64))
    if raw.ndim == 2 and 1 in raw.shape and len(batch_shape) <= 1:
        if raw.size == n:
            return raw.reshape(batch_shape if batch_shape else (1,))
        if batch_shape:  # the wrong number of labels: report them as the vector they are
            return raw.reshape(-1)
    return raw


def class_axis_of(ndim: int, class_axis: int) -> int:
    """``--class-axis`` as a non-negative axis of an ``ndim``-D input; out of range is usage."""
    try:
        return normalize_class_axis(ndim, class_axis)
    except InputError as err:
        raise UsageError(f"--class-axis {class_axis}: {err}") from None


def read_logits(spec: str, *, input_format: str = "auto", stdin: BinaryIO | None = None) -> Loaded:
    """Read the LOGITS argument."""
    loaded = load(spec, role="logits", input_format=input_format, stdin=stdin)
    if loaded.array.dtype.kind not in "fiu" or loaded.array.dtype.kind == "b":
        raise InputError(f"{loaded.source}: expected numbers, found dtype {loaded.array.dtype}")
    if loaded.array.ndim == 0:
        raise InputError(f"{loaded.source}: a single number; expected a row of class scores")
    return loaded


def gather(
    logits_spec: str,
    targets_spec: str | None = None,
    *,
    spec: LossSpec | None = None,
    labels: str | None = None,
    classes: str | None = None,
    weight: str | None = None,
    sample_weight: str | None = None,
    input_format: str = "auto",
    need_targets: bool = True,
    stdin: BinaryIO | None = None,
) -> Inputs:
    """Read the logits, the targets (argument, ``--labels`` or carried by the logits input),
    class names and weights, and check the targets for the loss ``spec`` asks for (its class
    axis, ignore index and targets kind).

    Raises :class:`InputError` for bad data and :class:`UsageError` for a bad call."""
    spec = spec or LossSpec()
    if logits_spec == "-" and targets_spec == "-":
        raise UsageError("LOGITS and TARGETS cannot both be read from standard input ('-')")
    if targets_spec is not None and labels is not None:
        raise UsageError("give the targets either as TARGETS or with --labels, not both")
    lg = read_logits(logits_spec, input_format=input_format, stdin=stdin)
    x = lg.array
    axis = class_axis_of(x.ndim, spec.class_axis)
    n_classes = x.shape[axis]

    names, names_from = lg.class_names, f"{lg.source} (its class names)"
    if classes is not None:
        names = tuple(str(c) for c in load_list(classes, option="--classes", numeric=False))
        names_from = "--classes"
    if names is not None and len(names) != n_classes:
        raise InputError(
            f"{names_from}: {plural(len(names), 'class name')} but the logits have "
            f"{n_classes} classes (axis {axis}); give one name per class, in column order"
        )

    raw, source = None, None
    if targets_spec is not None:
        tl = load(targets_spec, role="targets", input_format=input_format, stdin=stdin)
        raw, source = tl.array, tl.source
    elif labels is not None:
        raw, source = load_list(labels, option="--labels", numeric=False), "--labels"
    elif lg.targets is not None:
        raw, source = lg.targets, lg.source
    if raw is None or source is None:
        if need_targets:
            raise UsageError(
                "missing TARGETS: give a targets file or literal, --labels 1,2,3, or logits "
                "that carry them (.npz/JSON 'targets', or a CSV 'label' column)"
            )
        return Inputs(x, lg.source, None, None, names)

    kind = resolve_kind(x.shape, raw.shape, spec.targets_kind)
    if kind == "index":
        raw = _label_vector(raw, x.shape[:axis] + x.shape[axis + 1 :])
        try:
            raw = encode_targets(raw, names)
        except InputError as err:
            raise InputError(f"targets {source}: {err}") from None
    w = None if weight is None else load_list(weight, option="--weight", stdin=stdin)
    sw = None
    if sample_weight is not None:
        sw = load_list(sample_weight, option="--sample-weight", stdin=stdin)
    t = _targets(x.shape, raw, source, replace(spec, targets_kind=kind), w, sw)
    return Inputs(x, lg.source, t, source, names)


def _targets(
    shape: tuple[int, ...],
    raw: np.ndarray,
    source: str,
    spec: LossSpec,
    w: np.ndarray | None,
    sw: np.ndarray | None,
) -> Targets:
    """The checked targets and weights, with errors that name where each came from. Index
    targets become int64 once (on disk when big and memory-mapped); probability targets are
    checked for shape and dtype, never copied (their values by the diagnostics, block-wise)."""
    try:
        t = prepare_targets(shape, raw, spec, empty=empty_like)
    except InputError as err:
        raise InputError(f"targets {source}: {err}") from None
    checked: list[np.ndarray | None] = []
    for option, values, length, what, per in (
        ("--weight", w, t.n_classes, "weight", "class"),
        ("--sample-weight", sw, t.n_rows, "sample weight", "sample"),
    ):
        try:
            checked.append(None if values is None else check_vector(values, length, what, per))
        except InputError as err:
            raise InputError(f"{option}: {err}") from None
    return with_weights(t, checked[0], checked[1])
