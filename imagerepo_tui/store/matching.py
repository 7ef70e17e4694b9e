"""MongoDB's matching of a document against a filter, in Python, for the filters
``store.filters`` writes: what the query planner (``store.planner``) checks on the rows
it reads instead of asking the server to scan for them.

Only the forms ``filters`` builds are known (equality, ``$in``, ``$regex`` with
``$options``, ``$gt``/``$gte``/``$lt``/``$lte``, ``$exists``, ``$and``, ``$or``,
``$nor``); ``matchable`` says whether a filter keeps to them, and a filter that does
not is left to the server. Semantics follow the server's, including on documents
other clients wrote: a path steps into arrays of subdocuments, an array field matches
when one of its elements does, and values compare only within their BSON type (a
number with numbers, text with text, a date with dates; a boolean is no number).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bson import ObjectId
from bson.int64 import Int64

Doc = Mapping[str, Any]
_RANGE_OPS = frozenset({"$gt", "$gte", "$lt", "$lte"})
_FIELD_OPS = _RANGE_OPS | {"$in", "$regex", "$options", "$exists"}
_LOGICAL = frozenset({"$and", "$or", "$nor"})
# The scalar types the filters compare with, each with its BSON type bracket: values
# of different brackets are never equal and never compare.
_NUMBER, _TEXT, _BOOL, _ID, _DATE = range(5)


def _bracket(value: Any) -> int | None:
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int | float | Int64):
        return _NUMBER
    if isinstance(value, str):
        return _TEXT
    if isinstance(value, ObjectId):
        return _ID
    if isinstance(value, datetime):
        return _DATE
    return None  # null, subdocuments, arrays, binary, ...: nothing the filters compare with


def _scalar(value: Any) -> bool:
    return _bracket(value) is not None


def matchable(criteria: Any) -> bool:
    """True if ``criteria`` keeps to the forms ``matches`` knows."""
    if not isinstance(criteria, Mapping):
        return False
    for key, value in criteria.items():
        if not isinstance(key, str):
            return False
        if key in _LOGICAL:
            if not isinstance(value, list) or not value:
                return False
            if not all(matchable(part) for part in value):
                return False
        elif key.startswith("$"):
            return False
        elif isinstance(value, Mapping):
            if not _matchable_operators(value):
                return False
        elif not _scalar(value):
            return False
    return True


def _matchable_operators(ops: Mapping[str, Any]) -> bool:
    if not ops or not all(isinstance(op, str) and op in _FIELD_OPS for op in ops):
        return False
    if ("$options" in ops) != ("$regex" in ops):
        return False
    if "$regex" in ops and (
        len(ops) != 2 or not isinstance(ops["$regex"], str) or ops["$options"] != "i"
    ):
        return False
    if "$exists" in ops and (len(ops) != 1 or not isinstance(ops["$exists"], bool)):
        return False
    if "$in" in ops and (
        len(ops) != 1
        or not isinstance(ops["$in"], list)
        or not all(_scalar(value) for value in ops["$in"])
    ):
        return False
    return all(_scalar(ops[op]) and not _nan(ops[op]) for op in ops if op in _RANGE_OPS)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _at(doc: Any, parts: tuple[str, ...]) -> Iterator[Any]:
    """The values at a dotted path, stepping into arrays of subdocuments (one level of
    array at each step, as the server does for a non-numeric path part)."""
    if not parts:
        yield doc
        return
    if isinstance(doc, Mapping):
        if parts[0] in doc:
            yield from _at(doc[parts[0]], parts[1:])
    elif isinstance(doc, list):
        for element in doc:
            if isinstance(element, Mapping) and parts[0] in element:
                yield from _at(element[parts[0]], parts[1:])


def _candidates(doc: Doc, path: str) -> list[Any]:
    """What a comparison at ``path`` tests: each value there and, for an array, each
    of its elements."""
    found: list[Any] = []
    for value in _at(doc, tuple(path.split("."))):
        found.append(value)
        if isinstance(value, list):
            found.extend(value)
    return found


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _same(value: Any, wanted: Any) -> bool:
    bracket = _bracket(value)
    if bracket is None or bracket != _bracket(wanted):
        return False
    if bracket == _DATE:
        return _utc(value) == _utc(wanted)
    return bool(value == wanted)


def _compare(value: Any, op: str, bound: Any) -> bool:
    bracket = _bracket(value)
    if bracket is None or bracket != _bracket(bound) or _nan(value):
        return False
    if bracket == _DATE:
        value, bound = _utc(value), _utc(bound)
    if op == "$gt":
        return bool(value > bound)
    if op == "$gte":
        return bool(value >= bound)
    if op == "$lt":
        return bool(value < bound)
    return bool(value <= bound)


@lru_cache(maxsize=256)
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


def _field_matches(doc: Doc, path: str, condition: Any) -> bool:
    values = _candidates(doc, path)
    if not isinstance(condition, Mapping):
        return any(_same(value, condition) for value in values)
    if "$exists" in condition:
        return bool(values) is bool(condition["$exists"])
    if "$in" in condition:
        wanted = condition["$in"]
        return any(_same(value, item) for value in values for item in wanted)
    if "$regex" in condition:
        pattern = _pattern(condition["$regex"])
        return any(isinstance(value, str) and pattern.search(value) for value in values)
    # Each bound may be met by a different element of an array, as on the server.
    return all(
        any(_compare(value, op, bound) for value in values) for op, bound in condition.items()
    )


def matches(doc: Doc, criteria: Mapping[str, Any]) -> bool:
    """True if ``doc`` matches ``criteria`` (a filter ``matchable`` accepts)."""
    for key, value in criteria.items():
        if key == "$and":
            if not all(matches(doc, part) for part in value):
                return False
        elif key == "$or":
            if not any(matches(doc, part) for part in value):
                return False
        elif key == "$nor":
            if any(matches(doc, part) for part in value):
                return False
        elif not _field_matches(doc, key, value):
            return False
    return True
