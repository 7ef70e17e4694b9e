"""Reading another application's GridFS bucket, on any MongoDB, without writing a byte.

The bucket belongs to someone else and may hold anything: every field of every
``<bucket>.files`` and ``<bucket>.chunks`` document is type-checked here before use,
and only ``find``, ``listCollections``, ``count`` and ``ping`` are ever sent (no
index is created, unlike ``GridFSBucket`` uploads). mongoengine's one connection
is the library's: the source is a plain ``MongoClient`` of its own.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from bson import ObjectId
from bson.errors import BSONError
from pymongo import ASCENDING, MongoClient
from pymongo.errors import ConfigurationError, ConnectionFailure, OperationFailure, PyMongoError

from imagerepo_tui.errors import (
    DatabaseUnavailableError,
    FileTooLargeError,
    ImageRepoError,
    UnreadablePathError,
)
from imagerepo_tui.store.common import tolerant
from imagerepo_tui.store.connection import SERVER_SELECTION_TIMEOUT_MS, describe_failure
from imagerepo_tui.textsafe import visible
from imagerepo_tui.units import over_upload_limit

# Read when the URI names no database: the mongo shell's and mongoengine's default,
# so where a web app that never chose a database kept its files.
DEFAULT_SOURCE_DATABASE = "test"
# The fields GridFS itself defines; any other top-level field is an application's
# own (the legacy ``GridFS.put(data, caption=...)`` style), kept like ``metadata``.
GRIDFS_FIELDS = frozenset(
    {
        "_id",
        "length",
        "chunkSize",
        "uploadDate",
        "filename",
        "metadata",
        "md5",
        "contentType",
        "aliases",
    }
)
# The scalar types GridFS ids are made of. A file id goes into a query (as an $eq
# value); a document there is refused rather than trusted not to act as an operator.
_ID_TYPES = (ObjectId, str, int, float, uuid.UUID, bytes, datetime)
_FILES_BATCH = 100
MAX_ID_TEXT = 200
_URI_HOSTS = re.compile(r"^(mongodb(?:\+srv)?://)(?:[^@/]*@)?([^/?]*)")
_URI_PASSWORD = re.compile(r"^mongodb(?:\+srv)?://[^:@/]*:([^@/]+)@")
# Defaults for options the URI does not set itself (pymongo lets keyword arguments
# override the URI, and the user's URI should win: a slow link's longer timeouts).
_SOURCE_OPTIONS: dict[str, Any] = {
    "serverSelectionTimeoutMS": SERVER_SELECTION_TIMEOUT_MS,
    "connectTimeoutMS": 3000,
    "appname": "imagerepo-tui-import",
    "uuidRepresentation": "standard",
}


@dataclass(frozen=True)
class ForeignFile:
    """One ``<bucket>.files`` document, checked. ``refusal`` says why it cannot be
    read at all; ``notes`` what was odd but did not stop it."""

    file_id: Any  # the stored _id, only ever handed back to ``ForeignBucket.read``
    id_text: str
    filename: str | None
    length: int
    upload_date: datetime | None
    metadata: Mapping[str, Any]
    extra: Mapping[str, Any]
    refusal: str | None = None
    notes: tuple[str, ...] = field(default=())


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a bucket's name (its collections are NAME.files and
    NAME.chunks), or None."""
    if not name or name.startswith(".") or name.endswith("."):
        return "a bucket name must not be empty or start or end with '.'"
    if "$" in name or "\x00" in name or name.startswith("system."):
        return f"{visible(name)!r} cannot name a bucket ('$', NUL or 'system.')"
    if len(name.encode("utf-8")) > 120:
        return "the bucket name is too long"
    return None


def _where(uri: str, database: str) -> str:
    """The server and database without user, password or options (which may hold
    secrets too, like a TLS key password): fit to show and to keep in metadata."""
    match = _URI_HOSTS.match(uri)
    base = f"{match.group(1)}{match.group(2)}" if match else "mongodb://?"
    return f"{base}/{database}"


def _scrubbed(text: str, uri: str) -> str:
    """``text`` without the URI's password, should a driver message quote it."""
    match = _URI_PASSWORD.match(uri)
    if not match:
        return text
    for secret in {match.group(1), unquote(match.group(1))}:
        text = text.replace(secret, "***")
    return text


def _client_options(uri: str) -> dict[str, Any]:
    query = uri.partition("?")[2].lower()
    named = {part.partition("=")[0] for part in query.replace(";", "&").split("&")}
    options = {key: value for key, value in _SOURCE_OPTIONS.items() if key.lower() not in named}
    return {**options, "tz_aware": True}  # not a URI option: dates compare with ours


def _id_text(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.hex()
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    # Shown and kept as metadata: a huge string id is cut (the stored one is used to read).
    return text if len(text) <= MAX_ID_TEXT else text[:MAX_ID_TEXT] + "…"


def _check_file(doc: Mapping[str, Any]) -> ForeignFile:
    notes: list[str] = []
    refusal: str | None = None
    file_id = doc.get("_id")
    bad_id = not isinstance(file_id, _ID_TYPES) or isinstance(file_id, bool)
    if bad_id or (isinstance(file_id, float) and not math.isfinite(file_id)):
        refusal = f"its _id is a {type(file_id).__name__}, which no GridFS file id is"
        id_text = f"<{type(file_id).__name__} _id>"
    else:
        id_text = _id_text(file_id)
    length = doc.get("length")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        refusal = refusal or f"its length is {type(length).__name__} {length!r}, not a size"
        length = 0
    filename = doc.get("filename")
    if not isinstance(filename, str):
        notes.append(f"no filename (it is {type(filename).__name__}): named by its id")
        filename = None
    upload_date = doc.get("uploadDate")
    if not isinstance(upload_date, datetime):
        notes.append("no usable uploadDate")
        upload_date = None
    metadata = doc.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        notes.append(f"its metadata is a {type(metadata).__name__}, not a document: skipped")
    extra = {key: value for key, value in doc.items() if key not in GRIDFS_FIELDS}
    return ForeignFile(
        file_id,
        id_text,
        filename,
        length,
        upload_date,
        metadata if isinstance(metadata, Mapping) else {},
        extra,
        refusal,
        tuple(notes),
    )


class ForeignBucket:
    """A GridFS bucket of another application, open for reading. Close when done."""

    def __init__(self, uri: str, bucket: str) -> None:
        self._uri = uri
        try:
            self._client: MongoClient[dict[str, Any]] = MongoClient(uri, **_client_options(uri))
        except (ConfigurationError, ValueError, TypeError) as error:
            raise ImageRepoError(f"invalid source URI: {self._text(error)}") from None
        self.default_database = False
        try:
            database = self._client.get_default_database()
        except ConfigurationError:  # the URI names none
            database = self._client[DEFAULT_SOURCE_DATABASE]
            self.default_database = True
        self.database = database.name
        self.bucket = bucket
        self.description = _where(uri, database.name)
        self._files = tolerant(database[f"{bucket}.files"])
        self._chunks = tolerant(database[f"{bucket}.chunks"])
        try:
            self._client.admin.command("ping")
            self._check_exists(database)
        except PyMongoError as error:
            self.close()
            raise self._failure(error) from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ForeignBucket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _text(self, error: BaseException) -> str:
        return visible(_scrubbed(str(error), self._uri))

    def _failure(self, error: PyMongoError) -> ImageRepoError:
        if isinstance(error, ConnectionFailure):
            text = describe_failure(error, self.description)
            return DatabaseUnavailableError(_scrubbed(text, self._uri))
        if isinstance(error, OperationFailure) and error.code in (13, 18):
            return ImageRepoError(_scrubbed(describe_failure(error, self.description), self._uri))
        return ImageRepoError(f"the source database failed: {self._text(error)}")

    def _check_exists(self, database: Any) -> None:
        """A bucket that is not there is a typo, not an empty import: say which are."""
        try:
            names = database.list_collection_names()
        except OperationFailure as error:
            if error.code == 13:
                return  # may read the bucket but not list collections: just try
            raise self._failure(error) from None
        except PyMongoError as error:
            raise self._failure(error) from None
        if f"{self.bucket}.files" in names:
            return
        buckets = sorted(name[: -len(".files")] for name in names if name.endswith(".files"))
        found = ", ".join(visible(name) for name in buckets) if buckets else "none"
        default = (
            f" (the URI names no database, so MongoDB's default {DEFAULT_SOURCE_DATABASE!r} "
            "was read: name one, mongodb://HOST/DATABASE)"
            if self.default_database
            else ""
        )
        raise ImageRepoError(
            f"{self.description} has no GridFS bucket {visible(self.bucket)!r} "
            f"(no {visible(self.bucket)}.files collection){default}; buckets there: {found}"
        )

    def estimated_count(self) -> int:
        """How many files, from the collection's metadata (no scan): for progress."""
        try:
            return int(self._files.estimated_document_count())
        except PyMongoError:
            return 0  # only a progress bar's total

    def files(self) -> Iterator[ForeignFile]:
        """Every file, checked, a batch at a time (never the whole list at once)."""
        cursor = self._files.find({}, sort=[("_id", ASCENDING)], batch_size=_FILES_BATCH)
        try:
            for doc in cursor:
                yield _check_file(doc)
        except PyMongoError as error:
            raise self._failure(error) from None
        except BSONError as error:
            raise ImageRepoError(f"the bucket's file list is unreadable: {error}") from None
        finally:
            cursor.close()

    def read(self, file: ForeignFile, max_bytes: int) -> bytes:
        """The file's bytes, checked against its length chunk by chunk; refused before
        reading a byte when its length is over ``max_bytes``."""
        if file.length > max_bytes:
            raise FileTooLargeError(over_upload_limit(file.length, max_bytes))
        try:
            return self._read_chunks(file)
        except PyMongoError as error:
            raise self._failure(error) from None
        except BSONError as error:
            raise UnreadablePathError(f"its chunks are unreadable: {error}") from None

    def _read_chunks(self, file: ForeignFile) -> bytes:
        parts: list[bytes] = []
        total = 0
        query = {"files_id": {"$eq": file.file_id}}
        with self._chunks.find(query, sort=[("n", ASCENDING)]) as cursor:
            for number, chunk in enumerate(cursor):
                data = chunk.get("data")
                n = chunk.get("n")
                if not isinstance(n, int) or isinstance(n, bool) or n != number:
                    raise UnreadablePathError(_chunk_problem(number, n, file.length, total))
                if not isinstance(data, bytes):
                    raise UnreadablePathError(f"its chunk {number} holds no binary data")
                total += len(data)
                if total > file.length:
                    raise UnreadablePathError(
                        f"its chunks hold more than its length of {file.length} bytes"
                    )
                parts.append(data)
        if total < file.length:
            raise UnreadablePathError(
                f"incomplete: its chunks hold {total} of its {file.length} bytes"
            )
        return b"".join(parts)


def _chunk_problem(expected: int, found: Any, length: int, total: int) -> str:
    if isinstance(found, int) and not isinstance(found, bool) and found > expected:
        return f"incomplete: chunk {expected} is missing ({total} of {length} bytes read)"
    return f"its chunk {expected} is damaged or repeated (n is {visible(repr(found))[:40]})"
