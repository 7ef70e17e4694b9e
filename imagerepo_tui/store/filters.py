"""Queries and audiences to MongoDB filters: the one place that writes them for
searches and listings. Shaped for the embedded server's planner, which uses an index
only for a flat filter of equalities and at most one range."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from imagerepo_tui.query import INT64_MAX
from imagerepo_tui.query_terms import (
    AllOf,
    AnyOf,
    Contains,
    Equals,
    Not,
    OneOf,
    Query,
    Range,
    Sort,
    Term,
)
from imagerepo_tui.store.models import PUBLIC

Filter = dict[str, Any]

# A boolean, not "deleted_at is null": the embedded server answers equality on a
# boolean from the (trashed, ...) compound indexes but scans for a null test.
LIVE: Filter = {"trashed": False}
IN_TRASH: Filter = {"trashed": True}
# The trash lists the most recently deleted first unless the query sorts otherwise.
TRASH_SORT = Sort("deleted_at", descending=True)


# Fields that hold whole numbers only. The embedded server leaves out the boundary of
# an inclusive upper bound on an index with a further field ((…, size, _id), (…,
# rating, seq)): size:<=1456 missed the image of 1,456 bytes. On whole numbers
# "<= n" is "< n + 1", which it answers right.
INTEGER_FIELDS = frozenset({"rating", "size", "width", "height", "frames"})


def _bounds(term: Range) -> Filter:
    bounds: Filter = {}
    if term.low is not None:
        bounds["$gte" if term.include_low else "$gt"] = term.low
    high, include_high = term.high, term.include_high
    whole = isinstance(high, int) and not isinstance(high, bool)
    if whole and include_high and term.field in INTEGER_FIELDS and high < INT64_MAX:
        high, include_high = high + 1, False
    if high is not None:
        bounds["$lte" if include_high else "$lt"] = high
    return bounds


# Fields added after libraries had images, and what an image without one holds. No
# upgrade writes them into every document (on the embedded server that costs ~6 ms an
# image: ten minutes at 100,000), so a term their default meets (rating:0, rating:<2)
# also matches images without the field; others (rating:>=4) stay index-shaped.
DEFAULTS: dict[str, Any] = {"rating": 0}


def _meets(term: Equals | Range, value: Any) -> bool:
    if isinstance(term, Equals):
        return bool(term.value == value)
    low_ok = term.low is None or value > term.low or (term.include_low and value == term.low)
    high = term.high
    return low_ok and (high is None or value < high or (term.include_high and value == high))


def _or_missing(term: Equals | Range, found: Filter) -> Filter:
    if term.field in DEFAULTS and _meets(term, DEFAULTS[term.field]):
        return {"$or": [found, {term.field: {"$exists": False}}]}
    return found


def condition(term: Term) -> Filter:
    """The filter matching ``term``. Values go in only as values, never as keys or
    operators, and substrings as escaped regexes: user text stays literal."""
    match term:
        case Equals(field, value):
            return _or_missing(term, {field: value})
        case OneOf(field, values):
            return {field: {"$in": list(values)}}
        case Contains(field, text):
            # Raw $regex with $options: the form the embedded server answers (a
            # compiled Python regex silently matches nothing there).
            return {field: {"$regex": re.escape(text), "$options": "i"}}
        case Range(field):
            return _or_missing(term, {field: _bounds(term)})
        case AllOf(terms):
            return {"$and": [condition(inner) for inner in terms]}
        case AnyOf(terms):
            return {"$or": [condition(inner) for inner in terms]}
        case Not(inner):
            return {"$nor": [condition(inner)]}
    raise TypeError(f"not a query term: {term!r}")


def combine(conditions: Sequence[Filter]) -> Filter:
    """AND the conditions as one flat document where their fields do not overlap,
    with ``$and`` only for the rest: the embedded server can use an index for a flat
    filter but scans for any top-level operator."""
    flat: Filter = {}
    rest: list[Filter] = []
    for part in conditions:
        if any(key.startswith("$") or key in flat for key in part):
            rest.append(part)
        else:
            flat.update(part)
    if rest:
        flat["$and"] = rest
    return flat


def query_filter(query: Query) -> Filter:
    """The filter of everything ``query`` matches, audiences and trash aside."""
    return combine([condition(term) for term in query.terms])


def audience_filters(query: Query, audiences: Sequence[str], *, trash: bool) -> list[Filter]:
    """``query`` as disjoint filters, one per audience that may see the images (what
    ``Pager.page`` merges): live images or, with ``trash``, trashed ones."""
    criteria = query_filter(query)
    public = criteria.get("public")
    if not trash and isinstance(public, bool):
        # is:public / is:private pick the audience rather than filter a field no
        # index holds: outside the trash, public means audience PUBLIC.
        criteria = {key: value for key, value in criteria.items() if key != "public"}
        audiences = [PUBLIC] if public else [a for a in audiences if a != PUBLIC]
    base = IN_TRASH if trash else LIVE
    return [combine([base, {"audience": audience}, criteria]) for audience in audiences]


def listing_sort(query: Query, *, trash: bool) -> Sort:
    return TRASH_SORT if trash and query.sort.is_default else query.sort
