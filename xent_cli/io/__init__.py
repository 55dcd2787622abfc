"""Bytes in and out: what the user's files, pipes and literals hold, and the files xent writes.

``sources`` reads an argument (a path, ``-`` or a literal), telling the format by content
first; ``text``, ``json``, ``npy`` are the reference readers, ``text_bulk``, ``json_simd``,
``npy_stream`` their fast or bounded siblings (which import them, never the other way round);
``memory`` says whether a parse fits; ``inputs`` turns a command's arguments into arrays and
checked targets; ``writers`` is the one atomic writer. It may import :mod:`xent_cli.engine`
and :mod:`xent_cli.core`, never :mod:`xent_cli.analysis` or what is above it.
"""

from .inputs import (
    Inputs as Inputs,
    class_axis_of as class_axis_of,
    gather as gather,
    read_logits as read_logits,
)
from .writers import (
    check_array_output as check_array_output,
    check_fits as check_fits,
    check_output_path as check_output_path,
    npy_output as npy_output,
    result_file as result_file,
    result_map as result_map,
    write_array as write_array,
    write_text as write_text,
)
