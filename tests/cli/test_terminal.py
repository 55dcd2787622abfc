"""On a real terminal (a pseudo-terminal): tables by default, colour unless NO_COLOR is set."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOGITS = str(ROOT / "samples/worked_example/logits.csv")
LABELS = str(ROOT / "samples/worked_example/labels.csv")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def on_terminal(*args: str, no_color: bool) -> str:
    """Run ``python -m xent_cli ARGS`` with stdout on a pseudo-terminal; return what it drew."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(COLUMNS="100", TERM="xterm-256color")
    if no_color:
        env["NO_COLOR"] = "1"
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "xent_cli", *args], stdout=child, stderr=subprocess.PIPE, env=env
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    return b"".join(chunks).decode("utf-8")


# SGR parameters that set a colour: 30-38, 40-48, 90-97, 100-107 (bold, italic, reverse are
# not colours, and NO_COLOR (no-color.org) leaves them alone).
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def test_terminal_gets_styled_steps() -> None:
    out = on_terminal("explain", LOGITS, LABELS, no_color=False)
    assert "\x1b[1;7m" in out  # the target's cell: bold reverse
    assert "Step 4" in out and "0.0871" in out


def test_no_color_on_a_terminal() -> None:
    for args in (("explain", LOGITS, LABELS), ("compute", LOGITS, LABELS, "--metrics")):
        out = on_terminal(*args, no_color=True)
        assert not COLOUR.search(out), args
    assert "[0.0871]" in on_terminal("explain", LOGITS, LABELS, no_color=True)


def test_auto_format_is_a_table_on_a_terminal() -> None:
    out = on_terminal("compute", LOGITS, LABELS, no_color=True)
    assert "loss" in out and "1.4402" in out
    assert "1.4401896985611955" not in out  # plain output is for pipes
