"""Make untrusted text safe to show: control, escape, bidi and invisible characters
become visible escapes, so a filename can never drive the terminal or hide itself."""

from __future__ import annotations

import unicodedata

# Characters that reorder or hide text without being "control" characters.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _needs_escape(char: str) -> bool:
    if char in _INVISIBLE:
        return True
    # Cc: C0/C1 controls and DEL; Cs: lone surrogates from undecodable filenames.
    return unicodedata.category(char) in ("Cc", "Cs")


def visible(text: str) -> str:
    """Return ``text`` with every control/bidi/zero-width character written as an escape.

    A backslash is left alone: the result is for display, not for parsing back.
    """
    if text.isprintable() and not any(c in _INVISIBLE for c in text):
        return text
    return "".join(_escape(c) if _needs_escape(c) else c for c in text)


def visible_lines(text: str) -> str:
    """``visible`` line by line: for messages whose own line breaks are meant (a query
    error's caret line, a summary listing refused files)."""
    return "\n".join(visible(line) for line in text.split("\n"))
