"""Write the hostile corpus to a directory: ``python -m tests.hostile [DIR]``."""

from __future__ import annotations

import pathlib
import sys

if __name__ == "__main__":
    from . import CASES, build

    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    target.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        if case.name:
            (target / case.name).write_bytes(build(case))
    print(f"wrote {sum(1 for case in CASES if case.name)} files to {target}")
