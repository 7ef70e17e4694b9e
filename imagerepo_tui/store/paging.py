"""Pages, counts and id streams over image filters, each by the strategy the server
at hand answers from an index: bounded ``seq`` windows, keyset bounds or offsets, or
(for what no index serves on the embedded server) a plan of ``store.planner``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from imagerepo_tui.store.common import LIST_PROJECTION, Documents, SeqWindows, database_errors
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.models import Counter
from imagerepo_tui.store.planner import Plan, Planner
from imagerepo_tui.store.schema import SEQ_COUNTER

Filter = Mapping[str, Any]
Doc = dict[str, Any]


def _index_shaped(criteria: Filter) -> bool:
    """Equalities plus at most one range, no operators at the top: the only filters
    the embedded server answers from an index."""
    ranges = sum(isinstance(value, dict) for value in criteria.values())
    return ranges <= 1 and not any(key.startswith("$") for key in criteria)


def _server_filter(criteria: Filter) -> Doc:
    """What to send the embedded server for a filter it will scan anyway: without the
    live/trashed test, which (measured at 100k images) makes its scan ten times
    slower; ``_without_trashed`` applies that test to the page instead."""
    if _index_shaped(criteria) or criteria.get("trashed") is not False:
        return dict(criteria)
    return {key: value for key, value in criteria.items() if key != "trashed"}


def _one_scan(parts: Sequence[Filter]) -> list[Filter]:
    """Parts (one per audience) that no index serves are each a full scan on the
    embedded server when counted: count once, with the audiences as ``$in``, which
    would cost an indexed filter its index but costs a scan nothing (a combined
    search at 100,000 images: 8.6 s instead of 15-16 s). Pages need no such help:
    without the live test (``_server_filter``) the second part's scan is cheap."""
    if len(parts) < 2 or any(_index_shaped(part) for part in parts):
        return list(parts)
    others = [{key: value for key, value in part.items() if key != "audience"} for part in parts]
    if any("audience" not in part for part in parts) or any(o != others[0] for o in others):
        return list(parts)
    return [{**parts[0], "audience": {"$in": [part["audience"] for part in parts]}}]


# MongoDB's order of BSON types when sorting (null first), checked in this order:
# bool before int, since a bool is an int to Python but not to BSON.
_SORT_RANKS: tuple[tuple[type | tuple[type, ...], int], ...] = (
    (type(None), 0),
    (bool, 7),
    ((int, float), 1),
    (str, 2),
    (dict, 3),
    ((list, tuple), 4),
    (bytes, 5),
    (ObjectId, 6),
    (datetime, 8),
)
# Ranks whose values Python can order among themselves.
_COMPARABLE = frozenset({1, 2, 6, 7, 8})


def _sort_rank(value: Any) -> int:
    return next((rank for kinds, rank in _SORT_RANKS if isinstance(value, kinds)), 9)


def _merged(pages: Sequence[list[Doc]], field: str, descending: bool, limit: int) -> list[Doc]:
    """The first ``limit`` of several pages of disjoint matches, in (field, _id) order
    (a missing field sorts first ascending, as MongoDB sorts null)."""
    if len(pages) == 1:
        return pages[0][:limit]

    def order(doc: Doc) -> tuple[Any, ...]:
        # By type first, as MongoDB sorts: a string where numbers are (written by
        # another client) must not make Python compare the two and fail.
        value = doc.get(field)
        rank = _sort_rank(value)
        return (rank, value if rank in _COMPARABLE else 0, doc["_id"])

    return sorted((doc for page in pages for doc in page), key=order, reverse=descending)[:limit]


def _without_trashed(docs: list[Doc], criteria: Filter) -> list[Doc]:
    if criteria.get("trashed") is False:
        return [doc for doc in docs if not doc.get("trashed")]
    return docs


def _equalities(parts: Sequence[Filter]) -> bool:
    return all(
        not key.startswith("$") and not isinstance(value, dict)
        for criteria in parts
        for key, value in criteria.items()
    )


class Pager:
    """Reads of image documents matching disjoint filters ("parts"), never whole."""

    def __init__(self, store: Store, images: Documents) -> None:
        self.store = store
        self.images = images
        self.planner = Planner(store, images)
        # Off, every filter goes to the server whole (the tests compare both answers).
        self.planning = True

    def newest_seq(self) -> int:
        with database_errors(self.store):
            counter = Counter.objects(name=SEQ_COUNTER).as_pymongo().first()
        return int(counter["value"]) if counter else 0

    def page(
        self,
        parts: Sequence[Filter],
        limit: int,
        *,
        field: str = "seq",
        descending: bool = True,
        after: Any = None,
    ) -> tuple[list[Doc], Any]:
        """Up to ``limit`` images matching any of ``parts`` in ``field`` order,
        continuing from the cursor ``after``; returns them and the cursor for the next
        page (None after the last). Cursors are opaque tuples, only valid for the same
        query.

        ``parts`` are disjoint filters (what a user sees is their own images plus
        everyone's public ones: two equalities on ``audience``, where ``$in`` would
        make the embedded server scan); each is paged on its own and the pages merged.

        Three strategies, picked by what the server can answer from an index:
        bounded ``seq`` windows for equality filters in upload order (the embedded
        server reads every document for an open-ended ``sort().limit()``), keyset
        paging on (field, _id) otherwise, and offsets on the embedded server (it uses
        an index only if the whole filter fits one, so an added keyset bound would
        make it scan; an offset into the indexed matches does not).
        """
        if field == "seq":
            planned = self._planned(parts, limit, descending, after)
            if planned is not None:
                return planned
        if field == "seq" and _equalities(parts):
            return self._by_seq(parts, limit, descending, after)
        if self.store.simple_planner:
            return self._by_offset(parts, limit, field, descending, after)
        bound = after[1:] if after else None
        pages = [self._keyset_page(part, limit, field, descending, bound) for part in parts]
        docs = _merged(pages, field, descending, limit)
        if len(docs) < limit:
            return docs, None
        return docs, ("key", docs[-1].get(field), docs[-1]["_id"])

    def _by_seq(
        self, parts: Sequence[Filter], limit: int, descending: bool, after: Any
    ) -> tuple[list[Doc], Any]:
        newest = self.newest_seq()
        start = after[1] if after else None
        pages = [self._seq_page(part, limit, descending, start, newest) for part in parts]
        docs = _merged(pages, "seq", descending, limit)
        return docs, ("seq", docs[-1]["seq"]) if len(docs) == limit else None

    def _plans(
        self, parts: Sequence[Filter], known: Any = None
    ) -> tuple[list[Plan], int, tuple[int, ...]] | None:
        """The planner's plans for ``parts``, the newest upload number they were
        chosen at and which candidates they are, or None where the parts go to the
        server whole."""
        options = self.planner.options(parts) if self.planning else None
        if options is None:
            return None
        newest = self.newest_seq()
        chosen = self.planner.choose(options, newest, known)
        return [plans[index] for plans, index in zip(options, chosen, strict=True)], newest, chosen

    def _planned(
        self, parts: Sequence[Filter], limit: int, descending: bool, after: Any
    ) -> tuple[list[Doc], Any] | None:
        """A page by the planner's plans (in the order of ``_by_seq``), or None when the
        parts have none. The cursor also names the plans, for the next page."""
        planned = self._plans(parts, after[2] if after and len(after) > 2 else None)
        if planned is None:
            return None
        plans, newest, chosen = planned
        start = after[1] if after else None
        pages = [self.planner.page(plan, limit, descending, start, newest) for plan in plans]
        docs = _merged(pages, "seq", descending, limit)
        return docs, ("seq", docs[-1]["seq"], chosen) if len(docs) == limit else None

    def _by_offset(
        self, parts: Sequence[Filter], limit: int, field: str, descending: bool, after: Any
    ) -> tuple[list[Doc], Any]:
        offsets = after[1] if after else (0,) * len(parts)
        pages = [
            self._offset_page(part, limit, field, descending, offset)
            for part, offset in zip(parts, offsets, strict=True)
        ]
        docs = _merged(pages, field, descending, limit)
        chosen = {doc["_id"] for doc in docs}
        offsets = tuple(
            offset + sum(doc["_id"] in chosen for doc in page)
            for offset, page in zip(offsets, pages, strict=True)
        )
        cursor = ("offset", offsets) if len(docs) == limit else None
        return _without_trashed(docs, parts[0]), cursor

    def _offset_page(
        self, criteria: Filter, limit: int, field: str, descending: bool, offset: int
    ) -> list[Doc]:
        direction = DESCENDING if descending else ASCENDING
        with database_errors(self.store):
            cursor = self.images.find(_server_filter(criteria), LIST_PROJECTION)
            cursor = cursor.sort([(field, direction), ("_id", direction)])
            return list(cursor.skip(offset).limit(limit))

    def _seq_page(
        self, criteria: Filter, limit: int, descending: bool, after: int | None, newest: int
    ) -> list[Doc]:
        """Pages in upload order ask for growing bounded ``seq`` windows rather than one
        open-ended sorted query: the embedded server reads every document for
        ``sort().limit()`` but answers a bounded range on an indexed field from the
        index. Real MongoDB answers both from the index."""
        window = max(limit * 2, 256)
        found: list[Doc] = []
        windows = SeqWindows(descending, after, newest, window)
        with database_errors(self.store):
            while windows and len(found) < limit:
                query = {**criteria, "seq": windows.bounds()}
                cursor = self.images.find(query, LIST_PROJECTION)
                cursor = cursor.sort("seq", DESCENDING if descending else ASCENDING)
                wanted = limit - len(found)  # in one batch: no getMore round trip
                found.extend(cursor.limit(wanted).batch_size(wanted))
                window *= 4
                windows.advance(window)
        return found

    def _keyset_page(
        self,
        criteria: Filter,
        limit: int,
        field: str,
        descending: bool,
        after: tuple[Any, ObjectId] | None,
    ) -> list[Doc]:
        direction = DESCENDING if descending else ASCENDING
        query: Doc = dict(criteria)
        if after is not None:
            value, last_id = after
            beyond = "$lt" if descending else "$gt"
            query = {
                "$and": [
                    dict(criteria),
                    {"$or": [{field: {beyond: value}}, {field: value, "_id": {beyond: last_id}}]},
                ]
            }
        with database_errors(self.store):
            cursor = self.images.find(query, LIST_PROJECTION)
            return list(cursor.sort([(field, direction), ("_id", direction)]).limit(limit))

    def _scanned(self, parts: Sequence[Filter]) -> list[Filter]:
        return _one_scan(parts) if self.store.simple_planner else list(parts)

    def count(self, parts: Sequence[Filter]) -> int:
        planned = self._plans(parts)
        if planned is not None:
            return self.planner.count(planned[0])
        with database_errors(self.store):
            return sum(
                self.images.count_documents(dict(criteria)) for criteria in self._scanned(parts)
            )

    def ids(self, parts: Sequence[Filter]) -> Iterator[ObjectId]:
        """Every matching id, streamed by the driver in batches, never held whole."""
        for doc in self.rows(parts, {"_id": 1}, scanned=True):
            yield doc["_id"]

    def rows(
        self, parts: Sequence[Filter], projection: Mapping[str, Any], *, scanned: bool = False
    ) -> Iterator[Doc]:
        """Every match, with at least the fields of ``projection`` (an inclusion), in
        no particular order; ``scanned``: parts no index serves are read in one scan."""
        planned = self._plans(parts)
        if planned is not None:
            yield from self.planner.rows(planned[0], projection)
            return
        with database_errors(self.store):
            for criteria in self._scanned(parts) if scanned else parts:
                yield from self.images.find(dict(criteria), projection).batch_size(1000)
