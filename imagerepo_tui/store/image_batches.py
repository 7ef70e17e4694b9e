"""Storing a group of new images at once: many small uploads in a handful of round
trips, each file still all-or-nothing as one ``ImageStore.add`` makes it.

One file alone takes seven or eight journaled round trips (find, claim, chunks,
files document, sequence number, image, release, count); importing thousands of
screenshots was bound by them, not by bytes. A group takes the same steps once
for all its files: one ``find`` of the sha256s already stored, one insert each of
the claims, the chunks, the files documents and the images, one delete of the
claims and one update of the kept counts. Its sequence numbers were reserved before
(``reserve_seqs``, one ``$inc`` for the group, in input order: see ``uploads.py``).
The claims are written first, as for one file, so a crash at any point leaves only
claimed bytes that ``cleanup_abandoned`` removes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from mongoengine.errors import ValidationError
from pymongo import ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.store.common import (
    LIST_PROJECTION,
    Documents,
    database_errors,
    hash_fields,
    utc_now,
)
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.counts import ImageCounts
from imagerepo_tui.store.models import Counter, Image
from imagerepo_tui.store.originals import NewFile, Originals
from imagerepo_tui.store.schema import SEQ_COUNTER

# What adding one file of a group came to: (its document, whether it was created
# now) or why it was not stored. A duplicate's document is the image already there.
Outcome = tuple[dict[str, Any], bool] | ImageRepoError
# A new image to add: its bytes, its document fields and its upload sequence number.
NewImage = tuple[bytes, dict[str, Any], int]
DUPLICATE_KEY = 11000


def reserve_seqs(count: int) -> int:
    """Reserve ``count`` consecutive upload sequence numbers in one round trip;
    returns the first of them. A number reserved for a file that is then not
    stored stays unused: numbers are unique and ordered, not gapless."""
    counters = Counter._get_collection()
    for _ in range(5):
        try:
            doc = counters.find_one_and_update(
                {"_id": SEQ_COUNTER},
                {"$inc": {"value": count}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            continue  # two first-ever upserts raced (MongoDB semantics): try again
        if doc is not None:
            return int(doc["value"]) - count + 1
    raise ImageRepoError("could not allocate an image sequence number; try again")


def new_image(fields: Mapping[str, Any], file_id: ObjectId, seq: int, now: datetime) -> Image:
    """The image document of a new upload whose bytes are the GridFS file ``file_id``."""
    return Image(
        **{"taken_key": fields.get("taken_at") or now, **fields},
        file_id=file_id,
        seq=seq,
        created_at=now,
        updated_at=now,
    )


class _Pending:
    """One file of a group that is to be written: its bytes, its document and its
    place in the group."""

    def __init__(
        self, index: int, data: bytes, doc: dict[str, Any], fields: Mapping[str, Any]
    ) -> None:
        self.index = index
        self.doc = doc
        metadata = {"contentType": fields["mime"], "sha256": fields["sha256"]}
        self.file = NewFile(doc["file_id"], fields["filename"], data, metadata)
        self.sha256: str = fields["sha256"]


class ImageBatches:
    """Adds groups of new images for ``ImageStore.add_many``."""

    def __init__(
        self, store: Store, images: Documents, originals: Originals, counts: ImageCounts
    ) -> None:
        self.store = store
        self.images = images
        self.originals = originals
        self.counts = counts

    def add_many(self, items: Sequence[NewImage]) -> list[Outcome]:
        """Store new images, each all-or-nothing and numbered as its item says; one
        outcome per item, in order.

        An item whose bytes its owner already has, or that an earlier item of the
        group brings too, is a duplicate of that image. A file the server refuses
        alone (a bad document, a race lost on the unique sha256) fails alone; a
        write refused as a whole fails the group, with nothing of it left behind.
        A lost connection raises ``DatabaseUnavailableError``.
        """
        outcomes: list[Outcome | None] = [None] * len(items)
        now = utc_now()
        with database_errors(self.store):
            stored = self._stored_already(items)
        first_of: dict[tuple[str, str], int] = {}
        copies: dict[int, int] = {}
        pending: list[_Pending] = []
        for index, (data, fields, seq) in enumerate(items):
            key = (fields["owner"], fields["sha256"])
            if key in stored:
                outcomes[index] = (stored[key], False)
                continue
            built = self._document(fields, seq, now)
            if isinstance(built, ImageRepoError):
                outcomes[index] = built
            elif key in first_of:
                copies[index] = first_of[key]
            else:
                first_of[key] = index
                pending.append(_Pending(index, data, built, fields))
        if pending:
            try:
                with database_errors(self.store):
                    self._write(pending, outcomes)
            except DatabaseUnavailableError:
                raise
            except ImageRepoError as error:  # refused as a whole: its new files fail
                for item in pending:
                    outcomes[item.index] = error
        for index, first in copies.items():
            outcomes[index] = _as_duplicate(outcomes[first])
        return [_settled(outcome) for outcome in outcomes]

    def _stored_already(self, items: Sequence[NewImage]) -> dict[tuple[str, str], dict[str, Any]]:
        """The images these items' owners already hold with the same bytes: one
        ``find`` per owner (one, for an upload), served by the (owner, sha256) index."""
        wanted: dict[str, set[str]] = {}
        for _data, fields, _seq in items:
            wanted.setdefault(fields["owner"], set()).add(fields["sha256"])
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for owner, hashes in wanted.items():
            query = {"owner": owner, "sha256": {"$in": sorted(hashes)}}
            for doc in self.images.find(query, LIST_PROJECTION):
                sha256 = doc.get("sha256")
                if isinstance(sha256, str):
                    found[(owner, sha256)] = doc
        return found

    def _document(
        self, fields: dict[str, Any], seq: int, now: datetime
    ) -> dict[str, Any] | ImageRepoError:
        """The document to insert (checked as ``Document.save`` checks it), with
        a new file id; the refusal for a file whose fields do not pass."""
        fields = {**fields, **hash_fields(fields.get("phash"))}
        image = new_image(fields, ObjectId(), seq, now)
        try:
            image.validate()
        except ValidationError as error:
            return ImageRepoError(f"the database refused the operation: {error}")
        doc: dict[str, Any] = image.to_mongo().to_dict()
        return doc

    def _write(self, pending: list[_Pending], outcomes: list[Outcome | None]) -> None:
        """Claim, write the bytes and insert the documents of ``pending``;
        whatever did not become an image is discarded before this returns."""
        file_ids = [item.file.file_id for item in pending]
        self.originals.claim_many(file_ids)
        try:
            self.originals.write_many([item.file for item in pending])
            refused = self._insert([item.doc for item in pending])
        except ServerSelectionTimeoutError:
            # The server is gone: a discard would only wait for it too. The claims
            # stay for the next cleanup, which deletes the files no image uses.
            self.originals.leave_to_cleanup(file_ids)
            raise
        except BaseException:
            # Whichever documents did get in keep their bytes (the reply may be
            # what was lost): the discard checks each file for an image first.
            self.originals.discard_many_quietly(file_ids)
            raise
        # The images are in: their counts and claims first, so that nothing below
        # (a lost race looked up) can leave them counted wrong or claimed.
        created = [item for position, item in enumerate(pending) if position not in refused]
        docs = [
            {key: value for key, value in item.doc.items() if key != "thumbnail"}
            for item in created
        ]
        self.counts.moved([(None, doc) for doc in docs])
        self.originals.release_many_quietly([item.file.file_id for item in created])
        for item, doc in zip(created, docs, strict=True):
            outcomes[item.index] = (doc, True)
        if refused:
            self.originals.discard_many_quietly(
                [pending[position].file.file_id for position in refused]
            )
        for position, error in refused.items():
            item = pending[position]
            outcomes[item.index] = self._lost_race(item, error) or _refusal(error)

    def _insert(self, docs: list[dict[str, Any]]) -> dict[int, Mapping[str, Any]]:
        """Insert the documents, each on its own (``ordered=False``): the write
        errors of those refused, by position. A write-concern error leaves every
        outcome unknown, so it fails the whole group as any other failure does."""
        try:
            self.images.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            details = error.details
            if details.get("writeConcernErrors"):
                raise
            return {int(failure["index"]): failure for failure in details.get("writeErrors", [])}
        return {}

    def _lost_race(self, item: _Pending, error: Mapping[str, Any]) -> Outcome | None:
        """Another writer stored the same bytes between our ``find`` and our insert:
        this file is a duplicate of theirs."""
        if error.get("code") != DUPLICATE_KEY:
            return None
        try:
            winner = self.images.find_one(
                {"owner": item.doc.get("owner"), "sha256": item.sha256}, LIST_PROJECTION
            )
        except PyMongoError:
            return None  # reported as the refusal it was; a retry finds the winner
        return None if winner is None else (winner, False)


def _refusal(error: Mapping[str, Any]) -> ImageRepoError:
    return ImageRepoError(f"the database refused the operation: {error.get('errmsg', error)}")


def _as_duplicate(outcome: Outcome | None) -> Outcome:
    """What a later copy of the same bytes in one group comes to: a duplicate of the
    image the first copy made (or found), or the first copy's failure."""
    settled = _settled(outcome)
    return settled if isinstance(settled, ImageRepoError) else (settled[0], False)


def _settled(outcome: Outcome | None) -> Outcome:
    if outcome is None:  # every path above sets one: this is a bug, said plainly
        raise AssertionError("an upload of the group was left without an outcome")
    return outcome
