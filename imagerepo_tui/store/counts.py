"""Exact image counts per audience, live and in the trash, kept with every write.

Counting the documents of a large library takes seconds on servers that scan to
count (the embedded one among them); the status line wants its number at once. So
every write that adds, removes or moves an image between audiences, or in and out of
the trash, also adds to the counts it changes: one ``$inc`` per count, after the
image's own write. MongoDB without transactions cannot make the two writes one, so a
process killed between them, or another client writing images directly, leaves a
count off; ``check`` compares every count with a fresh one and ``check --repair``
puts them right. A library that has never been counted is counted on first open.
"""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import PyMongoError

from imagerepo_tui.store.common import Documents, database_errors
from imagerepo_tui.store.connection import Store

COUNTS = "image_counts"
# Present once the library has been counted: every later write keeps the counts.
READY = "ready"


def count_key(audience: object, trashed: object) -> str | None:
    """The count an image document is in; None for one whose fields no list matches
    (another client's wrong types), which no list shows and no count holds."""
    if not isinstance(audience, str) or not isinstance(trashed, bool):
        return None
    return f"{'trash' if trashed else 'live'}:{audience}"


def _key_of(doc: Mapping[str, Any] | None) -> str | None:
    return None if doc is None else count_key(doc.get("audience"), doc.get("trashed"))


class ImageCounts:
    """The kept counts of one library's images."""

    def __init__(self, store: Store, images: Documents) -> None:
        self.store = store
        self.images = images
        self.counts: Documents = store.db[COUNTS]

    def ensure_counted(self) -> None:
        """Count the library once, the first time this version opens it."""
        with database_errors(self.store):
            if self.counts.find_one({"_id": READY}, {"_id": 1}) is None:
                self.rewrite(self.recount())
                self.counts.update_one({"_id": READY}, {"$set": {"n": 0}}, upsert=True)

    # -- keeping them -------------------------------------------------------------------

    def changed(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
        """One image went from ``before`` to ``after`` (None: it did not exist / no
        longer does); only the audience and trashed fields matter."""
        self.moved([(before, after)])

    def moved(
        self, changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]]
    ) -> None:
        """Many such changes in one round trip (a batch of uploads, say)."""
        deltas: Tally[str] = Tally()
        for before, after in changes:
            old, new = _key_of(before), _key_of(after)
            if old == new:
                continue
            if old is not None:
                deltas[old] -= 1
            if new is not None:
                deltas[new] += 1
        updates = [
            UpdateOne({"_id": key}, {"$inc": {"n": delta}}, upsert=True)
            for key, delta in sorted(deltas.items())
            if delta
        ]
        if updates:
            # The images are written already: a count that cannot follow them now is
            # the same as a process killed here, and must not report a stored image
            # as failed. ``check`` finds the difference.
            with contextlib.suppress(PyMongoError):
                self.counts.bulk_write(updates, ordered=False)

    # -- reading them -------------------------------------------------------------------

    def total(self, audiences: Sequence[str], *, trash: bool) -> int:
        """How many images these audiences see, live or trashed."""
        keys = [count_key(audience, trash) for audience in audiences]
        with database_errors(self.store):
            docs = list(self.counts.find({"_id": {"$in": keys}}, {"n": 1}))
        # A count another client broke must not break the status line: it reads as 0
        # here, and ``check`` names it.
        return max(0, sum(int(doc["n"]) for doc in docs if type(doc.get("n")) is int))

    def stored(self) -> dict[str, object]:
        """Every kept count as it stands, the ready marker left out."""
        with database_errors(self.store):
            return {
                str(doc["_id"]): doc.get("n") for doc in self.counts.find() if doc["_id"] != READY
            }

    # -- checking and repairing ---------------------------------------------------------

    def recount(self) -> dict[str, int]:
        """The counts as the documents say now: one pass over the collection."""
        tally: Tally[str] = Tally()
        with database_errors(self.store):
            for doc in self.images.find({}, {"audience": 1, "trashed": 1}).batch_size(2000):
                key = _key_of(doc)
                if key is not None:
                    tally[key] += 1
        return dict(tally)

    def differences(self, fresh: Mapping[str, int]) -> dict[str, tuple[object, int]]:
        """Counts that disagree with ``fresh``: key -> (kept, actual)."""
        kept = self.stored()
        wrong: dict[str, tuple[object, int]] = {}
        for key in sorted(set(kept) | set(fresh)):
            actual = fresh.get(key, 0)
            held = kept.get(key, 0)
            if type(held) is not int or held != actual:
                wrong[key] = (held, actual)
        return wrong

    def rewrite(self, fresh: Mapping[str, int]) -> None:
        """Replace every count with ``fresh`` (what ``recount`` gave)."""
        with database_errors(self.store):
            for key, value in fresh.items():
                self.counts.update_one({"_id": key}, {"$set": {"n": value}}, upsert=True)
            self.counts.delete_many({"_id": {"$nin": [*fresh, READY]}})
