"""Perceptual hashes in the store: the band lookups that find near-duplicate candidates,
the stream of hashes a search matches, and the resumable backfill's reads and writes.

Every filter starts with ``trashed`` and ``audience``, as the indexes do
(``models.Image``): one equality query per band value and audience, which the
embedded server answers from the (trashed, audience, phash_bands) index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, UpdateOne

from imagerepo_tui.query_terms import Query
from imagerepo_tui.store.common import LIST_PROJECTION, database_errors, hash_fields
from imagerepo_tui.store.filters import LIVE, audience_filters
from imagerepo_tui.store.images import ImageStore
from imagerepo_tui.store.models import HASHED_UP_TO, LIBRARY_STATE

# What grouping reads of an image: its id and hash (the bands are derived from it).
HASH_PROJECTION = {"_id": 1, "phash": 1}
# What the backfill reads of every image; and of those without a hash, the thumbnail to
# hash and the original's id as a fallback (most already have one: not read for them).
_BACKFILL_PROJECTION = {"_id": 1, "seq": 1, "phash": 1}
_SOURCE_PROJECTION = {"_id": 1, "thumbnail": 1, "file_id": 1}
# Upload numbers per backfill step: one bounded seq range per audience and state.
BACKFILL_WINDOW = 500


class HashStore:
    """Reads and writes of perceptual hashes beside the image documents."""

    def __init__(self, images: ImageStore) -> None:
        self._store = images.store
        self._images = images.images
        self._originals = images.originals
        self._pager = images.pager
        self._state = self._images.database[LIBRARY_STATE]

    def sharing_bands(
        self, values: Iterable[int], audiences: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Live images of these audiences holding any of the band ``values``: one
        indexed equality query per value and audience, each image once."""
        found: dict[Any, dict[str, Any]] = {}
        with database_errors(self._store):
            for audience in audiences:
                for value in values:
                    criteria = {**LIVE, "audience": audience, "phash_bands": value}
                    for doc in self._images.find(criteria, HASH_PROJECTION):
                        found.setdefault(doc["_id"], doc)
        return list(found.values())

    def hashes(self, query: Query, audiences: Sequence[str]) -> Iterator[dict[str, Any]]:
        """``{_id, phash}`` of every live match of ``query`` these audiences see,
        streamed in batches (grouping a whole library reads each image once)."""
        parts = audience_filters(query, audiences, trash=False)
        yield from self._pager.rows(parts, HASH_PROJECTION)

    def documents(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The listing documents of these images (by ``_id``, the primary index)."""
        with database_errors(self._store):
            return list(self._images.find({"_id": {"$in": list(ids)}}, LIST_PROJECTION))

    def newest_seq(self) -> int:
        return self._pager.newest_seq()

    def hash_of(self, image_id: Any) -> Any:
        """The stored ``phash`` value of one image, whatever it is (checked by the caller)."""
        with database_errors(self._store):
            doc = self._images.find_one({"_id": image_id}, {"phash": 1}) or {}
        return doc.get("phash")

    # -- the backfill -------------------------------------------------------------------

    def hashed_up_to(self, owner: str) -> int:
        """The upload number up to which ``owner``'s backfill has hashed."""
        with database_errors(self._store):
            doc = self._state.find_one({"_id": HASHED_UP_TO + owner}) or {}
        seq = doc.get("seq")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0

    def record_progress(self, owner: str, seq: int) -> None:
        with database_errors(self._store):
            self._state.update_one(
                {"_id": HASHED_UP_TO + owner}, {"$set": {"seq": seq}}, upsert=True
            )

    def backfill_window(
        self, audiences: Sequence[str], low: int, high: int
    ) -> list[dict[str, Any]]:
        """Images of these audiences, live or trashed, uploaded as numbers ``low`` to
        ``high`` - 1 (bounded ranges on the indexed upload number)."""
        found: list[dict[str, Any]] = []
        with database_errors(self._store):
            for trashed in (False, True):
                for audience in audiences:
                    criteria = {
                        "trashed": trashed,
                        "audience": audience,
                        "seq": {"$gte": low, "$lt": high},
                    }
                    cursor = self._images.find(criteria, _BACKFILL_PROJECTION)
                    found.extend(cursor.sort("seq", ASCENDING))
        return found

    def sources(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """Thumbnails and original ids of these images, to hash them."""
        if not ids:
            return []
        with database_errors(self._store):
            return list(self._images.find({"_id": {"$in": list(ids)}}, _SOURCE_PROJECTION))

    def read_original(self, doc: Mapping[str, Any]) -> bytes:
        return self._originals.read(doc)

    def save_hashes(self, hashes: Mapping[Any, str]) -> None:
        """Store computed hashes (image id -> hash) in one batch of updates."""
        if not hashes:
            return
        updates = [
            UpdateOne({"_id": image_id}, {"$set": hash_fields(phash)})
            for image_id, phash in hashes.items()
        ]
        with database_errors(self._store):
            self._images.bulk_write(updates, ordered=False)
