"""In-process throughput: xent_cli.cross_entropy vs torch's F.cross_entropy and np.exp.

For each (N, C) float32 array in memory (class-index targets, reduction mean) it times,
in turns, best of --repeat:
  xent      xent_cli.cross_entropy on every available core (threads=None)
  xent/1    the same on one thread
  torch     torch.nn.functional.cross_entropy, torch.set_num_threads(every core)
  np.exp    np.exp(x): one plain call, the "ceiling" of the issue (NumPy runs it on 1 thread)
  exp/all   np.exp over the same 1 MiB blocks into a reused buffer, on every core: what the
            exponentials alone cost when they get the same cores and blocking as xent
and prints the ratios (torch / xent is xent's speed-up; xent / np.exp how far from the
ceiling). Data is generated in memory; nothing is written to disk.

    python bench/inprocess.py
    python bench/inprocess.py --shapes 100000x1000 --repeat 15
"""

from __future__ import annotations

import argparse
import threading

import numpy as np
from _util import MIB, cores, interleaved, labels, machine, verdict

import xent_cli

GOALS = {1000: 1.4, 10: 1.5}  # speed-up over F.cross_entropy asked for, by C


def blocked_exp(x: np.ndarray, threads: int):
    """np.exp over 1 MiB row blocks of ``x`` into per-thread buffers, on ``threads`` threads."""
    rows = max(1, MIB // (x.shape[1] * x.itemsize))
    starts = list(range(0, x.shape[0], rows))

    def body(mine: list[int]) -> None:
        buf = np.empty((rows, x.shape[1]), x.dtype)
        for s in mine:
            part = x[s : s + rows]
            np.exp(part, out=buf[: len(part)])

    def run() -> None:
        ts = [threading.Thread(target=body, args=(starts[k::threads],)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    return run


def measure(x: np.ndarray, y: np.ndarray, n_cores: int, torch, repeat: int) -> dict:
    """Best times (ms) of xent, xent on 1 thread, torch, np.exp and blocked np.exp."""
    fns = {
        "xent": lambda: xent_cli.cross_entropy(x, y),
        "xent1": lambda: xent_cli.cross_entropy(x, y, threads=1),
        "exp": lambda: np.exp(x),
        "expall": blocked_exp(x, n_cores),
    }
    if torch is not None:
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        fns["torch"] = lambda: torch.nn.functional.cross_entropy(xt, yt)
        ours, theirs = xent_cli.cross_entropy(x, y), float(fns["torch"]())
        assert abs(ours - theirs) <= 1e-5 * abs(theirs), (ours, theirs)
    return {k: v * 1e3 for k, v in interleaved(fns, repeat).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes",
        default="100000x1000,1000000x10,2000x50000",
        help="comma-separated NxC (default: the issue's three)",
    )
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each (default 9)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    args = parser.parse_args()

    n_cores = cores()
    torch = None
    if not args.no_torch:
        import torch

        torch.set_num_threads(n_cores)
    print(f"machine: {machine()}")
    print(
        f"float32 in memory, index targets, mean; best of {args.repeat}, in turns; "
        f"xent and torch on {n_cores} threads"
    )
    header = (
        f"{'N x C':>14} {'MB':>6} {'xent ms':>8} {'xent/1':>7} {'torch':>7} "
        f"{'np.exp':>7} {'exp/all':>7} | {'torch/xent':>10} {'xent/np.exp':>11} "
        f"{'xent1/np.exp':>12} {'xent/exp-all':>12}"
    )
    print(header)
    verdicts = []
    for spec in args.shapes.split(","):
        n, c = (int(v) for v in spec.lower().split("x"))
        x = np.random.default_rng(0).standard_normal((n, c), dtype=np.float32) * 2
        t = measure(x, labels(n, c), n_cores, torch, args.repeat)
        tt = t.get("torch", float("nan"))
        speedup = tt / t["xent"]
        print(
            f"{spec:>14} {x.nbytes / 1e6:6.0f} {t['xent']:8.1f} {t['xent1']:7.1f} {tt:7.1f} "
            f"{t['exp']:7.1f} {t['expall']:7.1f} | {speedup:9.2f}x {t['xent'] / t['exp']:10.2f}x"
            f" {t['xent1'] / t['exp']:11.2f}x {t['xent'] / t['expall']:11.2f}x"
        )
        if c in GOALS and torch is not None:
            verdicts.append(
                f"C={c}: {speedup:.2f}x F.cross_entropy (goal >= {GOALS[c]}x: "
                f"{verdict(speedup >= GOALS[c])}); "
                f"{t['xent'] / t['exp']:.2f}x the np.exp time (goal <= 1.15x: "
                f"{verdict(t['xent'] / t['exp'] <= 1.15)})"
            )
    for line in verdicts:
        print(line)


if __name__ == "__main__":
    main()
