"""Bytes in and out: what the user's files, pipes and literals hold, and the files xent writes.

``sources`` reads an argument (a path, ``-`` or a literal), telling the format by content
first; ``text``, ``json``, ``npy`` are the reference readers, ``text_bulk``, ``json_simd``,
``npy_stream`` their fast or bounded siblings (which import them, never the other way round);
``memory`` says whether a parse fits; ``inputs`` turns a command's arguments into arrays and
checked targets; ``writers`` is the one atomic writer (imported only where ``-o`` or
``--export`` is written, for start-up). It may import :mod:`xent_cli.engine` and
:mod:`xent_cli.core`, never :mod:`xent_cli.analysis` or what is above it.
"""

from .inputs import (
    Inputs as Inputs,
    class_axis_of as class_axis_of,
    gather as gather,
    read_logits as read_logits,
)
