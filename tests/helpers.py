"""What the tests share: one ``close()``, the text of an HTML page, and the library's typed
functions called the way torch users call cross_entropy (arrays and torch's keywords), so
that a test of the engine or the analyses reads like the question it asks.

Each wrapper checks the call as the public API does (:func:`xent_cli.api.prepare`) and then
calls the function under test directly, whatever the input's size: the engine's passes on
small arrays, the in-memory analyses on big ones.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import numpy as np
import numpy.typing as npt

from xent_cli.analysis.insight import analyze as _analyze
from xent_cli.analysis.insight_pass import InsightPass
from xent_cli.analysis.records import Insight
from xent_cli.api import LossCall, prepare
from xent_cli.core import Targets
from xent_cli.engine import passes
from xent_cli.spec import InsightSpec

INSIGHT_KEYS = ("metrics", "topk", "per_class", "worst", "hist")


def close(
    actual: npt.ArrayLike,
    expected: npt.ArrayLike,
    rtol: float = 1e-9,
    atol: float = 0.0,
    *,
    grad_scale: bool = False,
) -> None:
    """``assert_allclose`` that also checks shapes and NaN positions; ``grad_scale`` adds an
    absolute tolerance of ``rtol / 10`` of the largest finite expected value (gradients)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    if grad_scale:
        finite = expected[np.isfinite(expected)]
        atol = rtol * 0.1 * max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


class PageText(HTMLParser):
    """Collects every text node of the page fed to it, in order, in ``parts``."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def call(x: npt.ArrayLike, target: npt.ArrayLike, **options: Any) -> LossCall:
    """The checked call of torch's arguments (as the public functions make it)."""
    return prepare(x, target, **options)


def targets(shape: tuple[int, ...], target: npt.ArrayLike, **options: Any) -> Targets:
    """Checked targets for an input of ``shape`` (torch's keywords: ``class_axis``,
    ``ignore_index``, ``targets_kind``, ``weight``, ``sample_weight``)."""
    return prepare(np.broadcast_to(np.zeros((), np.float32), shape), target, **options).targets


def _split(options: dict[str, Any], *names: str) -> dict[str, Any]:
    """Take ``names`` out of ``options`` (those present)."""
    return {n: options.pop(n) for n in names if n in options}


def evaluate_blocked(x: npt.ArrayLike, target: npt.ArrayLike, **options: Any) -> Any:
    """:func:`xent_cli.engine.passes.evaluate` with torch's keywords (and the engine's own:
    ``block_rows``, ``progress``, ``observe``, ``scan``)."""
    run = _split(options, "block_rows", "progress", "observe", "scan")
    c = prepare(x, target, **options)
    return passes.evaluate(c.x, c.targets, c.spec, threads=c.threads, **run)


def grad_blocked(x: npt.ArrayLike, target: npt.ArrayLike, **options: Any) -> np.ndarray:
    """:func:`xent_cli.engine.passes.grad` with torch's keywords (and ``out``, ``block_rows``,
    ``progress``, ``scan``)."""
    run = _split(options, "out", "block_rows", "progress", "scan")
    c = prepare(x, target, **options)
    return passes.grad(c.x, c.targets, c.spec, threads=c.threads, **run)


def _insight_spec(options: dict[str, Any]) -> InsightSpec:
    """The insight pieces among ``options`` (taken out of it), as ``compute`` asks them."""
    asked = _split(options, *INSIGHT_KEYS)
    asked["worst"] = asked.get("worst") or 0
    return InsightSpec(**asked)


def analyze(x: npt.ArrayLike, target: npt.ArrayLike, **options: Any) -> Insight:
    """:func:`xent_cli.analysis.insight.analyze` with torch's keywords and the insight pieces
    (``metrics``, ``topk``, ``per_class``, ``worst``, ``hist``, ``class_names``,
    ``per_sample``); other loss keywords are accepted and used as the CLI uses them."""
    ask = _insight_spec(options)
    extra = _split(options, "class_names", "per_sample")
    c = prepare(x, target, **options)
    return _analyze(c.x, c.targets, c.spec, ask, threads=c.threads, **extra)


def evaluate_with_insight(
    x: npt.ArrayLike, target: npt.ArrayLike, **options: Any
) -> tuple[Any, Insight]:
    """The loss pass of the engine with its one-pass insight (``observe``), torch's keywords
    and the insight pieces; ``block_rows``, ``progress``, ``scan`` for the pass."""
    ask = _insight_spec(options)
    names = options.pop("class_names", None)
    run = _split(options, "block_rows", "progress", "scan")
    c = prepare(x, target, **options)
    watch = InsightPass(c.x, c.targets, c.spec, ask, names)
    res = passes.evaluate(c.x, c.targets, c.spec, threads=c.threads, observe=watch.observe, **run)
    return res, watch.result(res)


# --- the warnings of the diagnostics, made here from the whole arrays (np.isfinite, ...) ----


def _sample(batch: tuple[int, ...]) -> str:
    return f"sample {batch[0]}" if len(batch) == 1 else f"position {batch}"


def expected_non_finite(x: np.ndarray, axis: int, what: str = "logits") -> list[str]:
    """The non-finite warning of ``x`` (classes on ``axis`` >= 0), made here with
    ``np.isfinite`` and ``np.argmax`` on the whole array: the independent value the
    block-wise scans must give (its count and first place)."""
    bad = ~np.isfinite(x)
    n = int(np.count_nonzero(bad))
    if not n:
        return []
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), x.shape))
    where = f"{_sample(first[:axis] + first[axis + 1 :])}, class {first[axis]}"
    return [
        f"{what} hold {n} non-finite value{'s' if n != 1 else ''} (first at {where}: {x[first]})"
    ]


def expected_probabilities(x: np.ndarray, axis: int, what: str) -> list[str]:
    """The warnings of probabilities ``x`` (classes on ``axis`` >= 0), made here on their
    float64 ``(M, C)`` rows: the first value outside [0, 1], and the rows whose sum is more
    than 1e-6 off 1."""
    q = np.moveaxis(np.asarray(x, dtype=np.float64), axis, -1)
    batch = q.shape[:-1]
    flat = q.reshape(-1, q.shape[-1])

    def sample(r: int) -> str:
        return _sample(tuple(int(i) for i in np.unravel_index(r, batch)))

    out = []
    with np.errstate(invalid="ignore"):
        outside = (flat < 0) | (flat > 1)
    if outside.any():
        r, c = (int(i) for i in np.unravel_index(int(np.argmax(outside)), outside.shape))
        out.append(
            f"{what} hold values outside [0, 1] (first at {sample(r)}, class {c}: {flat[r, c]})"
        )
    sums = flat.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        n, r = int(np.count_nonzero(off)), int(np.argmax(off))
        out.append(
            f"{what} of {n} sample{'s' if n != 1 else ''} do not sum to 1 "
            f"(first: {sample(r)} sums to {sums[r]:.6g}); they are used as given"
        )
    return out
