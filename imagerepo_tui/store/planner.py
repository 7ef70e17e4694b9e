"""Query planning for the embedded server: a search no single index serves is asked
for its most selective indexed part only, and the rest is checked here on the rows
read (``store.matching``), a bounded batch at a time, newest first.

The embedded server uses an index only when the whole filter fits one (equalities on
an index's leading fields, then at most one range); any other filter is a full scan
(``sunset tag:beach taken:2019..2022 width:>1000``: 7-11 s at 100,000 images, where
``tag:beach`` alone takes ~25 ms). Every image index starts with ``trashed`` and
``audience``, so a part (one audience's filter, ``filters.audience_filters``) with an
equality on a field of a (trashed, audience, field, seq) index is read as bounded
``seq`` windows of that equality alone: the index answers each window, and the
window's rows are checked against the rest of the filter with the server's own
semantics. ``similar:ID`` (a few ids) is read by id through (trashed, audience, _id).

A part with no such equality, or with nothing besides it, is not planned: the
caller's own path is what the server answers best there. Pages list images by their
upload number (``seq``), like every listing in upload order (``Pager._by_seq``); a
document without a numeric one (damaged) is counted but not listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING

from imagerepo_tui.store.common import LIST_PROJECTION, Documents, SeqWindows, database_errors
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.matching import matchable, matches

Filter = Mapping[str, Any]
Doc = dict[str, Any]

# Fields with a (trashed, audience, field, seq) index: an equality on one is read in
# bounded seq windows from that index. In the order preferred when the probe finds
# them alike (albums and words are usually the narrowest).
INDEXED_EQUALITIES = (
    "collections",
    "keywords",
    "tag_keys",
    "owner",
    "rating",
    "favorite",
    "format",
    "shape",
)
_BASE = ("trashed", "audience")
# Upload numbers the probe looks at (newest first) to pick the narrowest equality.
PROBE_WINDOW = 1024
# Upload numbers of a page's first window, newest first.
FIRST_WINDOW = 256
# Ids of ``similar:ID`` read per round trip.
ID_BATCH = 1000


@dataclass(frozen=True)
class Plan:
    """One part as the server is asked it (``base``, which an index serves) and what
    is checked on each row read (``rest``). ``ids``: base picks rows by ``_id``."""

    base: Filter
    rest: Filter
    ids: bool = False

    def check(self, doc: Doc) -> bool:
        return matches(doc, self.rest)

    def fields(self) -> dict[str, int]:
        """A projection of what ``rest`` reads (top-level fields), plus seq."""
        return {name: 1 for name in {"seq", *_top_fields(self.rest)}}


def _top_fields(criteria: Any) -> Iterator[str]:
    if isinstance(criteria, list):
        for part in criteria:
            yield from _top_fields(part)
        return
    for key, value in criteria.items():
        if key.startswith("$"):
            yield from _top_fields(value)
        else:
            yield key.split(".", 1)[0]


def _scalar_equality(value: Any) -> bool:
    return matchable({"x": value}) and not isinstance(value, Mapping)


def _conjuncts(criteria: Filter) -> list[tuple[str, Any]]:
    """``criteria`` as the (key, condition) pairs that must all hold, ``$and``s
    opened (``filters.combine`` nests a query with operators in one)."""
    found: list[tuple[str, Any]] = []
    for key, value in criteria.items():
        if key == "$and":
            for part in value:
                found.extend(_conjuncts(part))
        else:
            found.append((key, value))
    return found


def _all_of(pairs: Sequence[tuple[str, Any]]) -> Filter:
    return {"$and": [{key: value} for key, value in pairs]}


def _driver(key: str, value: Any) -> bool:
    if key == "_id":
        return isinstance(value, Mapping) and list(value) == ["$in"]
    return key in INDEXED_EQUALITIES and _scalar_equality(value)


def candidate_plans(part: Filter) -> list[Plan]:
    """The ways ``part`` can be read from an index and checked here, best first; none
    if it has no indexed equality, nothing else to check, or a form ``matching``
    does not know."""
    if not matchable(part):
        return []
    pairs = _conjuncts(part)
    base = {}
    for key in _BASE:
        value = next((value for name, value in pairs if name == key), None)
        if not _scalar_equality(value):
            return []
        base[key] = value
        pairs.remove((key, value))
    if len(pairs) < 2:
        return []  # nothing to check besides the index's equality: the server's own
    drivers = [(key, value) for key, value in pairs if _driver(key, value)]
    ids = [(key, value) for key, value in drivers if key == "_id"]
    if ids:
        drivers = ids[:1]
    else:
        drivers.sort(key=lambda pair: INDEXED_EQUALITIES.index(pair[0]))
    plans = []
    for pair in drivers:
        rest = list(pairs)
        rest.remove(pair)
        plans.append(Plan({**base, pair[0]: pair[1]}, _all_of(rest), ids=pair[0] == "_id"))
    return plans


def _next_window(window: int, covered: int, found: int, limit: int) -> int:
    """Upload numbers to read next: as many as the matches found so far say the rest
    of the page needs (and a quarter more), at most four times the last window. A
    window is read whole by the server, so one far too large costs what it holds."""
    if not found:
        return window * 4
    needed = covered * (limit - found) * 5 // (found * 4)
    return max(FIRST_WINDOW, min(window * 4, needed))


def _seq_of(doc: Doc) -> Any:
    return doc.get("seq")


def _numeric_seq(doc: Doc) -> bool:
    seq = doc.get("seq")
    return isinstance(seq, int | float) and not isinstance(seq, bool) and seq == seq


class Planner:
    """Pages, counts and id streams of parts by their plans (``candidate_plans``)."""

    def __init__(self, store: Store, images: Documents) -> None:
        self.store = store
        self.images = images

    def options(self, parts: Sequence[Filter]) -> list[list[Plan]] | None:
        """Each part's candidate plans, or None if a part has none (its filter is
        one the server serves from an index, or one only the server can check)."""
        if not self.store.simple_planner or not parts:
            return None
        found = [candidate_plans(part) for part in parts]
        return found if all(found) else None

    def choose(
        self, options: Sequence[Sequence[Plan]], newest: int, known: Any = None
    ) -> tuple[int, ...]:
        """Which candidate of each part to read by: ``known`` (what a cursor of the
        same query carries, so that later pages need not probe again) if it fits,
        else the narrowest."""
        if (
            isinstance(known, tuple)
            and len(known) == len(options)
            and all(
                type(index) is int and 0 <= index < len(plans)
                for index, plans in zip(known, options, strict=True)
            )
        ):
            return known
        return tuple(0 if len(plans) == 1 else self._narrowest(plans, newest) for plans in options)

    def _narrowest(self, options: Sequence[Plan], newest: int) -> int:
        """The option whose equality holds for the fewest of the newest images: one
        indexed, bounded read each (ties: the first)."""
        window = {"$gte": max(0, newest + 1 - PROBE_WINDOW), "$lt": newest + 1}
        sizes = []
        with database_errors(self.store):
            for plan in options:
                cursor = self.images.find({**plan.base, "seq": window}, {"_id": 1})
                sizes.append(sum(1 for _ in cursor))
        return sizes.index(min(sizes))

    # -- pages --------------------------------------------------------------------------

    def page(self, plan: Plan, limit: int, descending: bool, after: Any, newest: int) -> list[Doc]:
        """Up to ``limit`` matches of one part in seq order after the seq ``after``.
        Rows are read with only what the check needs, and the matches again whole by
        ``_id`` (a point lookup): most rows read are not shown."""
        if plan.ids:
            found = self._ids_page(plan, limit, descending, after)
        else:
            found = self._window_page(plan, limit, descending, after, newest)
        if not found:
            return []
        with database_errors(self.store):
            whole = {
                doc["_id"]: doc
                for doc in self.images.find(
                    {"_id": {"$in": [d["_id"] for d in found]}}, LIST_PROJECTION
                )
            }
        # One deleted between the two reads is left out, as it would be a moment later.
        return [whole[doc["_id"]] for doc in found if doc["_id"] in whole]

    def _window_page(
        self, plan: Plan, limit: int, descending: bool, after: Any, newest: int
    ) -> list[Doc]:
        window = max(limit * 2, FIRST_WINDOW)
        found: list[Doc] = []
        windows = SeqWindows(descending, after, newest, window)
        fields = plan.fields()
        covered = 0
        with database_errors(self.store):
            while windows and len(found) < limit:
                query = {**plan.base, "seq": windows.bounds()}
                cursor = self.images.find(query, fields)
                for doc in cursor.sort("seq", DESCENDING if descending else ASCENDING):
                    if plan.check(doc):
                        found.append(doc)
                        if len(found) == limit:
                            break
                covered += windows.high - windows.low
                window = _next_window(window, covered, len(found), limit)
                windows.advance(window)
        return found

    def _ids_page(self, plan: Plan, limit: int, descending: bool, after: Any) -> list[Doc]:
        docs = [
            doc
            for doc in self._rows(plan, plan.fields())
            if _numeric_seq(doc)
            and (after is None or (doc["seq"] < after if descending else doc["seq"] > after))
        ]
        docs.sort(key=_seq_of, reverse=descending)
        return docs[:limit]

    # -- whole answers ------------------------------------------------------------------

    def _rows(self, plan: Plan, projection: Mapping[str, Any]) -> Iterator[Doc]:
        """Every row of ``plan.base`` that passes ``plan.check``, in batches."""
        with database_errors(self.store):
            if plan.ids:
                wanted = list(plan.base["_id"]["$in"])
                for start in range(0, len(wanted), ID_BATCH):
                    chunk = {**plan.base, "_id": {"$in": wanted[start : start + ID_BATCH]}}
                    yield from filter(plan.check, self.images.find(chunk, projection))
                return
            cursor = self.images.find(dict(plan.base), projection).batch_size(1000)
            yield from filter(plan.check, cursor)

    def rows(self, plans: Sequence[Plan], projection: Mapping[str, Any]) -> Iterator[Doc]:
        """Every match of the parts, with the fields of ``projection`` (an inclusion)
        and those the checks read."""
        for plan in plans:
            yield from self._rows(plan, {**projection, **plan.fields()})

    def count(self, plans: Sequence[Plan]) -> int:
        return sum(1 for _ in self.rows(plans, {"_id": 1}))
