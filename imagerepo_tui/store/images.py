"""ImageStore: image documents and their GridFS originals kept consistent, the one door
the repository uses for images. Every pymongo failure leaves as an ``errors`` type.

The parts live beside it: ``originals`` (GridFS files and claims), ``paging`` (pages,
counts, id streams), ``schema`` (upgrades and indexes), ``common`` (shared helpers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError
from pymongo.errors import DuplicateKeyError

from imagerepo_tui.errors import DuplicateContentError, ImageRepoError, NotFoundError
from imagerepo_tui.query_terms import Query
from imagerepo_tui.store.common import (
    LIST_PROJECTION,
    database_errors,
    hash_fields,
    tolerant,
    utc_now,
)
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.counts import ImageCounts
from imagerepo_tui.store.filters import audience_filters, listing_sort
from imagerepo_tui.store.image_batches import (
    ImageBatches,
    NewImage,
    Outcome,
    new_image,
    reserve_seqs,
)
from imagerepo_tui.store.models import PUBLIC, Image
from imagerepo_tui.store.originals import Originals
from imagerepo_tui.store.paging import Pager
from imagerepo_tui.store.schema import prepare_library


def visibility(owner: str, *, public: bool, trashed: bool) -> dict[str, Any]:
    """The fields that say who sees an image. ``audience`` is what lists and searches
    match on: a trashed image is its owner's alone, public or not."""
    audience = PUBLIC if public and not trashed else owner
    return {"public": public, "trashed": trashed, "audience": audience}


class ImageStore:
    """Image documents plus their GridFS originals, kept consistent."""

    def __init__(self, store: Store, on_upgrade: Callable[[], None] | None = None) -> None:
        self.store = store
        self.images = tolerant(Image._get_collection())
        self.originals = Originals(store, self.images)
        self.pager = Pager(store, self.images)
        self.counts = ImageCounts(store, self.images)
        self.batches = ImageBatches(store, self.images, self.originals, self.counts)
        with database_errors(store):
            prepare_library(store, self.images, on_upgrade)
        self.counts.ensure_counted()

    def cleanup_abandoned(self) -> int:
        """Delete GridFS files of abandoned claims that no image references."""
        return self.originals.cleanup_abandoned()

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
        return self.originals.read(image)

    def thumbnail(self, image_id: ObjectId) -> bytes:
        with database_errors(self.store):
            doc = self.images.find_one({"_id": image_id}, {"thumbnail": 1})
        if doc is None:
            raise NotFoundError(f"no image with id {image_id}")
        thumbnail = doc.get("thumbnail")
        # Only stored bytes (bson's Binary is bytes): anything else another client put
        # there is no thumbnail, and the preview falls back to the original.
        return bytes(thumbnail) if isinstance(thumbnail, bytes) else b""

    def thumbnails(self, hex_ids: Sequence[str], audiences: Sequence[str]) -> dict[str, bytes]:
        """The stored thumbnails of these images that ``audiences`` may see, by id, in
        one read (a screen of grid tiles). Only ``_id`` is filtered on, which every
        server answers from its index; who may see each is checked on what comes back."""
        ids = [ObjectId(hex_id) for hex_id in hex_ids if ObjectId.is_valid(hex_id)]
        with database_errors(self.store):
            docs = list(self.images.find({"_id": {"$in": ids}}, {"thumbnail": 1, "audience": 1}))
        return {
            str(doc["_id"]): bytes(doc["thumbnail"])
            for doc in docs
            if doc.get("audience") in audiences and isinstance(doc.get("thumbnail"), bytes)
        }

    def ping(self) -> None:
        with database_errors(self.store):
            self.store.client.admin.command("ping")

    def page(
        self,
        query: Query,
        audiences: Sequence[str],
        limit: int,
        *,
        trash: bool = False,
        oldest_first: bool = False,
        after: Any = None,
    ) -> tuple[list[dict[str, Any]], Any]:
        """Up to ``limit`` images matching ``query`` that ``audiences`` may see, live or
        trashed, in the query's order (``oldest_first`` reverses it), from the cursor
        ``after``; returns them and the next page's cursor (None after the last)."""
        sort = listing_sort(query, trash=trash)
        return self.pager.page(
            audience_filters(query, audiences, trash=trash),
            limit,
            field=sort.field,
            descending=sort.descending != oldest_first,
            after=after,
        )

    def count(self, query: Query, audiences: Sequence[str], *, trash: bool = False) -> int:
        """How many images matching ``query`` ``audiences`` may see, live or trashed:
        the kept count when nothing narrows it (the status line's number)."""
        if not query.terms:
            return self.counts.total(audiences, trash=trash)
        return self.pager.count(audience_filters(query, audiences, trash=trash))

    def ids(
        self, query: Query, audiences: Sequence[str], *, trash: bool = False
    ) -> Iterator[ObjectId]:
        """Ids of every match, streamed by the driver in batches, never held whole."""
        return self.pager.ids(audience_filters(query, audiences, trash=trash))

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
        # Rare (an account deleted, a library adopted) and many images at once: a fresh
        # count is simpler than following each one.
        self.counts.rewrite(self.counts.recount())

    def _give_away_one_by_one(self, owner: str, new_owner: str) -> None:
        for doc in self.images.find({"owner": owner}, {"audience": 1}).batch_size(500):
            audience = new_owner if doc.get("audience") == owner else doc.get("audience")
            with contextlib.suppress(DuplicateKeyError):
                self.images.update_one(
                    {"_id": doc["_id"], "owner": owner},
                    {"$set": {"owner": new_owner, "audience": audience}},
                )

    # -- writes -------------------------------------------------------------------------

    def _write_original(self, data: bytes, fields: Mapping[str, Any]) -> ObjectId:
        return self.originals.write(data, fields["filename"], fields["mime"], fields["sha256"])

    def reserve_seqs(self, count: int) -> int:
        """Reserve ``count`` consecutive upload sequence numbers (one ``$inc``) for
        ``add``/``add_many``; returns the first. Uploads reserve them in input order."""
        with database_errors(self.store):
            return reserve_seqs(count)

    def add(self, data: bytes, fields: dict[str, Any], seq: int) -> tuple[dict[str, Any], bool]:
        """Store a new image all-or-nothing, numbered ``seq`` (from ``reserve_seqs``);
        returns (document, created).

        ``created`` is False when an image with the same bytes already exists (found
        before writing, or lost a race to another writer): its document is returned.
        """
        existing = self.find_by_sha256(fields["sha256"], fields["owner"])
        if existing is not None:
            return existing, False
        fields = {**fields, **hash_fields(fields.get("phash"))}
        with database_errors(self.store):
            file_id = self._write_original(data, fields)
            try:
                image = new_image(fields, file_id, seq, utc_now())
                image.save(force_insert=True)
            except NotUniqueError:
                self.originals.discard_quietly(file_id)
                winner = self.find_by_sha256(fields["sha256"], fields["owner"])
                if winner is None:
                    raise
                return winner, False
            except BaseException:
                self.originals.discard_quietly(file_id)
                raise
        self.originals.release_quietly(file_id)
        stored = image.to_mongo().to_dict()
        stored.pop("thumbnail", None)
        self.counts.changed(None, stored)
        return stored, True

    def add_many(self, items: Sequence[NewImage]) -> list[Outcome]:
        """Store a group of new images, each all-or-nothing and numbered as its item
        says (``reserve_seqs``), in a few round trips:
        one outcome per item, in order (``image_batches.ImageBatches.add_many``)."""
        return self.batches.add_many(items)

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
            new_file = self._write_original(data, fields)
            old_file = current["file_id"]
            self.originals.claim(old_file)
            try:
                updated = self._update_and_read(
                    # Only if nobody replaced it meanwhile: never lose their new bytes.
                    {"_id": image_id, "file_id": old_file, "owner": owner},
                    {
                        "$set": {
                            **fields,
                            **hash_fields(fields.get("phash")),
                            "file_id": new_file,
                            "updated_at": utc_now(),
                        }
                    },
                )
            except DuplicateKeyError:
                self.originals.discard_quietly(new_file)
                self.originals.release(old_file)
                raise DuplicateContentError(
                    "those bytes were just stored as another image"
                ) from None
            except BaseException:
                # Whichever file the image does not point at goes: the update may
                # have happened even though its reply was lost.
                self.originals.discard_quietly(new_file)
                self.originals.discard_quietly(old_file)
                raise
            if updated is None:
                self.originals.discard_quietly(new_file)
                self.originals.release(old_file)
                raise ImageRepoError(f"image {image_id} changed or vanished meanwhile; try again")
        # Done: the image points at its new bytes. Dropping the old ones is cleanup
        # that must not report the replacement as failed; a claim it leaves behind
        # is finished by the next cleanup.
        self.originals.release_quietly(new_file)
        self.originals.discard_quietly(old_file)
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

    def set_visibility(
        self,
        current: Mapping[str, Any],
        *,
        public: bool | None = None,
        trashed: bool | None = None,
    ) -> dict[str, Any]:
        """Share, unshare, trash or restore an image its owner has read as ``current``;
        what is not given stays. Trashing stamps ``deleted_at`` for ``empty-trash
        --older-than``."""
        owner = current["owner"]
        was_trashed = bool(current.get("trashed"))
        now_trashed = was_trashed if trashed is None else trashed
        now_public = bool(current.get("public")) if public is None else public
        changes = visibility(owner, public=now_public, trashed=now_trashed)
        if now_trashed != was_trashed:
            changes["deleted_at"] = utc_now() if now_trashed else None
        updated = self.update_fields(current["_id"], changes, owner=owner)
        self.counts.changed(current, updated)
        return updated

    def update_if_unchanged(
        self, current: Mapping[str, Any], changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Change an image its owner has read as ``current``, only if the changed
        fields still hold what was read (a change derived from them, such as a turn
        added to the rotation, must not undo another's): None when one changed
        meanwhile. ``$eq``: a stored value is never read as an operator."""
        criteria = {"_id": current["_id"], "owner": current["owner"]}
        criteria.update({key: {"$eq": current.get(key)} for key in changes})
        with database_errors(self.store):
            return self._update_and_read(criteria, {"$set": {**changes, "updated_at": utc_now()}})

    def delete(self, image_id: ObjectId, *, owner: str) -> dict[str, Any]:
        """Delete ``owner``'s image for good, bytes too (anyone else's is not found)."""
        doc = self.get(image_id)
        if doc.get("owner") != owner:
            raise NotFoundError(f"no image with id {image_id}")
        if not isinstance(doc.get("file_id"), ObjectId):
            return self._delete_damaged(doc, owner)
        with database_errors(self.store):
            # Claim first: if we die after the document goes, the bytes are still found.
            self.originals.claim(doc["file_id"])
            try:
                deleted = self.images.delete_one({"_id": image_id, "owner": owner}).deleted_count
            except BaseException:
                # Deleted or not, the claim must not outlive this call in our
                # in-flight set (where no cleanup would touch it): settle it now.
                self.originals.discard_quietly(doc["file_id"])
                raise
            if deleted == 0:
                self.originals.release(doc["file_id"])
                raise NotFoundError(f"no image with id {image_id}")
        self.counts.changed(doc, None)
        # The image is gone; its bytes go now, or with the next cleanup if this fails.
        self.originals.discard_quietly(doc["file_id"])
        return doc

    def _delete_damaged(self, doc: dict[str, Any], owner: str) -> dict[str, Any]:
        """A document that names no stored original (another client wrote it): there
        are no bytes to take along, and it must still be possible to get rid of it."""
        with database_errors(self.store):
            deleted = self.images.delete_one({"_id": doc["_id"], "owner": owner}).deleted_count
        if deleted == 0:
            raise NotFoundError(f"no image with id {doc['_id']}")
        self.counts.changed(doc, None)
        return doc
