"""Every big-file command on one float32 `.npy`: wall time and peak anonymous memory.

Generates (N, C) float32 logits of --gb GiB (C = --classes, default 1000) and int64 labels
(--ignored: that share of them -100) in a temporary directory (deleted at the end), then
runs, best of --repeat each:
  xent compute big.npy y.npy                                        the loss
  xent compute ... --metrics --per-class --worst 5 --hist --json    the insight, same pass
  xent explain big.npy y.npy                                        the steps, first rows
  xent compute ... --reduction none -o l.npy                        per-sample losses
  xent grad big.npy y.npy -o g.npy                                  an array result, written
  xent softmax big.npy -o p.npy                                     block by block

With few classes there are many samples per GiB, and the per-sample vectors (losses,
targets) are what could grow: --classes 10 checks that they stay off the heap.

    python bench/commands.py
    python bench/commands.py --gb 4
    python bench/commands.py --classes 10 --ignored 0.1
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

import numpy as np
from _util import machine, run_child, verdict, xent_command


def make_data(folder: str, gib: float, n_classes: int, ignored: float) -> tuple[str, str]:
    """Logits ``(N, C)`` float32 of ``gib`` GiB and labels, written 10k rows at a time."""
    n = int(gib * (1 << 30)) // (n_classes * 4)
    path_x, path_y = os.path.join(folder, "x.npy"), os.path.join(folder, "y.npy")
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(path_x, mode="w+", dtype=np.float32, shape=(n, n_classes))
    step = max(1, (40 << 20) // (n_classes * 4))
    for i in range(0, n, step):
        rows = min(step, n - i)
        x[i : i + rows] = rng.standard_normal((rows, n_classes), dtype=np.float32) * 2
    x.flush()
    del x
    y = rng.integers(0, n_classes, n)
    y[rng.random(n) < ignored] = -100
    np.save(path_y, y)
    return path_x, path_y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.2, help="logits size in GiB (default 1.2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--dir", default=None, help="where to make the temporary directory")
    parser.add_argument("--classes", type=int, default=1000, help="C (default 1000)")
    parser.add_argument(
        "--ignored", type=float, default=0.0, help="share of labels set to -100 (default 0)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    folder = tempfile.mkdtemp(prefix="xent-bench-", dir=args.dir)
    try:
        x, y = make_data(folder, args.gb, args.classes, args.ignored)
        out = os.path.join(folder, "out.npy")
        xent = xent_command()
        runs = {
            "compute (the loss)": xent + ["compute", x, y],
            "compute --metrics --per-class --worst 5 --hist": xent
            + ["compute", x, y, "--metrics", "--per-class", "--worst", "5", "--hist", "--json"],
            "explain": xent + ["explain", x, y],
            "compute --reduction none -o l.npy": xent
            + ["compute", x, y, "--reduction", "none", "-o", out],
            "grad -o g.npy": xent + ["grad", x, y, "-o", out],
            "softmax -o p.npy": xent + ["softmax", x, "-o", out],
        }
        print(
            f"data: float32 logits {args.gb:g} GiB, C = {args.classes}, "
            f"{args.ignored:.0%} of labels -100; best of {args.repeat}"
        )
        print(f"{'command':>48} {'wall s':>7} {'peak anon MB':>13}")
        worst = 0.0
        for name, cmd in runs.items():
            best = None
            for _ in range(args.repeat):
                run = run_child(cmd)
                if run.returncode != 0:
                    raise SystemExit(f"{name}: exit {run.returncode}")
                best = run if best is None or run.wall < best.wall else best
            worst = max(worst, best.peak_anon_mb)
            print(f"{name:>48} {best.wall:7.2f} {best.peak_anon_mb:13.1f}")
        ok = verdict(worst <= 128)
        print(f"highest peak anonymous memory {worst:.1f} MB (goal <= 128 MB: {ok})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
