"""Results as text and Rich renderables: what a command shows, never where it goes.

``numbers`` writes numbers, bars and arrays as plain, CSV and JSON text; ``tables`` the loss
and arrays as Rich tables; ``insight`` the insight pieces; ``explain`` every step of the loss;
``outputs`` picks the view for each ``--format`` and makes ``--export``'s SVG or HTML. No
files, no stdout, no Click; Rich only where a table is drawn. It may import everything below
it (the API, the analyses, the core), never :mod:`xent_cli.cli`.
"""

from .outputs import (
    Shown as Shown,
    array_pieces as array_pieces,
    explain_output as explain_output,
    export_kind as export_kind,
    export_text as export_text,
    loss_output as loss_output,
)
