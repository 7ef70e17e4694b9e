"""Writes documents and originals into a MongoDB library: the receiving end of restore
and copy, and where conflicts with what is already there are settled.

- An image whose ``_id`` is already there is left alone if its stored bytes are
  intact (read and hashed); if they are damaged or missing and the incoming bytes are
  the same (same SHA-256), it is repaired: a new GridFS file, then the image pointed
  at it, then the old file dropped, each step covered by a claim.
- An image whose owner already holds the same bytes here (another ``_id``): the one
  here wins and the incoming one is skipped (duplicates are unique per owner).
- An incoming ``seq`` another image here has: a fresh one from the counter, which is
  first moved past every incoming ``seq`` and the incoming counter.
- An account with the same name and another id: the one here is kept and the
  incoming owner id maps to it; collections likewise by (owner, name).
Everything else is inserted as it came, ``_id`` included. Every original is hashed
while it is written and becomes a whole GridFS file only if it matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bson import Int64, ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.store.common import HOST, utc_now
from imagerepo_tui.store.counts import ImageCounts
from imagerepo_tui.store.embedded import pid_alive
from imagerepo_tui.store.models import CLAIMS, COLLECTIONS, COUNTERS, IMAGES, PUBLIC, USERS
from imagerepo_tui.store.originals import CLAIM_LEASE
from imagerepo_tui.store.schema import SEQ_COUNTER
from imagerepo_tui.store.transfer import (
    DUPLICATE,
    REPAIRED,
    SKIPPED,
    WRITTEN,
    DamagedOriginalError,
    Library,
    Placed,
    create_app_indexes,
    is_sha256,
    read_gridfs,
    write_gridfs,
)

Blocks = Callable[[], Iterator[bytes]]


class LibraryWriter:
    """Puts a source's documents into ``library``; see the module's rules."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.images = library.raw(IMAGES)
        self.counts = ImageCounts(library.store(), self.images)
        self.claims = library.raw(CLAIMS)
        self.owners: dict[str, str] = {}
        self.collection_ids: dict[Any, Any] = {}
        self.max_seq = 0
        self._lock = threading.Lock()
        with library.errors():
            create_app_indexes(library)
            self._sweep_claims()

    # -- small collections ----------------------------------------------------------------

    def put_documents(self, kind: str, docs: Iterable[dict[str, Any]]) -> list[str]:
        """Users, collections or counters; returns notes on conflicts settled."""
        put = {
            USERS: self._put_user,
            COLLECTIONS: self._put_collection,
            COUNTERS: self._put_counter,
        }
        notes: list[str] = []
        with self.library.errors():
            for doc in docs:
                note = put[kind](doc)
                if note:
                    notes.append(note)
        return notes

    def _put_user(self, doc: dict[str, Any]) -> str:
        users = self.library.raw(USERS)
        for _ in range(3):
            found = users.find_one({"_id": doc["_id"]}, {"_id": 1}) or users.find_one(
                {"name_key": doc.get("name_key")}, {"_id": 1}
            )
            if found is None:
                try:
                    users.insert_one(doc)
                except DuplicateKeyError:
                    continue  # made meanwhile: look again
                found = doc
            self.owners[str(doc["_id"])] = str(found["_id"])
            if found["_id"] == doc["_id"]:
                return ""
            return (
                f"the account {doc.get('name')!r} exists here with another id: kept it, and "
                "the incoming images and collections of that name are now its"
            )
        raise ImageRepoError(f"could not settle the account {doc.get('name')!r}; try again")

    def _put_collection(self, doc: dict[str, Any]) -> str:
        collections = self.library.raw(COLLECTIONS)
        owner = self._owner(doc.get("owner"))
        for _ in range(3):
            found = collections.find_one({"_id": doc["_id"]}, {"_id": 1}) or collections.find_one(
                {"owner": owner, "name_key": doc.get("name_key")}, {"_id": 1}
            )
            if found is None:
                try:
                    collections.insert_one({**doc, "owner": owner})
                except DuplicateKeyError:
                    continue
                found = doc
            self.collection_ids[doc["_id"]] = found["_id"]
            if found["_id"] == doc["_id"]:
                return ""
            return f"the collection {doc.get('name')!r} exists here: its images join that one"
        raise ImageRepoError(f"could not settle the collection {doc.get('name')!r}; try again")

    def _put_counter(self, doc: dict[str, Any]) -> str:
        counters = self.library.raw(COUNTERS)
        value = doc.get("value")
        if not isinstance(value, int) or isinstance(value, bool):
            counters.update_one(
                {"_id": doc["_id"]}, {"$setOnInsert": {"value": value}}, upsert=True
            )
            return ""
        # Never backwards: a counter here may be ahead, and the upload sequence must
        # stay past every seq either library has used. The value keeps its BSON type.
        try:
            counters.update_one({"_id": doc["_id"]}, {"$max": {"value": value}}, upsert=True)
        except DuplicateKeyError:  # a concurrent first upsert made it: now it exists
            counters.update_one({"_id": doc["_id"]}, {"$max": {"value": value}})
        if doc["_id"] == SEQ_COUNTER:
            self.max_seq = max(self.max_seq, value)
        return ""

    def _owner(self, owner: Any) -> Any:
        return self.owners.get(owner, owner) if isinstance(owner, str) else owner

    # -- images -----------------------------------------------------------------------------

    def record(self, image: dict[str, Any]) -> None:
        """Nothing to do before ``put_image`` (which writes the document itself)."""

    def put_image(self, image: dict[str, Any], blocks: Blocks) -> Placed:
        """One image (called from several threads at once)."""
        label = image.get("_id")
        if label is None or not is_sha256(image.get("sha256")) or not _is_count(image.get("size")):
            raise ImageRepoError(f"image {label} is damaged (no valid sha256 or size): not copied")
        with self.library.errors():
            existing = self.images.find_one({"_id": image["_id"]}, {"thumbnail": 0})
            if existing is not None:
                return self._settle_existing(existing, image, blocks)
            incoming = self._mapped(image)
            holder = self.images.find_one(
                {"owner": incoming.get("owner"), "sha256": image["sha256"]}, {"_id": 1}
            )
            if holder is not None:
                return self._duplicate(label, holder["_id"])
            file_id = self._write_original(image, blocks)
            try:
                placed = self._insert(incoming, file_id)
            except BaseException:
                self._discard(file_id)
                raise
            if placed.outcome == WRITTEN:
                self._release(file_id)
            else:
                self._discard(file_id)
            return placed

    def _duplicate(self, label: Any, holder: Any) -> Placed:
        note = f"image {label}: its owner already has the same bytes here as image {holder}; kept"
        return Placed(DUPLICATE, note=note)

    def _mapped(self, image: dict[str, Any]) -> dict[str, Any]:
        """The incoming image with owner ids and collection ids as they are here."""
        owner = image.get("owner")
        incoming = {**image, "owner": self._owner(owner)}
        if "owner" not in image:
            del incoming["owner"]
        audience = image.get("audience")
        if audience != PUBLIC and audience == owner:
            incoming["audience"] = incoming.get("owner")
        if isinstance(image.get("collections"), list):
            incoming["collections"] = [self.collection_ids.get(c, c) for c in image["collections"]]
        return incoming

    def _insert(self, incoming: dict[str, Any], file_id: ObjectId) -> Placed:
        incoming["file_id"] = file_id
        for _ in range(5):
            try:
                self.images.insert_one(incoming)
            except DuplicateKeyError as error:
                taken = self._which_taken(incoming, error)
                if taken == "seq":
                    incoming["seq"] = self._next_seq()
                    continue
                if taken == "_id":
                    return Placed(SKIPPED)  # put there meanwhile by someone else
                return self._duplicate(incoming["_id"], taken)
            self.counts.changed(None, incoming)
            if isinstance(incoming.get("seq"), int):
                with self._lock:
                    self.max_seq = max(self.max_seq, int(incoming["seq"]))
            return Placed(WRITTEN, int(incoming["size"]))
        raise ImageRepoError(f"image {incoming['_id']}: no free sequence number; try again")

    def _which_taken(self, incoming: dict[str, Any], error: DuplicateKeyError) -> Any:
        """The taken key: "_id", "seq", or the id of the image holding the same owner and bytes."""
        if self.images.find_one({"_id": incoming["_id"]}, {"_id": 1}) is not None:
            return "_id"
        holder = self.images.find_one(
            {"owner": incoming.get("owner"), "sha256": incoming["sha256"]}, {"_id": 1}
        )
        if holder is not None:
            return holder["_id"]
        pattern = (error.details or {}).get("keyPattern") or {"seq": -1}
        if "seq" in pattern:
            return "seq"
        raise ImageRepoError(f"image {incoming['_id']} clashes with an image here: {error}")

    def _next_seq(self) -> Int64:
        counters = self.library.raw(COUNTERS)
        doc = counters.find_one_and_update(
            {"_id": SEQ_COUNTER},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise ImageRepoError("could not allocate an image sequence number; try again")
        return Int64(doc["value"])

    def _settle_existing(
        self, existing: dict[str, Any], image: dict[str, Any], blocks: Blocks
    ) -> Placed:
        if self._intact(existing):
            return Placed(SKIPPED)
        label = existing["_id"]
        if existing.get("sha256") != image["sha256"]:
            raise ImageRepoError(
                f"image {label}: its stored bytes here are damaged and the incoming copy "
                "holds other bytes; not repaired"
            )
        new_file = self._write_original(image, blocks)
        old_file = existing.get("file_id")
        if isinstance(old_file, ObjectId):
            self._claim(old_file)
        try:
            matched = self.images.update_one(
                {"_id": label, "file_id": old_file}, {"$set": {"file_id": new_file}}
            ).matched_count
        except BaseException:
            # Whichever file the image does not point at goes (the reply may be lost).
            self._discard(new_file)
            if isinstance(old_file, ObjectId):
                self._discard(old_file)
            raise
        if not matched:
            self._discard(new_file)
            if isinstance(old_file, ObjectId):
                self._release(old_file)
            raise ImageRepoError(f"image {label} changed meanwhile; run this again")
        self._release(new_file)
        if isinstance(old_file, ObjectId):
            self._discard(old_file)
        return Placed(REPAIRED, int(image["size"]))

    def _intact(self, existing: dict[str, Any]) -> bool:
        """Whether an image's stored bytes are all there and hash to its sha256."""
        file_id = existing.get("file_id")
        if not isinstance(file_id, ObjectId) or not is_sha256(existing.get("sha256")):
            return False
        hasher, length = hashlib.sha256(), 0
        try:
            for block in read_gridfs(self.library, file_id, str(existing["_id"])):
                hasher.update(block)
                length += len(block)
        except DamagedOriginalError:
            return False
        return length == existing.get("size") and hasher.hexdigest() == existing["sha256"]

    # -- claims: a crash between writing bytes and pointing an image at them ---------------

    def _write_original(self, image: dict[str, Any], blocks: Blocks) -> ObjectId:
        file_id = ObjectId()
        self._claim(file_id)
        try:
            write_gridfs(self.library.db, file_id, blocks(), image)
        except BaseException:
            self._discard(file_id)
            raise
        return file_id

    def _claim(self, file_id: ObjectId) -> None:
        claim = {"host": HOST, "pid": os.getpid(), "created_at": utc_now()}
        self.claims.replace_one({"_id": file_id}, claim, upsert=True)

    def _release(self, file_id: ObjectId) -> None:
        # A claim left on a file in use is dropped by the next sweep.
        with contextlib.suppress(PyMongoError):
            self.claims.delete_one({"_id": file_id})

    def _discard(self, file_id: ObjectId) -> None:
        """Delete a claimed file unless an image uses it; best effort (a claim left
        behind is finished by the next sweep, here or in the app)."""
        with contextlib.suppress(PyMongoError):
            if self.images.count_documents({"file_id": file_id}, limit=1) == 0:
                self.library.db["fs.files"].delete_one({"_id": file_id})
                self.library.db["fs.chunks"].delete_many({"files_id": file_id})
            self.claims.delete_one({"_id": file_id})

    def _sweep_claims(self) -> None:
        """Finish what an interrupted run (of this or the app) left: files claimed by a
        process that is gone and used by no image."""
        for claim in self.claims.find({}):
            if claim.get("host") == HOST:
                pid = claim.get("pid")
                abandoned = isinstance(pid, int) and pid != os.getpid() and not pid_alive(pid)
            else:
                created = claim.get("created_at")
                abandoned = created is None or utc_now() - created > CLAIM_LEASE
            if abandoned:
                self._discard(claim["_id"])

    def finish(self) -> None:
        """Move the upload counter past every seq written."""
        with self.library.errors():
            self.library.raw(COUNTERS).update_one(
                {"_id": SEQ_COUNTER}, {"$max": {"value": self.max_seq}}, upsert=True
            )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
