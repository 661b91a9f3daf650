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
