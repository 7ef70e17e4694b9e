"""GridFS originals: writing them as standard GridFS files, reading them back, and the
claims that get half-written or half-deleted files cleaned up after a crash."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

import pymongo
from bson import Binary, ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.errors import (
    ExecutionTimeout,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.store.common import HOST, Documents, database_errors, utc_now
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.embedded import pid_alive
from imagerepo_tui.store.models import GridfsClaim

# A claim whose writer we cannot check (another host) is trusted this long.
CLAIM_LEASE = timedelta(hours=1)
# How long best-effort cleanup after a failed write may take before giving up.
CLEANUP_TIMEOUT_S = 1.5
# GridFS's default: what any GridFS reader (mongofiles, other drivers) expects.
GRIDFS_CHUNK_BYTES = 255 * 1024


def ensure_gridfs_indexes(db: Any) -> None:
    """The indexes GridFSBucket creates before a bucket's first upload, same keys and
    names. Made once at open because originals are written without GridFSBucket."""
    db["fs.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
    db["fs.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)


class NewFile(NamedTuple):
    """A GridFS file to write: its id, name, bytes and metadata."""

    file_id: ObjectId
    filename: str
    data: bytes
    metadata: dict[str, Any]


def write_gridfs_file(
    db: Any, file_id: ObjectId, filename: str, data: bytes, metadata: dict[str, Any]
) -> None:
    """Store ``data`` as one standard GridFS file (see ``write_gridfs_files``)."""
    write_gridfs_files(db, [NewFile(file_id, filename, data, metadata)])


def write_gridfs_files(db: Any, files: Sequence[NewFile]) -> None:
    """Store each file as a standard GridFS file: all the chunks in one insert, then
    the files documents that make them whole in another (the order GridFSBucket
    uses, so readers never see a file with chunks missing).

    Not ``GridFSBucket.upload_from_stream``: before every file it asks whether the
    bucket is still empty, a ``find_one`` the embedded server answers by reading the
    whole collection. That cost 2.8 s per upload into a 100,000-image library.
    """
    chunks = [
        {
            "files_id": new.file_id,
            "n": n,
            "data": Binary(new.data[offset : offset + GRIDFS_CHUNK_BYTES]),
        }
        for new in files
        for n, offset in enumerate(range(0, len(new.data), GRIDFS_CHUNK_BYTES))
    ]
    if chunks:
        db["fs.chunks"].insert_many(chunks)
    now = utc_now()
    db["fs.files"].insert_many(
        [
            {
                "_id": new.file_id,
                "length": len(new.data),
                "chunkSize": GRIDFS_CHUNK_BYTES,
                "uploadDate": now,
                "filename": new.filename,
                "metadata": new.metadata,
            }
            for new in files
        ]
    )


class Originals:
    """The GridFS files images point at. Every file being written or dropped is
    claimed first, so whoever finds the claim of a writer that died finishes the job."""

    def __init__(self, store: Store, images: Documents) -> None:
        self.store = store
        # Read to tell whether an image still points at a claimed file.
        self.images = images
        self.bucket = GridFSBucket(store.db)
        self._inflight: set[ObjectId] = set()

    def claim(self, file_id: ObjectId) -> None:
        self._inflight.add(file_id)
        # An upsert: a stale claim on the same file (a retried delete) is taken over.
        GridfsClaim(file_id=file_id, host=HOST, pid=os.getpid(), created_at=utc_now()).save()

    def claim_many(self, file_ids: Sequence[ObjectId]) -> None:
        """Claim new files (ids nobody has used yet) in one insert."""
        self._inflight.update(file_ids)
        now, pid = utc_now(), os.getpid()
        self._claims().insert_many(
            [{"_id": file_id, "host": HOST, "pid": pid, "created_at": now} for file_id in file_ids]
        )

    def release(self, file_id: ObjectId) -> None:
        GridfsClaim.objects(file_id=file_id).delete()
        self._inflight.discard(file_id)

    def _is_abandoned(self, claim: Mapping[str, Any]) -> bool:
        if claim["_id"] in self._inflight:
            return False
        if claim.get("host") == HOST:
            return claim.get("pid") == os.getpid() or not pid_alive(int(claim.get("pid", 0)))
        created = claim.get("created_at")
        return created is None or utc_now() - created > CLAIM_LEASE

    def _delete_file(self, file_id: ObjectId) -> None:
        self._delete_files([file_id])

    def _delete_files(self, file_ids: Sequence[ObjectId]) -> None:
        # Chunks can exist without their fs.files document (a write cut short), so
        # delete both directly rather than through GridFSBucket.delete.
        if len(file_ids) == 1:  # by equality: what every server serves from its index
            self.store.db["fs.files"].delete_one({"_id": file_ids[0]})
            self.store.db["fs.chunks"].delete_many({"files_id": file_ids[0]})
        elif file_ids:
            self.store.db["fs.files"].delete_many({"_id": {"$in": list(file_ids)}})
            self.store.db["fs.chunks"].delete_many({"files_id": {"$in": list(file_ids)}})

    @staticmethod
    def _claims() -> Documents:
        claims: Documents = GridfsClaim._get_collection()
        return claims

    def _referenced(self, file_id: ObjectId) -> bool:
        return self.images.count_documents({"file_id": file_id}, limit=1) > 0

    def cleanup_abandoned(self) -> int:
        """Delete GridFS files of abandoned claims that no image references."""
        removed = 0
        with database_errors(self.store):
            for claim in GridfsClaim.objects.as_pymongo():
                if not self._is_abandoned(claim):
                    continue
                file_id = claim["_id"]
                if not self._referenced(file_id):
                    self._delete_file(file_id)
                    removed += 1
                GridfsClaim.objects(file_id=file_id).delete()
        return removed

    def discard_quietly(self, file_id: ObjectId) -> None:
        """Delete a claimed file unless an image references it, and drop the claim."""
        self.discard_many_quietly([file_id])

    def discard_many_quietly(self, file_ids: Sequence[ObjectId]) -> None:
        """Delete claimed files unless an image references them, and drop the claims.

        Best effort after a failure: if this fails too, the claims stay, no longer in
        flight, so the next cleanup finishes the job. The reference check matters
        because a write whose reply was lost (a cut connection, a write-concern
        error) may still have happened: deleting those bytes would leave a visible
        image without its original.
        """
        self._inflight.difference_update(file_ids)
        ids = list(file_ids)
        # Bounded: when the server is gone, the error that brought us here is what the
        # user must hear about, promptly, not after another full selection timeout.
        with pymongo.timeout(CLEANUP_TIMEOUT_S):
            for attempt in (1, 2):
                try:
                    used = {
                        doc.get("file_id")
                        for doc in self.images.find({"file_id": {"$in": ids}}, {"file_id": 1})
                    }
                    self._delete_files([file_id for file_id in ids if file_id not in used])
                    self._claims().delete_many({"_id": {"$in": ids}})
                    return
                except (ServerSelectionTimeoutError, ExecutionTimeout, NetworkTimeout):
                    return  # the server is gone or not answering: leave it to cleanup
                except PyMongoError:
                    # Once more, like a driver's retryable write: a dropped pooled
                    # connection is replaced by a fresh one. All of it is idempotent.
                    if attempt == 2:
                        return

    def release_many_quietly(self, file_ids: Sequence[ObjectId]) -> None:
        """Drop the claims on files images now use (see ``release_quietly``), in
        a bounded time: a claim left behind costs nothing but a later cleanup."""
        self._inflight.difference_update(file_ids)
        if file_ids:
            with contextlib.suppress(PyMongoError), pymongo.timeout(CLEANUP_TIMEOUT_S):
                self._claims().delete_many({"_id": {"$in": list(file_ids)}})

    def leave_to_cleanup(self, file_ids: Sequence[ObjectId]) -> None:
        """No longer in flight: the next cleanup settles these claims."""
        self._inflight.difference_update(file_ids)

    def release_quietly(self, file_id: ObjectId) -> None:
        """Drop the claim on a file an image now uses. The write it guarded is done,
        so a failure here must not be reported as the write's; the next cleanup sees
        the file referenced and drops a leftover claim."""
        self._inflight.discard(file_id)
        with contextlib.suppress(PyMongoError):
            GridfsClaim.objects(file_id=file_id).delete()

    def write_many(self, files: Sequence[NewFile]) -> None:
        """Write files already claimed (``claim_many``); the caller settles the claims."""
        write_gridfs_files(self.store.db, files)

    def write(self, data: bytes, filename: str, mime: str, sha256: str) -> ObjectId:
        """A new claimed file holding ``data``; the caller releases or discards it."""
        file_id = ObjectId()
        self.claim(file_id)
        try:
            write_gridfs_file(
                self.store.db, file_id, filename, data, {"contentType": mime, "sha256": sha256}
            )
        except BaseException:
            self.discard_quietly(file_id)
            raise
        return file_id

    def read(self, image: Mapping[str, Any]) -> bytes:
        """The original bytes ``image`` points at."""
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
