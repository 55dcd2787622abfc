"""Start-up: `xent compute 1,2,3 0` vs `python -c "import numpy, click"` (and a bare python).

Runs the three commands in turns, --repeat times each, and prints the median and the best
wall time with the ratio to the numpy+click import (the issue's goal: <= 1.2x).

    python bench/startup.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _util import machine, run_child, verdict, xent_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs of each (default 20)")
    args = parser.parse_args()

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import numpy, click": [sys.executable, "-c", "import numpy, click"],
        "xent compute 1,2,3 0": xent_command() + ["compute", "1,2,3", "0"],
    }
    print(f"machine: {machine()}")
    # An installed package has its bytecode compiled by pip; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile every changed module on every run instead.
    import compileall

    import xent_cli

    compileall.compile_dir(os.path.dirname(xent_cli.__file__), quiet=1)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        run_child(cmd, poll=0.0005)
    for _ in range(args.repeat):
        for name, cmd in commands.items():
            t0 = time.perf_counter()
            r = run_child(cmd, poll=0.0005)
            times[name].append(time.perf_counter() - t0)
            if r.returncode:
                sys.exit(f"{name} failed: {r.stderr}")
    base = statistics.median(times["import numpy, click"])
    print(f"{'command':>22} {'median ms':>10} {'best ms':>8} {'ratio':>6}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:>22} {med * 1e3:10.1f} {min(ts) * 1e3:8.1f} {med / base:5.2f}x")
    ratio = statistics.median(times["xent compute 1,2,3 0"]) / base
    print(
        f"xent start-up {ratio:.2f}x the numpy+click import (goal <= 1.2x: {verdict(ratio <= 1.2)})"
    )


if __name__ == "__main__":
    main()
