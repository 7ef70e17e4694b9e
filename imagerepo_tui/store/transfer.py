"""Raw reads of a whole library for backup and copy: every document as stored (fields
this version does not know included), originals streamed chunk by chunk and checked.

Also what a backup needs from BSON: documents as MongoDB Extended JSON lines, in
canonical mode so every type (Int64 beside int, dates, binary) comes back the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary, DatetimeConversion, ObjectId, json_util
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from bson.errors import BSONError
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from imagerepo_tui.config import redact_uri
from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.store.common import database_errors, utc_now
from imagerepo_tui.store.connection import (
    CLIENT_OPTIONS,
    Store,
    database_name,
    describe_failure,
)
from imagerepo_tui.store.models import (
    COLLECTIONS,
    COUNTERS,
    IMAGES,
    LAST_BACKUP,
    LIBRARY_STATE,
    USERS,
    Collection,
    Counter,
    GridfsClaim,
    Image,
    LoginAttempt,
    User,
)
from imagerepo_tui.store.originals import GRIDFS_CHUNK_BYTES, ensure_gridfs_indexes

# Documents exactly as stored: dates beyond Python's years stay ``DatetimeMS``
# rather than failing the batch; strings are strict (a replacement character would
# silently change what a backup keeps).
RAW_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(
    document_class=dict,
    tz_aware=True,
    tzinfo=UTC,
    uuid_representation=UuidRepresentation.STANDARD,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
JSON_OPTIONS = json_util.JSONOptions(
    json_mode=json_util.JSONMode.CANONICAL,
    tz_aware=True,
    tzinfo=UTC,
    uuid_representation=UuidRepresentation.STANDARD,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
# Images are read a window of ``seq`` at a time: a bounded range on an indexed field
# is what every server (the embedded one too) answers from its index, where one open
# cursor over the whole collection makes the embedded server hold every document.
SEQ_WINDOW = 256
# GridFS chunks read or written per round trip (255 KB each): one per ~4 MB.
CHUNKS_PER_READ = CHUNKS_PER_WRITE = 16
HEX64 = frozenset("0123456789abcdef")


class DamagedOriginalError(ImageRepoError):
    """An image's stored bytes are missing, short or not what its document says."""


# What became of one image in a transfer.
WRITTEN, SKIPPED, REPAIRED, DUPLICATE = "written", "skipped", "repaired", "duplicate"


@dataclass(frozen=True)
class Placed:
    """One image's outcome: ``written`` bytes of original, and a note worth telling."""

    outcome: str
    written: int = 0
    note: str = ""


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX64


def to_json_line(doc: dict[str, Any]) -> str:
    """One document as one line of canonical Extended JSON (ASCII: newlines and
    control characters inside values are escaped)."""
    return json_util.dumps(doc, json_options=JSON_OPTIONS) + "\n"


def from_json_line(line: str) -> dict[str, Any]:
    """A line of ``to_json_line``; ValueError for anything else."""
    try:
        doc = json_util.loads(line, json_options=JSON_OPTIONS)
    except (TypeError, KeyError, BSONError) as error:
        raise ValueError(str(error)) from None
    if not isinstance(doc, dict):
        raise ValueError("not a document")
    return doc


@dataclass
class Library:
    """A library's database reached with plain pymongo (mongoengine's one connection
    is the open repository's); ``close`` closes only a client made here."""

    client: MongoClient[dict[str, Any]]
    db: Database[dict[str, Any]]
    description: str
    own_client: bool = False

    @classmethod
    def of(cls, store: Store) -> Library:
        return cls(store.client, store.db, store.description)

    @classmethod
    def connect(cls, uri: str) -> Library:
        where = redact_uri(uri)
        client: MongoClient[dict[str, Any]] | None = None
        try:
            client = MongoClient(uri, **CLIENT_OPTIONS)
            client.admin.command("ping")
        except (PyMongoError, ValueError, TypeError) as error:
            if client is not None:
                client.close()
            raise DatabaseUnavailableError(describe_failure(error, where)) from None
        return cls(client, client[database_name(uri)], where, own_client=True)

    def store(self) -> Store:
        """The library as the store's helpers take it (errors name it)."""
        return Store(self.client, self.db, self.description, False)

    def raw(self, name: str) -> MongoCollection[dict[str, Any]]:
        return self.db.get_collection(name, codec_options=RAW_CODEC)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Driver failures as the app's errors, naming this library."""
        with database_errors(self.store()):
            yield

    def close(self) -> None:
        if self.own_client:
            self.client.close()


class LibraryReader:
    """Reads a library as it is stored."""

    def __init__(self, library: Library) -> None:
        self.library = library

    def documents(self, name: str) -> Iterator[dict[str, Any]]:
        """Every document of a small collection (users, collections, counters)."""
        if name not in (USERS, COLLECTIONS, COUNTERS):
            raise ValueError(name)
        with self.library.errors():
            yield from self.library.raw(name).find({}).batch_size(500)

    def totals(self) -> tuple[int, int]:
        """(images, bytes of their originals), for progress."""
        pipeline = [{"$group": {"_id": None, "n": {"$sum": 1}, "bytes": {"$sum": "$size"}}}]
        with self.library.errors():
            found = list(self.library.raw(IMAGES).aggregate(pipeline))
        if not found:
            return 0, 0
        size = found[0].get("bytes")
        return int(found[0].get("n", 0)), int(size) if isinstance(size, int | float) else 0

    def images(self) -> Iterator[dict[str, Any]]:
        """Every image document, thumbnail included, a window of ``seq`` at a time; then
        the few another client may have written without a numeric ``seq``."""
        images = self.library.raw(IMAGES)
        numeric = {"seq": {"$type": "number"}}
        with self.library.errors():
            low = images.find_one(numeric, {"seq": 1}, sort=[("seq", ASCENDING)])
            high = images.find_one(numeric, {"seq": 1}, sort=[("seq", DESCENDING)])
        if low is not None and high is not None:
            yield from self._windows(images, int(low["seq"]), int(high["seq"]))
        with self.library.errors():
            yield from images.find({"seq": {"$not": {"$type": "number"}}}).batch_size(100)

    def _windows(
        self, images: MongoCollection[dict[str, Any]], low: int, high: int
    ) -> Iterator[dict[str, Any]]:
        start = low
        while start <= high:
            query = {"seq": {"$gte": start, "$lt": start + SEQ_WINDOW}}
            with self.library.errors():
                page = list(images.find(query).sort("seq", ASCENDING))
            yield from page
            start += SEQ_WINDOW

    def original(self, image: dict[str, Any]) -> Iterator[bytes]:
        """The image's stored bytes, chunk by chunk, checked for missing and short
        chunks (whether they are the right bytes is for the caller's hash to say)."""
        file_id = image.get("file_id")
        if not isinstance(file_id, ObjectId):
            raise DamagedOriginalError(f"image {image.get('_id')} names no stored original")
        yield from read_gridfs(self.library, file_id, str(image.get("_id")))


def read_gridfs(library: Library, file_id: ObjectId, label: str) -> Iterator[bytes]:
    """A GridFS file's bytes in order; raises ``DamagedOriginalError`` for a missing
    files document or chunk, or one of the wrong size."""
    with library.errors():
        info = library.raw("fs.files").find_one({"_id": file_id})
    if info is None:
        raise DamagedOriginalError(f"the original of image {label} is missing")
    length, chunk_size = info.get("length"), info.get("chunkSize")
    if not isinstance(length, int) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise DamagedOriginalError(f"the original of image {label} has a damaged files entry")
    count = -(-length // chunk_size)
    chunks = library.raw("fs.chunks")
    for first in range(0, count, CHUNKS_PER_READ):
        last = min(count, first + CHUNKS_PER_READ)
        query = {"files_id": file_id, "n": {"$gte": first, "$lt": last}}
        with library.errors():
            found = list(chunks.find(query).sort("n", ASCENDING))
        if [chunk.get("n") for chunk in found] != list(range(first, last)):
            raise DamagedOriginalError(f"the original of image {label} has missing chunks")
        for chunk in found:
            data = chunk.get("data")
            want = chunk_size if chunk["n"] < count - 1 else length - chunk_size * (count - 1)
            if not isinstance(data, bytes) or len(data) != want:
                raise DamagedOriginalError(f"the original of image {label} has a short chunk")
            yield bytes(data)


def create_app_indexes(library: Library) -> None:
    """The indexes the app declares, made with plain pymongo exactly as mongoengine's
    ``ensure_indexes`` makes them (same keys, options and so names), so a library
    created by a copy opens in the app without a clash."""
    for document in (Image, Collection, Counter, GridfsClaim, User, LoginAttempt):
        collection = library.db[document._get_collection_name()]
        for spec in document._meta["index_specs"]:
            options = dict(spec)
            fields = options.pop("fields")
            options.pop("cls", None)
            collection.create_index(fields, background=False, **options)
    ensure_gridfs_indexes(library.db)


def write_gridfs(db: Any, file_id: ObjectId, blocks: Iterable[bytes], image: dict[str, Any]) -> int:
    """Store ``blocks`` as GridFS file ``file_id``, hashing as they go; the files
    document that makes it whole is written only if length and SHA-256 match the
    image's. Holds at most a few MB however large the original."""
    expected, size, label = image["sha256"], image["size"], image["_id"]
    hasher, buffer, pending = hashlib.sha256(), bytearray(), []
    length = n = 0
    for block in blocks:
        hasher.update(block)
        length += len(block)
        if length > size:
            raise DamagedOriginalError(f"the source's original of image {label} is too long")
        buffer += block
        while len(buffer) >= GRIDFS_CHUNK_BYTES:
            pending.append(
                {"files_id": file_id, "n": n, "data": Binary(bytes(buffer[:GRIDFS_CHUNK_BYTES]))}
            )
            del buffer[:GRIDFS_CHUNK_BYTES]
            n += 1
        if len(pending) >= CHUNKS_PER_WRITE:
            db["fs.chunks"].insert_many(pending)
            pending = []
    if buffer:
        pending.append({"files_id": file_id, "n": n, "data": Binary(bytes(buffer))})
    if length != size or hasher.hexdigest() != expected:
        raise DamagedOriginalError(
            f"the source's original of image {label} is damaged (its SHA-256 does not match)"
        )
    if pending:
        db["fs.chunks"].insert_many(pending)
    mime = image.get("mime") if isinstance(image.get("mime"), str) else ""
    filename = image.get("filename") if isinstance(image.get("filename"), str) else ""
    db["fs.files"].insert_one(
        {
            "_id": file_id,
            "length": length,
            "chunkSize": GRIDFS_CHUNK_BYTES,
            "uploadDate": utc_now(),
            "filename": filename,
            "metadata": {"contentType": mime, "sha256": expected},
        }
    )
    return length


def record_last_backup(library: Library, folder: str, at: datetime) -> None:
    """Remember the last complete backup in the library, so the TUI can remind users."""
    doc = {"at": at, "folder": folder, "host": socket.gethostname()}
    with library.errors():
        library.raw(LIBRARY_STATE).update_one({"_id": LAST_BACKUP}, {"$set": doc}, upsert=True)


def last_backup(library: Library) -> dict[str, Any] | None:
    with library.errors():
        return library.raw(LIBRARY_STATE).find_one({"_id": LAST_BACKUP})
