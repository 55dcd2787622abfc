"""float16 vs float32 input: the cost of half-precision logits (computed in float32 blocks).

Times xent_cli.cross_entropy on the same logits stored as float16 and as float32, in memory
and memory-mapped from .npy files (written to a temporary directory, deleted at the end),
and the float16 -> float32 conversion itself: NumPy's cast (astype) against the exact
integer conversion xent uses per block (xent_cli.engine.kernels.f16_to_f32).

    python bench/float16.py
"""

from __future__ import annotations

import argparse

import numpy as np
from _util import MIB, interleaved, labels, machine, scratch, verdict

import xent_cli
from xent_cli.engine.kernels import f16_to_f32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes",
        default="100000x1000,1000000x10",
        help="comma-separated NxC (default 100000x1000,1000000x10)",
    )
    parser.add_argument("--repeat", type=int, default=9, help="timed runs of each (default 9)")
    parser.add_argument("--dir", help="where to make the temporary directory (default: $TMPDIR)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    block = np.random.default_rng(0).standard_normal(MIB // 2).astype(np.float16)
    out = np.empty(block.shape, np.float32)
    conv = interleaved(
        {"astype": lambda: np.copyto(out, block), "bits": lambda: f16_to_f32(block, out)}, 50
    )
    rate = {k: block.nbytes / v / 1e9 for k, v in conv.items()}
    print(
        f"float16 -> float32 of a 1 MiB block: numpy astype {rate['astype']:.2f} GB/s, "
        f"exact integer trick {rate['bits']:.2f} GB/s ({rate['bits'] / rate['astype']:.1f}x)"
    )
    print(f"{'N x C':>14} {'where':>7} {'f32 ms':>8} {'f16 ms':>8} {'f16/f32':>8}")
    worst = 0.0
    with scratch(args.dir) as tmp:
        for spec in args.shapes.split(","):
            n, c = (int(v) for v in spec.lower().split("x"))
            x32 = np.random.default_rng(0).standard_normal((n, c), dtype=np.float32) * 2
            x16 = x32.astype(np.float16)
            y = labels(n, c)
            np.save(tmp / "x32.npy", x32)
            np.save(tmp / "x16.npy", x16)
            m32 = np.load(tmp / "x32.npy", mmap_mode="r")
            m16 = np.load(tmp / "x16.npy", mmap_mode="r")
            for where, a32, a16 in (("memory", x32, x16), ("mmap", m32, m16)):
                t = interleaved(
                    {
                        "f32": lambda a=a32, y=y: xent_cli.cross_entropy(a, y),
                        "f16": lambda a=a16, y=y: xent_cli.cross_entropy(a, y),
                    },
                    args.repeat,
                )
                ratio = t["f16"] / t["f32"]
                worst = max(worst, ratio)
                print(
                    f"{spec:>14} {where:>7} {t['f32'] * 1e3:8.1f} {t['f16'] * 1e3:8.1f} "
                    f"{ratio:7.2f}x"
                )
            del m32, m16, x32, x16
    print(
        f"float16 costs at most {worst:.2f}x the float32 time (goal <= 1.35x: "
        f"{verdict(worst <= 1.35)})"
    )


if __name__ == "__main__":
    main()
