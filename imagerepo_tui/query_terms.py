"""What a parsed search is made of: terms over the fields of stored images, and a sort.

``query.parse_query`` builds them from text; ``store.filters`` alone turns them into
MongoDB filters. Collection and owner names are already resolved to what those fields
hold. A query matches what all its terms match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True)
class Sort:
    field: str = "seq"
    descending: bool = True

    @property
    def is_default(self) -> bool:
        return self.field == "seq" and self.descending


@dataclass(frozen=True)
class Equals:
    """``field`` is ``value``, or (for a list field) holds it."""

    field: str
    value: Any


@dataclass(frozen=True)
class OneOf:
    """``field`` equals one of ``values``."""

    field: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Contains:
    """``field`` contains ``text`` literally, ignoring case."""

    field: str
    text: str


@dataclass(frozen=True)
class Range:
    """``field`` between ``low`` and ``high``; None leaves that side open."""

    field: str
    low: Any = None
    high: Any = None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class AllOf:
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class AnyOf:
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Not:
    term: Term


Term: TypeAlias = Equals | OneOf | Contains | Range | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Query:
    """A parsed search: terms that must all match, a sort, and the text it came from."""

    terms: tuple[Term, ...] = ()
    sort: Sort = field(default_factory=Sort)
    text: str = ""
