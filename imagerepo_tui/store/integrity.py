"""The raw reads behind ``check``: every image document, GridFS file, chunk and claim,
streamed or fetched by id in batches; and the only deletes ``check --repair`` makes
(orphans and abandoned writes), each verified again just before it is made.

Nothing here judges a document: it hands over what is stored, and ``safekeeping.check``
decides what is wrong with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING

from imagerepo_tui.store.common import (
    HOST,
    LIST_PROJECTION,
    database_errors,
    tolerant,
    utc_now,
)
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.counts import ImageCounts
from imagerepo_tui.store.embedded import pid_alive
from imagerepo_tui.store.models import CLAIMS, COUNTERS, IMAGES, LAST_CHECK, LIBRARY_STATE
from imagerepo_tui.store.originals import CLAIM_LEASE
from imagerepo_tui.store.schema import SEQ_COUNTER

FILES, CHUNKS = "fs.files", "fs.chunks"
# Chunks per round trip while one large original streams: about 2 MB in memory.
CHUNKS_PER_ROUND_TRIP = 8
# Documents per round trip of whole-collection scans that carry no bytes.
SCAN_BATCH = 5000
# How old orphaned chunks must be before --repair takes them for leftovers.
SETTLED = timedelta(hours=1)
_SHA256 = re.compile(r"[0-9a-f]{64}")


def written_by_us(file_doc: Mapping[str, Any]) -> bool:
    """This app's GridFS files carry the SHA-256 of their bytes in ``metadata``; files
    other applications keep in the same bucket are left alone."""
    metadata = file_doc.get("metadata")
    sha256 = metadata.get("sha256") if isinstance(metadata, Mapping) else None
    return isinstance(sha256, str) and _SHA256.fullmatch(sha256) is not None


@dataclass(frozen=True)
class Chunk:
    """One stored chunk: ``n`` as stored (an int unless another client wrote
    otherwise), ``data`` None when what is stored is not binary."""

    n: Any
    data: bytes | None


@dataclass(frozen=True)
class Claim:
    """A claim in ``gridfs_claims``: a writer's mark on a GridFS file it is writing or
    deleting, which it drops when done."""

    file_id: Any
    host: str
    pid: Any
    created_at: datetime | None
    writer_gone: bool


def writer_gone(claim: Mapping[str, Any]) -> bool:
    """Has the process that made this claim stopped without dropping it?

    Stricter than the cleanup at open (``ImageStore._claim_is_abandoned``): a live pid
    on this host keeps its claim however old it is, this very process's included (a
    check may run beside an upload in the same process), so a check never takes a
    file from under a writer. Elsewhere, or with no usable pid, the claim's age says.
    """
    pid = _process_id(claim.get("pid"))
    if claim.get("host") == HOST and pid is not None:
        return not pid_alive(pid)
    created = claim.get("created_at")
    return not isinstance(created, datetime) or utc_now() - created > CLAIM_LEASE


def _process_id(value: Any) -> int | None:
    # 0 or less would ask about a process group, which always seems alive.
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _chunk(doc: Mapping[str, Any]) -> Chunk:
    data = doc.get("data")
    return Chunk(doc.get("n"), bytes(data) if isinstance(data, bytes) else None)


def _by_n(chunk: Chunk) -> tuple[bool, int]:
    # Numbered chunks in order; any other ``n`` (another client's) after them.
    numbered = isinstance(chunk.n, int) and not isinstance(chunk.n, bool)
    return (not numbered, chunk.n if numbered else 0)


class Integrity:
    """Whole-library reads (every user's images, trashed ones too) and repairs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        db = store.db
        self._images = tolerant(db[IMAGES])
        self._files = tolerant(db[FILES])
        self._chunks = tolerant(db[CHUNKS])
        self._claims = tolerant(db[CLAIMS])
        self._counters = db[COUNTERS]
        self._state = db[LIBRARY_STATE]
        self.counts = ImageCounts(store, self._images)

    # -- images -----------------------------------------------------------------------

    def estimated_images(self) -> int:
        with database_errors(self.store):
            return int(self._images.estimated_document_count())

    def image_refs(self) -> Iterator[tuple[Any, ObjectId | None]]:
        """``(_id, file_id)`` of every image, streamed; a ``file_id`` that is no
        ObjectId names no stored file and comes as None."""
        with database_errors(self.store):
            cursor = self._images.find({}, {"file_id": 1}).batch_size(SCAN_BATCH)
            for doc in cursor:
                file_id = doc.get("file_id")
                yield doc["_id"], file_id if isinstance(file_id, ObjectId) else None

    def images(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The documents of those images that still exist, without thumbnails. By id
        (``$in`` on ``_id``: 17 ms for 100 on the embedded server) rather than keyset
        pages sorted by ``_id``, each of which it answers by a scan (about 1 s per
        page at 20,000 images); and no cursor stays open while originals are read."""
        with database_errors(self.store):
            return list(self._images.find({"_id": {"$in": list(ids)}}, LIST_PROJECTION))

    def images_using(self, file_id: Any) -> list[Any]:
        with database_errors(self.store):
            return [doc["_id"] for doc in self._images.find({"file_id": file_id}, {"_id": 1})]

    def newest_seq(self) -> int:
        """The upload counter: every image's ``seq`` is at most this."""
        with database_errors(self.store):
            doc = self._counters.find_one({"_id": SEQ_COUNTER}) or {}
        value = doc.get("value", 0)
        return int(value) if isinstance(value, int | float) else 0

    # -- GridFS ---------------------------------------------------------------------

    def estimated_files(self) -> int:
        with database_errors(self.store):
            return int(self._files.estimated_document_count())

    def stored_files(self) -> Iterator[tuple[Any, Any]]:
        """``(_id, length)`` of every ``fs.files`` document, streamed."""
        with database_errors(self.store):
            for doc in self._files.find({}, {"length": 1}).batch_size(SCAN_BATCH):
                yield doc["_id"], doc.get("length")

    def files(self, ids: Sequence[Any]) -> dict[Any, dict[str, Any]]:
        with database_errors(self.store):
            return {doc["_id"]: doc for doc in self._files.find({"_id": {"$in": list(ids)}})}

    def chunks(self, file_id: Any) -> Iterator[Chunk]:
        """One file's chunks in order, a few per round trip (what GridFS readers do)."""
        with database_errors(self.store):
            cursor = self._chunks.find({"files_id": file_id}).sort("n", ASCENDING)
            for doc in cursor.batch_size(CHUNKS_PER_ROUND_TRIP):
                yield _chunk(doc)

    def chunks_of(self, file_ids: Sequence[Any]) -> dict[Any, list[Chunk]]:
        """The chunks of several small files in one round trip, each file's in order."""
        found: dict[Any, list[Chunk]] = {file_id: [] for file_id in file_ids}
        with database_errors(self.store):
            for doc in self._chunks.find({"files_id": {"$in": list(file_ids)}}):
                found[doc["files_id"]].append(_chunk(doc))
        for chunks in found.values():
            chunks.sort(key=_by_n)
        return found

    def chunk_owners(self) -> Iterator[Any]:
        """The ``files_id`` of every chunk (not its bytes), streamed."""
        with database_errors(self.store):
            cursor = self._chunks.find({}, {"files_id": 1, "_id": 0}).batch_size(SCAN_BATCH)
            for doc in cursor:
                yield doc.get("files_id")

    def chunk_count(self, files_id: Any) -> int:
        with database_errors(self.store):
            return int(self._chunks.count_documents({"files_id": files_id}))

    # -- claims and leftovers ----------------------------------------------------------

    def claims(self) -> list[Claim]:
        with database_errors(self.store):
            docs = list(self._claims.find({}))
        return [
            Claim(
                doc["_id"],
                str(doc.get("host", "")),
                doc.get("pid"),
                created if isinstance(created := doc.get("created_at"), datetime) else None,
                writer_gone(doc),
            )
            for doc in docs
        ]

    def _claimed(self, file_id: Any) -> bool:
        return self._claims.count_documents({"_id": file_id}, limit=1) > 0

    def _used(self, file_id: Any) -> bool:
        return self._images.count_documents({"file_id": file_id}, limit=1) > 0

    def _unowned(self, file_id: Any) -> bool:
        """Neither claimed by a writer nor used by an image. The claim is asked first:
        a writer claims a file before writing it and drops the claim only once its
        image is saved, so a file seen unclaimed here is one whose image (if any)
        already exists when it is asked for next."""
        return not self._claimed(file_id) and not self._used(file_id)

    def orphan_file(self, file_id: Any) -> dict[str, Any] | None:
        """The ``fs.files`` document if that file is (still) an orphan."""
        with database_errors(self.store):
            if not self._unowned(file_id):
                return None
            return self._files.find_one({"_id": file_id})

    def orphan_chunks(self, files_id: Any) -> bool:
        """Chunks of that id are (still) orphans: no file, claim or image of theirs."""
        with database_errors(self.store):
            if not self._unowned(files_id):
                return False
            return self._files.count_documents({"_id": files_id}, limit=1) == 0

    def file_used_by(self, file_id: Any) -> Any:
        """The id of an image using that file, or None."""
        with database_errors(self.store):
            doc = self._images.find_one({"file_id": file_id}, {"_id": 1})
        return None if doc is None else doc["_id"]

    def file_length(self, file_id: Any) -> Any:
        """The stored length of that file, or None when it has no ``fs.files`` document."""
        with database_errors(self.store):
            doc = self._files.find_one({"_id": file_id}, {"length": 1})
        return None if doc is None else doc.get("length", 0)

    # -- repairs: each verifies again right before deleting ----------------------------

    def _delete_file(self, file_id: Any) -> None:
        self._files.delete_one({"_id": file_id})
        self._chunks.delete_many({"files_id": file_id})

    def remove_orphan_file(self, file_id: Any) -> bool:
        """Delete an unused, unclaimed file of ours and its chunks; False if it is not
        (any more) one. A database may hold another application's files in the same
        bucket: a file this app did not write is never removed."""
        with database_errors(self.store):
            doc = self.orphan_file(file_id)
            if doc is None or not written_by_us(doc):
                return False
            self._delete_file(file_id)
        return True

    def remove_orphan_chunks(self, files_id: Any) -> bool:
        """Delete chunks with no file, claim or image, once they are an hour old: any
        GridFS client writes a file's chunks before its file document, so younger ones
        may be another application's upload under way."""
        with database_errors(self.store):
            if not self.orphan_chunks(files_id) or self._newest_chunk_age(files_id) < SETTLED:
                return False
            self._chunks.delete_many({"files_id": files_id})
        return True

    def _newest_chunk_age(self, files_id: Any) -> timedelta:
        newest = self._chunks.find_one({"files_id": files_id}, {"_id": 1}, sort=[("_id", -1)])
        chunk_id = newest["_id"] if newest else None
        if not isinstance(chunk_id, ObjectId):
            return timedelta(0)  # no creation time to go by: treat it as new
        return utc_now() - chunk_id.generation_time

    def finish_abandoned_write(self, file_id: Any) -> bool:
        """What the writer of an abandoned claim would have done on failure: delete its
        file unless an image uses it, then the claim. False if the claim has gone or
        is no longer abandoned (a new writer took it over)."""
        with database_errors(self.store):
            claim = self._claims.find_one({"_id": file_id})
            if claim is None or not writer_gone(claim):
                return False
            if not self._used(file_id):
                self._delete_file(file_id)
            # Only the claim read above: one taken over meanwhile is its new writer's.
            self._claims.delete_one(
                {"_id": file_id, "host": claim.get("host"), "pid": claim.get("pid")}
            )
        return True

    # -- the last check's result ------------------------------------------------------

    def record_check(self, *, images: int, problems: int, repaired: int) -> None:
        state = {"at": utc_now(), "problems": problems, "repaired": repaired, "images": images}
        with database_errors(self.store):
            self._state.replace_one({"_id": LAST_CHECK}, state, upsert=True)

    def last_check(self) -> dict[str, Any] | None:
        """``{at, problems, repaired, images}`` of the last check, if any ran."""
        with database_errors(self.store):
            return tolerant(self._state).find_one({"_id": LAST_CHECK})
