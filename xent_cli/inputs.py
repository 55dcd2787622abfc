"""From command-line specs (paths, ``-``, literals) to the arrays the core takes.

This is the glue between :mod:`xent_cli.readers` and the core that does not belong in the
Click layer: where the targets come from, class names, label vectors written as a row or a
column, and the checks that need both the logits and the targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ._errors import InputError, plural
from .core import _big
from .labels import encode_targets
from .readers import Loaded, load, load_list
from .targets import check_vector, normalize_class_axis, prepare_targets, resolve_kind


class BadUsageError(ValueError):
    """A problem with how the command was called (exit 2), not with the data."""


@dataclass(frozen=True)
class Inputs:
    """Everything a loss command needs, read and shaped."""

    logits: np.ndarray
    logits_source: str
    targets: np.ndarray | None
    targets_source: str | None
    targets_kind: str | None  # "index" or "prob", resolved
    class_names: tuple[str, ...] | None
    weight: np.ndarray | None
    sample_weight: np.ndarray | None


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
    except ValueError as err:
        raise BadUsageError(f"--class-axis {class_axis}: {err}") from None


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
    labels: str | None = None,
    classes: str | None = None,
    weight: str | None = None,
    sample_weight: str | None = None,
    class_axis: int = 1,
    targets_kind: str = "auto",
    input_format: str = "auto",
    need_targets: bool = True,
    ignore_index: int = -100,
    stdin: BinaryIO | None = None,
) -> Inputs:
    """Read the logits, the targets (argument, ``--labels`` or carried by the logits input),
    class names and weights, and shape the targets for the core.

    Raises :class:`InputError` for bad data and :class:`BadUsageError` for a bad call.
    """
    if logits_spec == "-" and targets_spec == "-":
        raise BadUsageError("LOGITS and TARGETS cannot both be read from standard input ('-')")
    if targets_spec is not None and labels is not None:
        raise BadUsageError("give the targets either as TARGETS or with --labels, not both")
    lg = read_logits(logits_spec, input_format=input_format, stdin=stdin)
    x = lg.array
    axis = class_axis_of(x.ndim, class_axis)
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
    if raw is None and need_targets:
        raise BadUsageError(
            "missing TARGETS: give a targets file or literal, --labels 1,2,3, or logits "
            "that carry them (.npz/JSON 'targets', or a CSV 'label' column)"
        )

    kind = None
    if raw is not None:
        batch_shape = x.shape[:axis] + x.shape[axis + 1 :]
        kind = resolve_kind(x.shape, raw.shape, targets_kind)
        if kind == "index":
            raw = _label_vector(raw, batch_shape)
            try:
                raw = encode_targets(raw, names)
            except ValueError as err:
                raise InputError(f"targets {source}: {err}") from None

    w = None if weight is None else load_list(weight, option="--weight", stdin=stdin)
    sw = None
    if sample_weight is not None:
        sw = load_list(sample_weight, option="--sample-weight", stdin=stdin)
    if raw is not None:
        _check(x.shape, raw, source, w, sw, class_axis, kind, ignore_index)
    return Inputs(x, lg.source, raw, source, kind, names, w, sw)


def _check(
    shape: tuple[int, ...],
    raw: np.ndarray,
    source: str,
    w: np.ndarray | None,
    sw: np.ndarray | None,
    class_axis: int,
    kind: str,
    ignore_index: int,
) -> None:
    """Validate targets and weights now, so that errors can name where each came from.

    Big probability targets are checked for shape and dtype without being copied (their
    values are checked block by block by ``diagnose``).
    """
    check = prepare_targets
    if _big(raw):
        from .blocks import check_targets as check
    try:
        t = check(shape, raw, class_axis=class_axis, targets_kind=kind, ignore_index=ignore_index)
    except ValueError as err:
        raise InputError(f"targets {source}: {err}") from None
    for option, values, length, what, per in (
        ("--weight", w, t.n_classes, "weight", "class"),
        ("--sample-weight", sw, t.n_rows, "sample weight", "sample"),
    ):
        if values is not None:
            try:
                check_vector(values, length, what, per)
            except ValueError as err:
                raise InputError(f"{option}: {err}") from None


__all__ = ["BadUsageError", "Inputs", "class_axis_of", "gather", "read_logits"]
