"""Whole command on a big .npy: `xent compute big.npy labels.npy` vs a torch script.

Generates a float32 logits .npy (default 1 GiB, 1000 classes) and int64 labels in a
temporary directory (deleted at the end), runs both commands in turns (page cache warm for
both), and prints wall time and peak anonymous memory (RssAnon polled from
/proc/<pid>/status; ru_maxrss also counts memory-mapped file pages) with their ratios.

The torch script is what a user would write: np.load the arrays, F.cross_entropy, print.

    python bench/whole_command.py            # 1 GiB
    python bench/whole_command.py --gb 4     # bounded memory whatever the size
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _util import (
    GIB,
    labels,
    machine,
    run_child,
    scratch,
    verdict,
    write_logits,
    xent_command,
)

TORCH_SCRIPT = """
import sys
import numpy as np
import torch
x = torch.from_numpy(np.load(sys.argv[1]))
y = torch.from_numpy(np.load(sys.argv[2]))
print(torch.nn.functional.cross_entropy(x, y).item())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="logits size in GiB (default 1)")
    parser.add_argument("--classes", type=int, default=1000, help="C (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--dir", help="where to make the temporary directory (default: $TMPDIR)")
    parser.add_argument("--threads", type=int, help="pass --threads N to xent")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    args = parser.parse_args()

    n_classes = args.classes
    n = int(args.gb * GIB) // (4 * n_classes)
    print(f"machine: {machine()}")
    print(
        f"data: float32 logits ({n}, {n_classes}) = {n * n_classes * 4 / GIB:.2f} GiB, "
        f"int64 labels; best of {args.repeat} runs each, in turns"
    )
    with scratch(args.dir) as tmp:
        big, lab = tmp / "big.npy", tmp / "labels.npy"
        write_logits(big, (n, n_classes))
        np.save(lab, labels(n, n_classes))
        xent = xent_command() + ["compute", str(big), str(lab)]
        if args.threads:
            xent += ["--threads", str(args.threads)]
        commands = {"xent": xent}
        if not args.no_torch:
            commands["torch"] = [sys.executable, "-c", TORCH_SCRIPT, str(big), str(lab)]
        runs: dict[str, list] = {name: [] for name in commands}
        for cmd in commands.values():  # warm-up: page cache, .pyc files
            run_child(cmd)
        for _ in range(args.repeat):
            for name, cmd in commands.items():
                r = run_child(cmd)
                if r.returncode:
                    sys.exit(f"{name} failed ({r.returncode}): {r.stderr}")
                runs[name].append(r)
    print(f"{'':6} {'wall s':>8} {'peak anon MB':>13} {'max RSS MB':>11}  output")
    best = {}
    for name, rs in runs.items():
        b = min(rs, key=lambda r: r.wall)
        best[name] = b
        anon = max(r.peak_anon_mb for r in rs)
        print(f"{name:6} {b.wall:8.3f} {anon:13.1f} {b.max_rss_mb:11.1f}  {b.stdout}")
    x = best["xent"]
    anon = max(r.peak_anon_mb for r in runs["xent"])
    print(f"xent peak anonymous memory {anon:.1f} MB (goal <= 128 MB: {verdict(anon <= 128)})")
    if "torch" in best:
        t = best["torch"]
        ratio = x.wall / t.wall
        agree = abs(float(x.stdout) - float(t.stdout)) <= 1e-5 * abs(float(t.stdout))
        print(
            f"wall time xent / torch = {ratio:.2f}x (goal <= 0.3x: {verdict(ratio <= 0.3)}); "
            f"anonymous memory xent / torch = {anon / max(runs['torch'][0].peak_anon_mb, 1):.3f}"
            f"; results agree to 1e-5: {agree}"
        )


if __name__ == "__main__":
    main()
