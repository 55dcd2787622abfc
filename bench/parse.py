"""CSV and JSON parsing speed (MB/s) per engine, in the same run, with ratios.

Generates float32-valued logits as text in a temporary directory (deleted afterwards): a CSV
with a header of class names and a ``label`` column, and a JSON ``{"logits": [[...]],
"targets": [...]}``, at (200k, 100) and (1M, 10) by default (about 100-200 MB each). Each is
parsed from memory (``read_text`` / ``read_json``, what ``load`` calls) three ways, in turns:

- ``reference``: the cell-by-cell parser / ``json`` walked leaf by leaf (timed on the first
  tenth of the rows: it is slow; MB/s does not depend on the size);
- ``numpy``: xent without the ``fast`` extra (``np.loadtxt``; ``json`` + NumPy conversion);
- ``fast``: xent with the extra installed (polars; pysimdjson), if it is;

and against the baselines ``np.loadtxt`` / ``json.loads`` + ``np.array`` on the same file.
``load()`` is the whole reader with the extra: reading the file, estimating the memory the
parse needs (``_memory.text_need``/``json_need``), parsing.
The import of each engine is timed in a fresh interpreter: it is paid once per command, which
is why xent uses the extra only on inputs above ``limits.text_fast_bytes`` (CSV) and
``limits.json_fast_bytes`` (JSON).

    python bench/parse.py [--scale 0.25] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _util import interleaved, machine, scratch, verdict

import xent_cli.io.json as json_reader
from xent_cli.io.json_simd import simdjson_engine
from xent_cli.io.sources import load, read_json, read_text
from xent_cli.io.text_bulk import polars_engine
from xent_cli.limits import current, override

SHAPES = ((200_000, 100), (1_000_000, 10))
BLOCK = 5000


@contextmanager
def engines(available: bool) -> Iterator[None]:
    """Make polars and pysimdjson unavailable (as without the extra) unless ``available``."""
    if available:
        yield
        return
    saved = {name: sys.modules.get(name) for name in ("polars", "simdjson")}
    sys.modules.update(dict.fromkeys(saved))  # None: "import polars" raises ImportError
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module


@contextmanager
def reference() -> Iterator[None]:
    """The cell-by-cell / leaf-by-leaf readers, whatever the size."""
    saved = json_reader._dense
    json_reader._dense = lambda value: None
    try:
        with override(text_bulk_bytes=1 << 62, json_fast_bytes=1 << 62):
            yield
    finally:
        json_reader._dense = saved


def write_files(folder: Path, rows: int, cols: int, seed: int = 0) -> dict[str, Path]:
    """CSV and JSON files of the same float32-valued logits (a block repeated)."""
    rng = np.random.default_rng(seed)
    block = min(BLOCK, rows)
    cells = (rng.standard_normal((block, cols)) * 3).astype(np.float32).astype(str).tolist()
    labels = rng.integers(0, cols, block).astype(str).tolist()
    header = ",".join([*(f"c{j}" for j in range(cols)), "label"])
    csv_block = "".join(",".join([*row, k]) + "\n" for row, k in zip(cells, labels, strict=True))
    json_block = ",".join("[" + ",".join(row) + "]" for row in cells)
    paths = {}
    for name, share in (("", 1.0), ("-slice", 0.1)):
        copies = max(1, round(rows * share) // block)
        csv_path = folder / f"logits{name}.csv"
        csv_path.write_text(header + "\n" + csv_block * copies)
        json_path = folder / f"logits{name}.json"
        with open(json_path, "w") as out:
            out.write('{"logits": [' + ",".join([json_block] * copies) + '], "targets": [')
            out.write(",".join(labels * copies) + "]}")
        paths[f"csv{name}"], paths[f"json{name}"] = csv_path, json_path
    return paths


def import_seconds(module: str) -> float | None:
    """Seconds ``import module`` adds to ``import numpy`` in a fresh interpreter (best of 5)."""

    def best(code: str) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code], capture_output=True)
            times.append(time.perf_counter() - t0)
            if done.returncode:
                raise ImportError(module)
        return min(times)

    try:
        return max(0.0, best(f"import numpy, {module}") - best("import numpy"))
    except ImportError:
        return None


def baseline(fmt: str, path: Path):
    if fmt == "csv":
        return lambda: np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return lambda: np.array(json.loads(path.read_bytes())["logits"], dtype=np.float64)


def measure(paths: dict[str, Path], fmt: str, repeat: int, have_fast: bool) -> dict[str, float]:
    """MB/s of each contender on the file of format ``fmt``."""
    parse = read_text if fmt == "csv" else read_json
    path, part = paths[fmt], paths[f"{fmt}-slice"]
    data, head = path.read_bytes(), part.read_bytes()

    def with_reference() -> object:
        with reference():
            return parse(head, "x", "logits")

    def with_numpy() -> object:
        with engines(False):
            return parse(data, "x", "logits")

    runs = {"reference": with_reference, "numpy": with_numpy}
    if have_fast:
        runs["fast"] = lambda: parse(data, "x", "logits")
        runs["load"] = lambda: load(str(path))
        with engines(False):
            plain = parse(data, "x", "logits")
        fast = parse(data, "x", "logits")
        same = all(
            np.array_equal(np.asarray(a).view(np.int64), np.asarray(b).view(np.int64))
            for a, b in zip(fast[:2], plain[:2], strict=True)
        )
        print(f"  {fmt}: fast and numpy-only results identical to the bit: {same}")
    runs["baseline"] = baseline(fmt, path)
    seconds = interleaved(runs, repeat)
    sizes = {name: len(head if name == "reference" else data) for name in runs}
    return {name: sizes[name] / 1e6 / seconds[name] for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="row count factor (0.1: quick)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (best kept)")
    args = parser.parse_args()
    print("machine:", machine())
    have_fast = polars_engine() is not None and simdjson_engine() is not None
    costs = {name: import_seconds(name) for name in ("polars", "simdjson")}
    shown = ", ".join(
        f"{k} {v:.3f} s" if v is not None else f"{k} absent" for k, v in costs.items()
    )
    print(f"engine import (beyond numpy, fresh interpreter): {shown}")
    print(
        f"thresholds: polars from {current().text_fast_bytes / 1e6:.0f} MB of text, "
        f"simdjson from {current().json_fast_bytes / 1e6:.1f} MB of JSON"
    )
    names = {"csv": "np.loadtxt", "json": "json+np.array"}
    print(
        f"{'shape':>14} {'':>5} {'MB':>5}  {'reference':>9} {'numpy':>6} {'fast':>6} "
        f"{'load()':>6} {'baseline':>8}  (MB/s) | fast/baseline fast/reference"
    )
    worst = {"csv": float("inf"), "json": float("inf")}
    with scratch() as folder:
        for rows, cols in SHAPES:
            rows = max(BLOCK, int(rows * args.scale))
            paths = write_files(folder, rows, cols)
            for fmt in ("csv", "json"):
                rate = measure(paths, fmt, args.repeat, have_fast)
                fast = rate.get("fast", float("nan"))
                if paths[fmt].stat().st_size >= current().text_fast_bytes:
                    worst[fmt] = min(worst[fmt], fast)
                mb = paths[fmt].stat().st_size / 1e6
                print(
                    f"{rows:>8}x{cols:<5} {fmt:>5} {mb:5.0f}  {rate['reference']:9.1f} "
                    f"{rate['numpy']:6.1f} {fast:6.1f} {rate.get('load', float('nan')):6.1f} "
                    f"{rate['baseline']:8.1f}         | {fast / rate['baseline']:12.2f}x "
                    f"{fast / rate['reference']:13.1f}x  ({names[fmt]})"
                )
    if have_fast:
        print(
            f"CSV with the fast extra: {worst['csv']:.0f} MB/s (goal >= 150 MB/s: "
            f"{verdict(worst['csv'] >= 150)}); JSON: {worst['json']:.0f} MB/s "
            f"(goal >= 100 MB/s: {verdict(worst['json'] >= 100)})"
        )
    else:
        print('the fast extra is not installed: pip install "xent-cli[fast]" to measure it')


if __name__ == "__main__":
    main()
