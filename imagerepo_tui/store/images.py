"""Reads and writes of images and their GridFS bytes: the only code that knows how an
image is laid out in MongoDB. Every pymongo failure leaves here as an ``errors`` type.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from bson import Binary, DatetimeConversion, ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from mongoengine.errors import NotUniqueError, OperationError, ValidationError
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from imagerepo_tui.errors import (
    DatabaseUnavailableError,
    DuplicateContentError,
    ImageRepoError,
    NotFoundError,
)
from imagerepo_tui.store.connection import Store, describe_failure
from imagerepo_tui.store.embedded import pid_alive
from imagerepo_tui.store.models import (
    UNOWNED,
    Collection,
    Counter,
    GridfsClaim,
    Image,
    drop_undeclared_indexes,
    ensure_indexes,
)

SEQ_COUNTER = "image_seq"
SCHEMA_COUNTER = "schema_version"
SCHEMA_VERSION = 3
# Listing never needs the thumbnail bytes; leaving them out keeps pages small.
LIST_PROJECTION = {"thumbnail": 0}
# A claim whose writer we cannot check (another host) is trusted this long.
CLAIM_LEASE = timedelta(hours=1)
# How long best-effort cleanup after a failed write may take before giving up.
CLEANUP_TIMEOUT_S = 1.5
# GridFS's default: what any GridFS reader (mongofiles, other drivers) expects.
GRIDFS_CHUNK_BYTES = 255 * 1024
_HOST = socket.gethostname()


@contextlib.contextmanager
def database_errors(store: Store) -> Iterator[None]:
    """Translate driver failures: lost connections stop a batch, others fail one item."""
    try:
        yield
    except ConnectionFailure as error:  # includes AutoReconnect and server selection
        raise DatabaseUnavailableError(describe_failure(error, store.description)) from None
    except (OperationFailure, ValidationError) as error:
        raise ImageRepoError(f"the database refused the operation: {error}") from None
    except OperationError as error:
        # mongoengine's save() wraps the driver's OperationFailure in its own type,
        # which is no PyMongoError: without this it escaped as a traceback.
        raise ImageRepoError(f"the database refused the operation: {error}") from None
    except PyMongoError as error:
        raise ImageRepoError(f"database error: {error}") from None


def tolerant(collection: Any) -> Any:
    """``collection`` read so that no stored value fails a whole batch of documents:
    dates beyond Python's years come as ``DatetimeMS`` (which ``checked.Fields``
    reports as no date), invalid UTF-8 with replacement characters. Strict decoding
    raised for the batch, and one such document written by another client emptied
    every list holding it."""
    options = collection.codec_options.with_options(
        datetime_conversion=DatetimeConversion.DATETIME_AUTO,
        unicode_decode_error_handler="replace",
    )
    return collection.with_options(codec_options=options)


def utc_now() -> datetime:
    # Millisecond precision: what BSON stores, so a document read back compares equal.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ensure_gridfs_indexes(db: Any) -> None:
    """The indexes GridFSBucket creates before a bucket's first upload, same keys and
    names. Made once at open because originals are written without GridFSBucket."""
    db["fs.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
    db["fs.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)


def write_gridfs_file(
    db: Any, file_id: ObjectId, filename: str, data: bytes, metadata: dict[str, Any]
) -> None:
    """Store ``data`` as a standard GridFS file: its chunks, then the files document
    that makes it whole (the order GridFSBucket uses, so readers never see a file
    with chunks missing).

    Not ``GridFSBucket.upload_from_stream``: before every file it asks whether the
    bucket is still empty, a ``find_one`` the embedded server answers by reading the
    whole collection. That cost 2.8 s per upload into a 100,000-image library.
    """
    chunks = [
        {"files_id": file_id, "n": n, "data": Binary(data[offset : offset + GRIDFS_CHUNK_BYTES])}
        for n, offset in enumerate(range(0, len(data), GRIDFS_CHUNK_BYTES))
    ]
    if chunks:
        db["fs.chunks"].insert_many(chunks)
    db["fs.files"].insert_one(
        {
            "_id": file_id,
            "length": len(data),
            "chunkSize": GRIDFS_CHUNK_BYTES,
            "uploadDate": utc_now(),
            "filename": filename,
            "metadata": metadata,
        }
    )


def _index_shaped(criteria: Mapping[str, Any]) -> bool:
    """Equalities plus at most one range, no operators at the top: the only filters
    the embedded server answers from an index."""
    ranges = sum(isinstance(value, dict) for value in criteria.values())
    return ranges <= 1 and not any(key.startswith("$") for key in criteria)


def _server_filter(criteria: Mapping[str, Any]) -> dict[str, Any]:
    """What to send the embedded server for a filter it will scan anyway: without the
    live/trashed test, which (measured at 100k images) makes its scan ten times
    slower; ``_without_trashed`` applies that test to the page instead."""
    if _index_shaped(criteria) or criteria.get("trashed") is not False:
        return dict(criteria)
    return {key: value for key, value in criteria.items() if key != "trashed"}


def _one_scan(parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
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


def _merged(
    pages: Sequence[list[dict[str, Any]]], field: str, descending: bool, limit: int
) -> list[dict[str, Any]]:
    """The first ``limit`` of several pages of disjoint matches, in (field, _id) order
    (a missing field sorts first ascending, as MongoDB sorts null)."""
    if len(pages) == 1:
        return pages[0][:limit]

    def order(doc: dict[str, Any]) -> tuple[Any, ...]:
        # By type first, as MongoDB sorts: a string where numbers are (written by
        # another client) must not make Python compare the two and fail.
        value = doc.get(field)
        rank = _sort_rank(value)
        return (rank, value if rank in _COMPARABLE else 0, doc["_id"])

    return sorted((doc for page in pages for doc in page), key=order, reverse=descending)[:limit]


def _without_trashed(
    docs: list[dict[str, Any]], criteria: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if criteria.get("trashed") is False:
        return [doc for doc in docs if not doc.get("trashed")]
    return docs


class ImageStore:
    """Image documents plus their GridFS originals, kept consistent."""

    def __init__(self, store: Store, on_upgrade: Callable[[], None] | None = None) -> None:
        self.store = store
        self.images = tolerant(Image._get_collection())
        self.bucket = GridFSBucket(store.db)
        self._inflight: set[ObjectId] = set()
        with database_errors(store):
            self._upgrade_documents(on_upgrade)
            ensure_indexes()
            ensure_gridfs_indexes(store.db)
            self._ensure_counter()

    def _upgrade_documents(self, on_upgrade: Callable[[], None] | None) -> None:
        """Bring documents written by earlier versions up to date, once per database:
        a version number in ``counters`` makes every later start a single read.
        ``on_upgrade`` hears first when there is work (minutes for a large library:
        the indexes are rebuilt)."""
        counters = Counter._get_collection()
        version = counters.find_one({"_id": SCHEMA_COUNTER}) or {}
        if int(version.get("value", 0)) >= SCHEMA_VERSION:
            return
        if on_upgrade is not None and self.images.find_one({}, {"_id": 1}) is not None:
            on_upgrade()
        # Version 2: live/trashed became a boolean (the embedded server scans on
        # null tests); images without it would vanish from every list.
        self.images.update_many(
            {"trashed": {"$exists": False}, "deleted_at": None}, {"$set": {"trashed": False}}
        )
        self.images.update_many({"trashed": {"$exists": False}}, {"$set": {"trashed": True}})
        # Version 3: owners. Earlier images belong to nobody until the first account
        # adopts them, private (the default). Indexes now lead with ``audience`` and
        # duplicates are unique per owner: the old ones must go, or the unique
        # ``sha256`` index would refuse another user's copy of the same bytes.
        self.images.update_many(
            {"audience": {"$exists": False}},
            {"$set": {"owner": UNOWNED, "audience": UNOWNED, "public": False}},
        )
        Collection._get_collection().update_many(
            {"owner": {"$exists": False}}, {"$set": {"owner": UNOWNED}}
        )
        for document in (Image, Collection):
            drop_undeclared_indexes(document)
        counters.update_one(
            {"_id": SCHEMA_COUNTER}, {"$set": {"value": SCHEMA_VERSION}}, upsert=True
        )

    # -- claims: how half-written or half-deleted GridFS files get cleaned up ----------

    def _claim(self, file_id: ObjectId) -> None:
        self._inflight.add(file_id)
        # An upsert: a stale claim on the same file (a retried delete) is taken over.
        GridfsClaim(file_id=file_id, host=_HOST, pid=os.getpid(), created_at=utc_now()).save()

    def _release(self, file_id: ObjectId) -> None:
        GridfsClaim.objects(file_id=file_id).delete()
        self._inflight.discard(file_id)

    def _claim_is_abandoned(self, claim: Mapping[str, Any]) -> bool:
        if claim["_id"] in self._inflight:
            return False
        if claim.get("host") == _HOST:
            return claim.get("pid") == os.getpid() or not pid_alive(int(claim.get("pid", 0)))
        created = claim.get("created_at")
        return created is None or utc_now() - created > CLAIM_LEASE

    def _delete_file(self, file_id: ObjectId) -> None:
        # Chunks can exist without their fs.files document (a write cut short), so
        # delete both directly rather than through GridFSBucket.delete.
        self.store.db["fs.files"].delete_one({"_id": file_id})
        self.store.db["fs.chunks"].delete_many({"files_id": file_id})

    def cleanup_abandoned(self) -> int:
        """Delete GridFS files of abandoned claims that no image references."""
        removed = 0
        with database_errors(self.store):
            for claim in GridfsClaim.objects.as_pymongo():
                if not self._claim_is_abandoned(claim):
                    continue
                file_id = claim["_id"]
                if self.images.count_documents({"file_id": file_id}, limit=1) == 0:
                    self._delete_file(file_id)
                    removed += 1
                GridfsClaim.objects(file_id=file_id).delete()
        return removed

    def _discard_quietly(self, file_id: ObjectId) -> None:
        """Delete a claimed file unless an image references it, and drop the claim.

        Best effort after a failure: if this fails too, the claim stays, no longer in
        flight, so the next cleanup finishes the job. The reference check matters
        because a write whose reply was lost (a cut connection, a write-concern
        error) may still have happened: deleting those bytes would leave a visible
        image without its original.
        """
        self._inflight.discard(file_id)
        # Bounded: when the server is gone, the error that brought us here is what the
        # user must hear about, promptly, not after another full selection timeout.
        with pymongo.timeout(CLEANUP_TIMEOUT_S):
            for attempt in (1, 2):
                try:
                    if self.images.count_documents({"file_id": file_id}, limit=1) == 0:
                        self._delete_file(file_id)
                    GridfsClaim.objects(file_id=file_id).delete()
                    return
                except (ServerSelectionTimeoutError, ExecutionTimeout, NetworkTimeout):
                    return  # the server is gone or not answering: leave it to cleanup
                except PyMongoError:
                    # Once more, like a driver's retryable write: a dropped pooled
                    # connection is replaced by a fresh one. All of it is idempotent.
                    if attempt == 2:
                        return

    def _release_quietly(self, file_id: ObjectId) -> None:
        """Drop the claim on a file an image now uses. The write it guarded is done,
        so a failure here must not be reported as the write's; the next cleanup sees
        the file referenced and drops a leftover claim."""
        self._inflight.discard(file_id)
        with contextlib.suppress(PyMongoError):
            GridfsClaim.objects(file_id=file_id).delete()

    def _write_file(self, data: bytes, filename: str, mime: str, sha256: str) -> ObjectId:
        file_id = ObjectId()
        self._claim(file_id)
        try:
            write_gridfs_file(
                self.store.db, file_id, filename, data, {"contentType": mime, "sha256": sha256}
            )
        except BaseException:
            self._discard_quietly(file_id)
            raise
        return file_id

    # -- reads --------------------------------------------------------------------------

    def find_by_sha256(self, sha256: str, owner: str) -> dict[str, Any] | None:
        with database_errors(self.store):
            return self.images.find_one({"owner": owner, "sha256": sha256}, LIST_PROJECTION)

    def get(self, image_id: ObjectId) -> dict[str, Any]:
        with database_errors(self.store):
            doc = self.images.find_one({"_id": image_id}, LIST_PROJECTION)
        if doc is None:
            raise NotFoundError(f"no image with id {image_id}")
        return doc

    def visible_id(self, hex_id: str, audiences: Sequence[str]) -> ObjectId | None:
        """The id of a full 24-hex id's image if these audiences may see it: one
        lookup by ``_id``, where a prefix takes a range scan per audience."""
        oid = ObjectId(hex_id)
        with database_errors(self.store):
            doc = self.images.find_one({"_id": oid}, {"audience": 1})
        return oid if doc is not None and doc.get("audience") in audiences else None

    def ids_with_prefix(
        self, hex_prefix: str, limit: int, audiences: Sequence[str]
    ) -> list[ObjectId]:
        """Ids starting with ``hex_prefix`` among images of these audiences: an
        indexed range scan on ``_id`` per audience."""
        low = ObjectId(hex_prefix.ljust(24, "0"))
        high = ObjectId(hex_prefix.ljust(24, "f"))
        found: list[ObjectId] = []
        with database_errors(self.store):
            for audience in audiences:
                query = {"audience": audience, "_id": {"$gte": low, "$lte": high}}
                cursor = self.images.find(query, {"_id": 1}).limit(limit)
                found.extend(doc["_id"] for doc in cursor)
        return found[:limit]

    def read_original(self, image: Mapping[str, Any]) -> bytes:
        file_id = image.get("file_id")
        if not isinstance(file_id, ObjectId):
            raise ImageRepoError(
                f"image {image.get('_id')} is damaged: it names no stored original (file_id)"
            )
        with database_errors(self.store):
            try:
                with self.bucket.open_download_stream(file_id) as stream:
                    return stream.read()
            except NoFile:
                raise ImageRepoError(
                    f"the original bytes of image {image['_id']} are missing from GridFS"
                ) from None

    def thumbnail(self, image_id: ObjectId) -> bytes:
        with database_errors(self.store):
            doc = self.images.find_one({"_id": image_id}, {"thumbnail": 1})
        if doc is None:
            raise NotFoundError(f"no image with id {image_id}")
        thumbnail = doc.get("thumbnail")
        # Only stored bytes (bson's Binary is bytes): anything else another client put
        # there is no thumbnail, and the preview falls back to the original.
        return bytes(thumbnail) if isinstance(thumbnail, bytes) else b""

    def ping(self) -> None:
        with database_errors(self.store):
            self.store.client.admin.command("ping")

    def newest_seq(self) -> int:
        with database_errors(self.store):
            counter = Counter.objects(name=SEQ_COUNTER).as_pymongo().first()
        return int(counter["value"]) if counter else 0

    def page(
        self,
        parts: Sequence[Mapping[str, Any]],
        limit: int,
        *,
        field: str = "seq",
        descending: bool = True,
        after: Any = None,
    ) -> tuple[list[dict[str, Any]], Any]:
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
        equalities = all(
            not key.startswith("$") and not isinstance(value, dict)
            for criteria in parts
            for key, value in criteria.items()
        )
        if field == "seq" and equalities:
            newest = self.newest_seq()
            start = after[1] if after else None
            pages = [self._seq_page(part, limit, descending, start, newest) for part in parts]
            docs = _merged(pages, "seq", descending, limit)
            return docs, ("seq", docs[-1]["seq"]) if len(docs) == limit else None
        if self.store.simple_planner:
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
        bound = after[1:] if after else None
        pages = [self._keyset_page(part, limit, field, descending, bound) for part in parts]
        docs = _merged(pages, field, descending, limit)
        if len(docs) < limit:
            return docs, None
        return docs, ("key", docs[-1].get(field), docs[-1]["_id"])

    def _offset_page(
        self, criteria: Mapping[str, Any], limit: int, field: str, descending: bool, offset: int
    ) -> list[dict[str, Any]]:
        direction = DESCENDING if descending else ASCENDING
        with database_errors(self.store):
            cursor = self.images.find(_server_filter(criteria), LIST_PROJECTION)
            cursor = cursor.sort([(field, direction), ("_id", direction)])
            return list(cursor.skip(offset).limit(limit))

    def _seq_page(
        self,
        criteria: Mapping[str, Any],
        limit: int,
        descending: bool,
        after: int | None,
        newest: int,
    ) -> list[dict[str, Any]]:
        """Pages in upload order ask for growing bounded ``seq`` windows rather than one
        open-ended sorted query: the embedded server reads every document for
        ``sort().limit()`` but answers a bounded range on an indexed field from the
        index. Real MongoDB answers both from the index."""
        window = max(limit * 2, 256)
        found: list[dict[str, Any]] = []
        if descending:
            high = newest + 1 if after is None else after
            low = max(0, high - window)
        else:
            low = 1 if after is None else after + 1
            high = min(newest + 1, low + window)
        with database_errors(self.store):
            while low < high and len(found) < limit:
                query = {**criteria, "seq": {"$gte": low, "$lt": high}}
                cursor = self.images.find(query, LIST_PROJECTION)
                cursor = cursor.sort("seq", DESCENDING if descending else ASCENDING)
                found.extend(cursor.limit(limit - len(found)))
                window *= 4
                if descending:
                    high, low = low, max(0, low - window)
                else:
                    low, high = high, min(newest + 1, high + window)
        return found

    def _keyset_page(
        self,
        criteria: Mapping[str, Any],
        limit: int,
        field: str,
        descending: bool,
        after: tuple[Any, ObjectId] | None,
    ) -> list[dict[str, Any]]:
        direction = DESCENDING if descending else ASCENDING
        query: dict[str, Any] = dict(criteria)
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

    def _scanned(self, parts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return _one_scan(parts) if self.store.simple_planner else list(parts)

    def count_matching(self, parts: Sequence[Mapping[str, Any]]) -> int:
        with database_errors(self.store):
            return sum(
                self.images.count_documents(dict(criteria)) for criteria in self._scanned(parts)
            )

    def ids_matching(self, parts: Sequence[Mapping[str, Any]]) -> Iterator[ObjectId]:
        """Every matching id, streamed by the driver in batches, never held whole."""
        with database_errors(self.store):
            for criteria in self._scanned(parts):
                for doc in self.images.find(dict(criteria), {"_id": 1}).batch_size(1000):
                    yield doc["_id"]

    # -- owners -------------------------------------------------------------------------

    def owns_any(self, owner: str) -> bool:
        with database_errors(self.store):
            return self.images.find_one({"owner": owner}, {"_id": 1}) is not None

    def owner_count(self, owner: str) -> int:
        with database_errors(self.store):
            return self.images.count_documents({"owner": owner})

    def give_away(self, owner: str, new_owner: str) -> None:
        """Make ``new_owner`` the owner of ``owner``'s images: two bulk updates (the
        first account adopting a whole library must not take a round trip per image).

        Only if the new owner already has some of the same bytes (duplicates are
        unique per owner) does it go one image at a time; those stay behind for the
        caller to report."""
        with database_errors(self.store):
            try:
                # Private and trashed ones are seen by their owner; public ones stay public.
                self.images.update_many(
                    {"owner": owner, "audience": owner},
                    {"$set": {"owner": new_owner, "audience": new_owner}},
                )
                self.images.update_many({"owner": owner}, {"$set": {"owner": new_owner}})
            except DuplicateKeyError:
                self._give_away_one_by_one(owner, new_owner)

    def _give_away_one_by_one(self, owner: str, new_owner: str) -> None:
        for doc in self.images.find({"owner": owner}, {"audience": 1}).batch_size(500):
            audience = new_owner if doc.get("audience") == owner else doc.get("audience")
            with contextlib.suppress(DuplicateKeyError):
                self.images.update_one(
                    {"_id": doc["_id"], "owner": owner},
                    {"$set": {"owner": new_owner, "audience": audience}},
                )

    # -- writes -------------------------------------------------------------------------

    def _next_seq(self) -> int:
        counters = Counter._get_collection()
        for _ in range(5):
            try:
                doc = counters.find_one_and_update(
                    {"_id": SEQ_COUNTER},
                    {"$inc": {"value": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # two first-ever upserts raced (MongoDB semantics): try again
            if doc is not None:
                return int(doc["value"])
        raise ImageRepoError("could not allocate an image sequence number; try again")

    def _ensure_counter(self) -> None:
        """Create the counter up front: concurrent first upserts of it misbehave on
        the embedded server (an AFTER document of None), plain ``$inc`` does not."""
        with contextlib.suppress(DuplicateKeyError):  # another process just made it
            Counter._get_collection().update_one(
                {"_id": SEQ_COUNTER}, {"$setOnInsert": {"value": 0}}, upsert=True
            )

    def add(self, data: bytes, fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store a new image all-or-nothing; returns (document, created).

        ``created`` is False when an image with the same bytes already exists (found
        before writing, or lost a race to another writer): its document is returned.
        """
        existing = self.find_by_sha256(fields["sha256"], fields["owner"])
        if existing is not None:
            return existing, False
        with database_errors(self.store):
            file_id = self._write_file(data, fields["filename"], fields["mime"], fields["sha256"])
            try:
                # The sequence number too is taken after the bytes are written: its
                # failure must discard them like a failed insert does.
                now = utc_now()
                image = Image(
                    **{"taken_key": fields.get("taken_at") or now, **fields},
                    file_id=file_id,
                    seq=self._next_seq(),
                    created_at=now,
                    updated_at=now,
                )
                image.save(force_insert=True)
            except NotUniqueError:
                self._discard_quietly(file_id)
                winner = self.find_by_sha256(fields["sha256"], fields["owner"])
                if winner is None:
                    raise
                return winner, False
            except BaseException:
                self._discard_quietly(file_id)
                raise
        self._release_quietly(file_id)
        stored = image.to_mongo().to_dict()
        stored.pop("thumbnail", None)
        return stored, True

    def replace_content(
        self, image_id: ObjectId, data: bytes, fields: dict[str, Any], *, owner: str
    ) -> dict[str, Any]:
        """New bytes for ``owner``'s image ``image_id`` (anyone else's is not found)."""
        current = self.get(image_id)
        if current.get("owner") != owner:
            raise NotFoundError(f"no image with id {image_id}")
        if current.get("sha256") == fields["sha256"]:
            return current
        if not isinstance(current.get("file_id"), ObjectId):
            raise ImageRepoError(
                f"image {image_id} is damaged: it names no stored original; "
                "purge it and upload the file again"
            )
        holder = self.find_by_sha256(fields["sha256"], owner)
        if holder is not None:
            raise DuplicateContentError(f"those bytes are already stored as image {holder['_id']}")
        with database_errors(self.store):
            new_file = self._write_file(data, fields["filename"], fields["mime"], fields["sha256"])
            old_file = current["file_id"]
            self._claim(old_file)
            try:
                updated = self._update_and_read(
                    # Only if nobody replaced it meanwhile: never lose their new bytes.
                    {"_id": image_id, "file_id": old_file, "owner": owner},
                    {"$set": {**fields, "file_id": new_file, "updated_at": utc_now()}},
                )
            except DuplicateKeyError:
                self._discard_quietly(new_file)
                self._release(old_file)
                raise DuplicateContentError(
                    "those bytes were just stored as another image"
                ) from None
            except BaseException:
                # Whichever file the image does not point at goes: the update may
                # have happened even though its reply was lost.
                self._discard_quietly(new_file)
                self._discard_quietly(old_file)
                raise
            if updated is None:
                self._discard_quietly(new_file)
                self._release(old_file)
                raise ImageRepoError(f"image {image_id} changed or vanished meanwhile; try again")
        # Done: the image points at its new bytes. Dropping the old ones is cleanup
        # that must not report the replacement as failed; a claim it leaves behind
        # is finished by the next cleanup.
        self._release_quietly(new_file)
        self._discard_quietly(old_file)
        return updated

    def _update_and_read(
        self, criteria: dict[str, Any], update: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Update the one image ``criteria`` picks by ``_id``; its document afterwards,
        or None if nothing matched. Not ``find_one_and_update``: the embedded server
        answers findAndModify by reading the whole collection (2.5 s per edit at
        100,000 images) but an update by ``_id`` through the index (5 ms). A change
        landing between the two steps shows in the document read, as it would a moment
        later anyway."""
        if self.images.update_one(criteria, update).matched_count == 0:
            return None
        return self.images.find_one({"_id": criteria["_id"]}, LIST_PROJECTION)

    def update_fields(
        self,
        image_id: ObjectId,
        changes: dict[str, Any],
        unset: Sequence[str] = (),
        *,
        owner: str,
    ) -> dict[str, Any]:
        """Change ``owner``'s image (anyone else's is not found)."""
        update: dict[str, Any] = {"$set": {**changes, "updated_at": utc_now()}}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        with database_errors(self.store):
            updated = self._update_and_read({"_id": image_id, "owner": owner}, update)
        if updated is None:
            raise NotFoundError(f"no image with id {image_id}")
        return updated

    def delete(self, image_id: ObjectId, *, owner: str) -> dict[str, Any]:
        """Delete ``owner``'s image for good, bytes too (anyone else's is not found)."""
        doc = self.get(image_id)
        if doc.get("owner") != owner:
            raise NotFoundError(f"no image with id {image_id}")
        if not isinstance(doc.get("file_id"), ObjectId):
            return self._delete_damaged(doc, owner)
        with database_errors(self.store):
            # Claim first: if we die after the document goes, the bytes are still found.
            self._claim(doc["file_id"])
            try:
                deleted = self.images.delete_one({"_id": image_id, "owner": owner}).deleted_count
            except BaseException:
                # Deleted or not, the claim must not outlive this call in our
                # in-flight set (where no cleanup would touch it): settle it now.
                self._discard_quietly(doc["file_id"])
                raise
            if deleted == 0:
                self._release(doc["file_id"])
                raise NotFoundError(f"no image with id {image_id}")
        # The image is gone; its bytes go now, or with the next cleanup if this fails.
        self._discard_quietly(doc["file_id"])
        return doc

    def _delete_damaged(self, doc: dict[str, Any], owner: str) -> dict[str, Any]:
        """A document that names no stored original (another client wrote it): there
        are no bytes to take along, and it must still be possible to get rid of it."""
        with database_errors(self.store):
            deleted = self.images.delete_one({"_id": doc["_id"], "owner": owner}).deleted_count
        if deleted == 0:
            raise NotFoundError(f"no image with id {doc['_id']}")
        return doc
