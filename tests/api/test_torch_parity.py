"""Parity with real torch: loss and gradient against torch.nn.functional.cross_entropy.

The grid is randomised but seeded, so every run (and every test id) is the same. torch runs on
float64 tensors and we compare at rtol=1e-9 (atol=1e-12 for values near zero); NaN positions
must agree. The gradient is torch's autograd (of loss.sum() for reduction="none").
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from tests.helpers import close
from xent_cli import cross_entropy, cross_entropy_grad, explain, log_softmax, softmax
from xent_cli.analysis.explain import torch_call

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6

TARGET_MODES = ("index", "index-ign100", "index-ignclass", "prob-norm", "prob-raw")
LABEL_SMOOTHING = (0.0, 0.1, 0.37, 1.0)
REDUCTIONS = ("mean", "sum", "none")
CLASSES = (1, 2, 3, 7)


# ---------------------------------------------------------------- the grid


def _random_shape(rnd: random.Random, rank: int) -> tuple[int, ...]:
    c = rnd.choice(CLASSES)
    if rank == 1:
        return (c,)
    if rank == 2:
        return (rnd.choice((0, 1, 1, 2, 3, 5, 8)), c)
    if rank == 3:
        return (rnd.choice((0, 1, 2, 3)), c, rnd.choice((1, 2, 3, 4)))
    return (rnd.choice((0, 1, 2)), c, rnd.choice((1, 2, 3)), rnd.choice((1, 2, 3)))


def _grid() -> list[dict]:
    rnd = random.Random(20240611)
    cases = []
    combos = itertools.product(TARGET_MODES, (False, True), LABEL_SMOOTHING, REDUCTIONS)
    for mode, weighted, eps, reduction in combos:
        ranks = [1, 2, 3, 4, rnd.choice((2, 3, 4)), rnd.choice((2, 3, 4))]
        for rank in ranks:
            shape = _random_shape(rnd, rank)
            cases.append(
                {
                    "shape": shape,
                    "mode": mode,
                    "weighted": weighted,
                    "eps": eps,
                    "reduction": reduction,
                    "seed": rnd.randrange(2**32),
                }
            )
    # Make sure the edge sizes are there whatever the draw: N = 0 and N = 1 for each rank.
    for rank, n, c in itertools.product((2, 3, 4), (0, 1), CLASSES):
        shape = (n, c) + (2,) * (rank - 2)
        cases.append(
            {
                "shape": shape,
                "mode": rnd.choice(TARGET_MODES),
                "weighted": rnd.random() < 0.5,
                "eps": rnd.choice(LABEL_SMOOTHING),
                "reduction": rnd.choice(REDUCTIONS),
                "seed": rnd.randrange(2**32),
            }
        )
    return cases


def _case_id(i: int, case: dict) -> str:
    shape = "x".join(map(str, case["shape"]))
    w = "w" if case["weighted"] else "nw"
    return f"{i:03d}-{shape}-{case['mode']}-{w}-ls{case['eps']}-{case['reduction']}"


GRID = _grid()
GRID_IDS = [_case_id(i, c) for i, c in enumerate(GRID)]


def make_data(shape, mode, weighted, seed, class_axis=1):
    """Logits, targets, weight and ignore_index for one case (NumPy, float64)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=shape)
    axis = 0 if len(shape) == 1 else class_axis % len(shape)
    c = shape[axis]
    batch = shape[:axis] + shape[axis + 1 :]
    ignore_index = -100
    if mode.startswith("index"):
        t = rng.integers(0, c, size=batch)
        if mode == "index-ign100":
            t = np.where(rng.random(batch) < 0.3, -100, t)
        elif mode == "index-ignclass":
            ignore_index = int(rng.integers(0, c))
    elif mode == "prob-norm":
        t = softmax(rng.normal(scale=2.0, size=shape), axis=axis)
    else:  # un-normalised, even negative: torch does not validate (S4)
        t = rng.uniform(-0.5, 1.5, size=shape)
    w = rng.uniform(0.1, 3.0, size=c) if weighted else None
    return x, np.asarray(t), w, ignore_index


def torch_loss_and_grad(x, t, w, *, dtype=torch.float64, **kw):
    xt = torch.tensor(x, dtype=dtype, requires_grad=True)
    tt = torch.tensor(t, dtype=dtype) if t.dtype.kind == "f" else torch.tensor(t)
    wt = None if w is None else torch.tensor(w, dtype=dtype)
    loss = F.cross_entropy(xt, tt, weight=wt, **kw)
    (loss.sum() if kw.get("reduction") == "none" else loss).backward()
    return loss.detach().numpy(), xt.grad.numpy()


def test_grid_covers_what_it_claims():
    assert len(GRID) >= 600
    assert len(set(GRID_IDS)) == len(GRID_IDS)
    shapes = [c["shape"] for c in GRID]
    assert {len(s) for s in shapes} == {1, 2, 3, 4}
    assert {s[0] if len(s) == 1 else s[1] for s in shapes} == set(CLASSES)
    assert any(len(s) > 1 and s[0] == 0 for s in shapes)
    assert any(len(s) > 1 and s[0] == 1 for s in shapes)
    assert {c["mode"] for c in GRID} == set(TARGET_MODES)
    assert {c["eps"] for c in GRID} == set(LABEL_SMOOTHING)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_grid(case):
    x, t, w, ignore_index = make_data(case["shape"], case["mode"], case["weighted"], case["seed"])
    kw = {
        "ignore_index": ignore_index,
        "reduction": case["reduction"],
        "label_smoothing": case["eps"],
    }
    want_loss, want_grad = torch_loss_and_grad(x, t, w, **kw)
    close(cross_entropy(x, t, weight=w, **kw), want_loss, rtol=RTOL, atol=ATOL)
    close(cross_entropy_grad(x, t, weight=w, **kw), want_grad, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- class_axis = -1


def _axis_cases() -> list[tuple]:
    rnd = random.Random(7)
    cases = []
    for shape in [(2, 5, 7), (1, 3, 2), (3, 1, 4), (0, 4, 3), (2, 3, 4, 5), (2, 6, 1)]:
        for mode in ("index", "index-ign100", "prob-norm"):
            for reduction in REDUCTIONS:
                eps = rnd.choice(LABEL_SMOOTHING)
                cases.append(
                    (shape, mode, rnd.random() < 0.5, eps, reduction, rnd.randrange(2**32))
                )
    return cases


AXIS_CASES = _axis_cases()


@pytest.mark.parametrize(
    "shape,mode,weighted,eps,reduction,seed",
    AXIS_CASES,
    ids=[
        f"{'x'.join(map(str, c[0]))}-{c[1]}-{'w' if c[2] else 'nw'}-ls{c[3]}-{c[4]}"
        for c in AXIS_CASES
    ],
)
def test_class_axis_last_vs_movedim(shape, mode, weighted, eps, reduction, seed):
    x, t, w, ignore_index = make_data(shape, mode, weighted, seed, class_axis=-1)
    kw = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": eps}
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    if t.shape == x.shape:
        tt = tt.movedim(-1, 1)
    wt = None if w is None else torch.tensor(w)
    loss = F.cross_entropy(xt.movedim(-1, 1), tt, weight=wt, **kw)
    (loss.sum() if reduction == "none" else loss).backward()
    close(
        cross_entropy(x, t, weight=w, class_axis=-1, **kw),
        loss.detach().numpy(),
        rtol=RTOL,
        atol=ATOL,
    )
    close(
        cross_entropy_grad(x, t, weight=w, class_axis=-1, **kw),
        xt.grad.numpy(),
        rtol=RTOL,
        atol=ATOL,
    )


# ---------------------------------------------------------------- sample weights


def _sample_weight_cases() -> list[tuple]:
    rnd = random.Random(11)
    cases = []
    for shape in [(5, 3), (1, 4), (3, 7), (2, 3, 4), (2, 2, 3, 2), (4,), (0, 3)]:
        for mode in ("index", "index-ign100", "index-ignclass", "prob-norm"):
            for reduction in REDUCTIONS:
                cases.append(
                    (
                        shape,
                        mode,
                        rnd.random() < 0.5,
                        rnd.choice(LABEL_SMOOTHING),
                        reduction,
                        rnd.randrange(2**32),
                    )
                )
    return cases


SW_CASES = _sample_weight_cases()


@pytest.mark.parametrize(
    "shape,mode,weighted,eps,reduction,seed",
    SW_CASES,
    ids=[
        f"{'x'.join(map(str, c[0]))}-{c[1]}-{'w' if c[2] else 'nw'}-ls{c[3]}-{c[4]}"
        for c in SW_CASES
    ],
)
def test_sample_weight_vs_torch_none(shape, mode, weighted, eps, reduction, seed):
    x, t, w, ignore_index = make_data(shape, mode, weighted, seed)
    batch = shape[:1] + shape[2:] if len(shape) > 1 else ()
    sw = np.random.default_rng(seed + 1).uniform(0.0, 2.0, size=batch)
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    wt = None if w is None else torch.tensor(w)
    per = F.cross_entropy(
        xt, tt, weight=wt, ignore_index=ignore_index, reduction="none", label_smoothing=eps
    )
    swt = torch.tensor(sw)
    weighted_losses = per * swt
    if reduction == "none":
        expected = weighted_losses
    elif reduction == "sum":
        expected = weighted_losses.sum()
    else:
        if t.shape == x.shape:  # probability targets: one share per sample
            share = torch.ones_like(swt)
        else:
            valid = tt != ignore_index
            safe = torch.where(valid, tt, torch.zeros_like(tt))
            wy = wt[safe] if wt is not None else torch.ones_like(swt)
            share = torch.where(valid, wy, torch.zeros_like(wy))
        expected = weighted_losses.sum() / (share * swt).sum()
    (expected.sum() if reduction == "none" else expected).backward()
    kw = {
        "weight": w,
        "ignore_index": ignore_index,
        "reduction": reduction,
        "label_smoothing": eps,
        "sample_weight": sw,
    }
    close(cross_entropy(x, t, **kw), expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    close(cross_entropy_grad(x, t, **kw), xt.grad.numpy(), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- input_kind vs nll_loss


def _nll_cases() -> list[tuple]:
    rnd = random.Random(13)
    cases = []
    for shape in [(5, 3), (1, 4), (4, 7), (2, 3, 4), (2, 2, 3, 2), (3,), (0, 3), (6, 1)]:
        for mode in ("index", "index-ign100", "index-ignclass"):
            for reduction in REDUCTIONS:
                cases.append((shape, mode, rnd.random() < 0.5, reduction, rnd.randrange(2**32)))
    return cases


NLL_CASES = _nll_cases()
NLL_IDS = [f"{'x'.join(map(str, c[0]))}-{c[1]}-{'w' if c[2] else 'nw'}-{c[3]}" for c in NLL_CASES]


@pytest.mark.parametrize("shape,mode,weighted,reduction,seed", NLL_CASES, ids=NLL_IDS)
def test_logprobs_vs_nll_loss(shape, mode, weighted, reduction, seed):
    # Arbitrary values, not normalised: NLLLoss takes its input as log-probabilities as given.
    x, t, w, ignore_index = make_data(shape, mode, weighted, seed)
    xt = torch.tensor(x, requires_grad=True)
    wt = None if w is None else torch.tensor(w)
    loss = F.nll_loss(
        xt, torch.tensor(t), weight=wt, ignore_index=ignore_index, reduction=reduction
    )
    (loss.sum() if reduction == "none" else loss).backward()
    kw = {
        "weight": w,
        "ignore_index": ignore_index,
        "reduction": reduction,
        "input_kind": "logprobs",
    }
    close(cross_entropy(x, t, **kw), loss.detach().numpy(), rtol=RTOL, atol=ATOL)
    close(cross_entropy_grad(x, t, **kw), xt.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape,mode,weighted,reduction,seed", NLL_CASES, ids=NLL_IDS)
def test_probs_vs_nll_loss_of_log(shape, mode, weighted, reduction, seed):
    x, t, w, ignore_index = make_data(shape, mode, weighted, seed)
    p = softmax(x, axis=0 if len(shape) == 1 else 1)
    pt = torch.tensor(p, requires_grad=True)
    wt = None if w is None else torch.tensor(w)
    loss = F.nll_loss(
        pt.log(), torch.tensor(t), weight=wt, ignore_index=ignore_index, reduction=reduction
    )
    (loss.sum() if reduction == "none" else loss).backward()
    kw = {"weight": w, "ignore_index": ignore_index, "reduction": reduction, "input_kind": "probs"}
    close(cross_entropy(p, t, **kw), loss.detach().numpy(), rtol=RTOL, atol=ATOL)
    close(cross_entropy_grad(p, t, **kw), pt.grad.numpy(), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- float32


def _float32_cases() -> list[dict]:
    rnd = random.Random(17)
    cases = []
    for mode in ("index", "index-ign100", "index-ignclass", "prob-norm"):
        for reduction in REDUCTIONS:
            for _ in range(8):
                cases.append(
                    {
                        "shape": _random_shape(rnd, rnd.choice((1, 2, 3, 4))),
                        "mode": mode,
                        "weighted": rnd.random() < 0.5,
                        "eps": rnd.choice(LABEL_SMOOTHING),
                        "reduction": reduction,
                        "seed": rnd.randrange(2**32),
                    }
                )
    return cases


F32_CASES = _float32_cases()


@pytest.mark.parametrize("case", F32_CASES, ids=[_case_id(i, c) for i, c in enumerate(F32_CASES)])
def test_float32_sweep(case):
    x, t, w, ignore_index = make_data(case["shape"], case["mode"], case["weighted"], case["seed"])
    x32 = x.astype(np.float32)
    t = t.astype(np.float32) if t.dtype.kind == "f" else t
    w32 = None if w is None else w.astype(np.float32)
    kw = {
        "ignore_index": ignore_index,
        "reduction": case["reduction"],
        "label_smoothing": case["eps"],
    }
    want_loss, want_grad = torch_loss_and_grad(x32, t, w32, dtype=torch.float32, **kw)
    close(cross_entropy(x32, t, weight=w32, **kw), want_loss, rtol=RTOL32, atol=ATOL32)
    close(cross_entropy_grad(x32, t, weight=w32, **kw), want_grad, rtol=RTOL32, atol=ATOL32)
    # dtype="float32" on float64 input takes the same path.
    close(
        cross_entropy(x32.astype(np.float64), t, weight=w, dtype="float32", **kw),
        want_loss,
        rtol=RTOL32,
        atol=ATOL32,
    )


# ---------------------------------------------------------------- non-finite logits

inf, nan = math.inf, math.nan
NONFINITE = [
    ([[0, -inf, 1]], [0], {}),
    ([[0, -inf, 1]], [1], {}),
    ([[0, inf, 1]], [1], {}),
    ([[0, inf, 1]], [0], {}),
    ([[0, nan, 1]], [0], {}),
    ([[-inf, -inf, -inf]], [0], {}),
    ([[1000, 1001, 1002]], [0], {}),
    ([[-1000, 0, 1000]], [0], {}),
    ([[0, nan, 1], [1, 2, 3]], [-100, 0], {}),
    ([[-inf, -inf, -inf], [1, 2, 3]], [-100, 0], {}),
    ([[0, -inf, 1]], [[0.5, 0, 0.5]], {}),
    ([[0, -inf, 1]], [0], {"label_smoothing": 0.1}),
    ([[0, -inf, 1], [1, 2, 3]], [0, 2], {"label_smoothing": 0.3, "weight": [1, 2, 0.5]}),
    ([[0, -inf, 1], [1, 2, 3]], [0, 2], {"reduction": "none"}),
    ([[0, -inf, 1], [1, 2, 3]], [1, 2], {"reduction": "sum"}),
]


@pytest.mark.parametrize("x,t,kw", NONFINITE, ids=[f"nf{i}" for i in range(len(NONFINITE))])
def test_non_finite(x, t, kw):
    x = np.array(x, dtype=np.float64)
    t = np.array(t)
    kw = dict(kw)
    w = None if "weight" not in kw else np.array(kw.pop("weight"), dtype=np.float64)
    want_loss, want_grad = torch_loss_and_grad(x, t, w, **kw)
    close(cross_entropy(x, t, weight=w, **kw), want_loss, rtol=RTOL, atol=ATOL)
    close(cross_entropy_grad(x, t, weight=w, **kw), want_grad, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- softmax / log_softmax


@pytest.mark.parametrize(
    "shape,axis",
    [((7,), -1), ((4, 5), 1), ((4, 5), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((3, 0), 0)],
)
def test_softmax_and_log_softmax(shape, axis):
    x = np.random.default_rng(sum(shape) + axis).normal(scale=10, size=shape)
    xt = torch.tensor(x)
    close(softmax(x, axis=axis), torch.softmax(xt, dim=axis).numpy(), rtol=1e-12, atol=1e-15)
    close(
        log_softmax(x, axis=axis), torch.log_softmax(xt, dim=axis).numpy(), rtol=1e-12, atol=1e-15
    )


# ---------------------------------------------------------------- torch_call runs in torch

X3 = np.random.default_rng(1).normal(size=(5, 4))
Y3 = np.array([0, 3, 1, 1, 2])
W4 = [1.0, 2.0, 0.5, 3.0]
TORCH_CALLS = {
    "default": (X3, Y3, {}),
    "sum": (X3, Y3, {"reduction": "sum"}),
    "none": (X3, Y3, {"reduction": "none"}),
    "weight-sum": (X3, Y3, {"weight": W4, "reduction": "sum"}),
    "ignore1-ls": (X3, Y3, {"ignore_index": 1, "label_smoothing": 0.1}),
    "weight-ls-mean": (X3, Y3, {"weight": W4, "label_smoothing": 0.37}),
    "soft": (X3, softmax(X3[::-1], axis=1), {}),
    "axis-last": (X3.reshape(1, 5, 4), Y3.reshape(1, 5), {"class_axis": -1}),
    "axis0-2d": (X3.T, Y3, {"class_axis": 0}),
    "logprobs-weight": (log_softmax(X3, axis=1), Y3, {"input_kind": "logprobs", "weight": W4}),
    "probs-sum": (softmax(X3, axis=1), Y3, {"input_kind": "probs", "reduction": "sum"}),
    "logprobs-ls": (
        log_softmax(X3, axis=1),
        Y3,
        {"input_kind": "logprobs", "label_smoothing": 0.1},
    ),
    "probs-ls": (softmax(X3, axis=1), Y3, {"input_kind": "probs", "label_smoothing": 0.1}),
    "logprobs-soft": (
        log_softmax(X3, axis=1),
        softmax(X3[::-1], axis=1),
        {"input_kind": "logprobs"},
    ),
}


@pytest.mark.parametrize("name", list(TORCH_CALLS))
def test_torch_call_reproduces_the_loss(name):
    """The PyTorch call that `explain` prints gives our number when run (float32 tensors)."""
    x, t, kw = TORCH_CALLS[name]
    x32 = np.asarray(x, dtype=np.float32)
    call = torch_call(explain(x32, t, **kw).options)
    given = torch.tensor(x32)
    target = (
        torch.tensor(np.asarray(t, dtype=np.float32))
        if np.shape(t) == x32.shape
        else (torch.tensor(t))
    )
    namespace = {
        "torch": torch,
        "nn": torch.nn,
        "logits": given,
        "logprobs": given,
        "labels": target,
    }
    namespace["probs"] = given if kw.get("input_kind") == "probs" else target
    got = eval(call, namespace)  # noqa: S307 - our own generated expression
    close(got.numpy(), cross_entropy(x32, t, **kw), rtol=RTOL32, atol=ATOL32)
