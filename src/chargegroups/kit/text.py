"""The one rule for text from outside (API bodies, CSV imports): what may be stored."""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls: no name, email or uid holds one, and a NUL is refused by
# PostgreSQL yet stored by SQLite.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def text_problem(value: str) -> str | None:
    """Any text: a NUL (PostgreSQL cannot store it; SQLite would, silently)."""
    return "must not contain NUL characters" if "\x00" in value else None


def line_problem(value: str) -> str | None:
    """One line of text (a name, an email, a uid): no control character at all."""
    return "must not contain control characters" if _CONTROL.search(value) else None
