"""The query language's words: search text split into terms (``key:value``, negation,
quotes), with what no query may hold refused at its column.

``query.parse_query`` turns these tokens into query terms; the language itself is
described there.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from imagerepo_tui.errors import ImageRepoError

# Caps that keep odd input a usage error rather than a server error: no one types a
# search longer than a few lines.
MAX_QUERY_CHARS = 4000
MAX_TERM_CHARS = 1000
# Whitespace separates terms; every other control character (NUL included, which the
# server refuses in a regex) and lone surrogates (undecodable bytes in argv, which BSON
# cannot encode) are refused where they stand.
_SEPARATORS = frozenset("\t\n\r")


class QueryError(ImageRepoError):
    """Invalid search text; ``column`` (1-based) points at the bad part."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (at column {column})")
        self.column = column


@dataclass(frozen=True)
class Token:
    negated: bool
    key: str | None  # None for a free word
    value: str
    column: int  # 1-based column of the token's first character


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Value of a double-quoted string starting at ``text[start] == '"'``."""
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), index + 1
        out.append(char)
        index += 1
    raise QueryError("unclosed quote", start + 1)


def _read_value(text: str, start: int) -> tuple[str, int]:
    """A bare or quoted value; a bare one may hold quoted parts (``name:"a b"c``)."""
    out: list[str] = []
    index = start
    while index < len(text) and not text[index].isspace():
        if text[index] == '"':
            quoted, index = _read_quoted(text, index)
            out.append(quoted)
        else:
            out.append(text[index])
            index += 1
    return "".join(out), index


_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):")


def _check_text(text: str) -> None:
    """Refuse what no query needs and the database would choke on, at its column."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is too long (at most {MAX_QUERY_CHARS:,} characters)", MAX_QUERY_CHARS + 1
        )
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cs":
            raise QueryError("undecodable bytes: a query is text", index + 1)
        if category == "Cc" and char not in _SEPARATORS:
            raise QueryError(f"control character U+{ord(char):04X} in the query", index + 1)


def _field_name(written: str) -> str:
    """A field in any case (``TAG:``), but a custom field's own key as written:
    ``meta.Trip`` is not ``meta.trip``."""
    head, dot, rest = written.partition(".")
    return head.lower() + dot + rest


def tokenize(text: str) -> list[Token]:
    _check_text(text)
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        start = index
        if text[index] == "-" and (index + 1 == len(text) or text[index + 1].isspace()):
            raise QueryError(
                'a lone "-" negates nothing (write "-" in quotes to find it)', start + 1
            )
        negated = text[index] == "-"
        if negated:
            index += 1
        match = _KEY.match(text, index)
        key = None
        if match:
            key = _field_name(match.group(1))
            index = match.end()
        value, index = _read_value(text, index)
        if key is not None and value == "":
            raise QueryError(f"{key}: needs a value", start + 1)
        if len(value) > MAX_TERM_CHARS:
            raise QueryError(
                f"a term is too long (at most {MAX_TERM_CHARS:,} characters)", start + 1
            )
        tokens.append(Token(negated, key, value, start + 1))
    return tokens
