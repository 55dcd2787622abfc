"""``--export``: a Rich view as an SVG picture or an HTML page, as text (the caller writes it
with the one atomic writer, :func:`xent_cli.io.write_text`)."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..spec import EXPORT_EXTENSIONS

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rich.console import RenderableType


def export_kind(path: str) -> str:
    """``svg`` or ``html`` by the file's extension; anything else is a :class:`UsageError`.

    >>> export_kind("out/loss.SVG"), export_kind("page.html")
    ('svg', 'html')
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXPORT_EXTENSIONS:
        raise UsageError(f"--export {path}: expected a .svg or .html file name")
    return ext[1:]


def export_text(
    renderable: RenderableType, kind: str, *, width: int = 100, title: str = "xent"
) -> str:
    """``renderable`` as Rich draws it at ``width`` columns, as an SVG picture (``kind``
    ``svg``, titled ``title``) or an HTML page (``html``)."""
    from rich.console import Console  # start-up: only an export draws

    console = Console(
        record=True,
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
    )
    console.print(renderable)
    return console.export_svg(title=title) if kind == "svg" else console.export_html()
