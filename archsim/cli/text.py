"""Names from inputs shown on the terminal: rich markup escaped ('[/bold]' in an op name is
text, not a tag: unescaped it is a MarkupError) and control characters replaced (an ESC in a
layer name must not drive the terminal)."""
from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text) -> str:
    """`text` with control characters shown as '?' (for print())."""
    return _CONTROL.sub("?", str(text))


def cell(text) -> str:
    """`text` for a rich Table cell or console.print: control characters replaced, markup
    escaped."""
    from rich.markup import escape
    return escape(plain(text))


def print_study_tail(console, res, json_dest: str | None) -> None:
    """What `reproduce` and `sensitivity` print after their table: the study's notes and
    plots (as cells), then its rows as a JSON list to `json_dest` ('-': stdout; a file is
    written atomically and reported)."""
    import sys

    from archsim.io_safe import atomic_write_text, json_text
    for note in res.notes:
        console.print(f"note: {cell(note)}")
    for p in res.plots:
        console.print(f"plot: {cell(p)}")
    if json_dest:
        text = json_text(res.rows, indent=1)
        if json_dest == "-":
            sys.stdout.write(text + "\n")
        else:
            atomic_write_text(json_dest, text, flag="--json")
            console.print(f"wrote {len(res.rows)} rows to {json_dest}")
