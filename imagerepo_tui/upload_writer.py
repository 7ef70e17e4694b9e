"""Storing one prepared upload in the library: its record, its collection, a duplicate's return.

The writer stage of ``uploads.run_uploads`` for ``ImageRepository.upload_files``;
it runs on writer threads, each storing the files that are ready as one group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError, NotFoundError
from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import (
    CollectionInfo,
    ImageInfo,
    NewMetadata,
    UploadResult,
    check_meta,
    normalise_tags,
    search_fields,
)
from imagerepo_tui.store import CollectionExistsError, CollectionStore, ImageStore, visibility


class UploadWriter:
    """Writes prepared files for the user ``me()`` names, as ``info`` shows them."""

    def __init__(
        self,
        images: ImageStore,
        collections: CollectionStore,
        me: Callable[[], str],
        info: Callable[[dict[str, Any]], ImageInfo],
    ) -> None:
        self._images = images
        self._collections = collections
        self._me = me
        self._info = info

    def store(self, prepared: PreparedUpload, seq: int, metadata: NewMetadata) -> UploadResult:
        """Store one file (a large one, or one ready alone), numbered ``seq``."""
        fields = self._fields(prepared, metadata, self._collections_of(metadata))
        doc, created = self._images.add(prepared.data, fields, seq)
        return self._result(prepared, metadata, fields["collections"], doc, created)

    def store_group(
        self, group: Sequence[PreparedUpload], first_seq: int, metadata: NewMetadata
    ) -> list[UploadResult | ImageRepoError]:
        """Store files that are ready together, in a few round trips for all of them
        (``ImageStore.add_many``), the group's file ``i`` numbered ``first_seq + i``;
        one result or error per file, in order. Raises only for a failure of the
        whole group."""
        if len(group) == 1:  # the one-file path: no bookkeeping of a group
            try:
                return [self.store(group[0], first_seq, metadata)]
            except DatabaseUnavailableError:
                raise
            except ImageRepoError as error:
                return [error]
        collections = self._collections_of(metadata)
        fields: list[dict[str, Any] | ImageRepoError] = []
        for prepared in group:
            try:
                fields.append(self._fields(prepared, metadata, collections))
            except ImageRepoError as error:
                fields.append(error)
        stored = iter(
            self._images.add_many(
                [
                    (p.data, f, first_seq + i)
                    for i, (p, f) in enumerate(zip(group, fields, strict=True))
                    if isinstance(f, dict)
                ]
            )
        )
        results: list[UploadResult | ImageRepoError] = []
        for prepared, own in zip(group, fields, strict=True):
            outcome = own if isinstance(own, ImageRepoError) else next(stored)
            if isinstance(outcome, ImageRepoError):
                results.append(outcome)
                continue
            try:
                results.append(self._result(prepared, metadata, collections, *outcome))
            except DatabaseUnavailableError:
                raise
            except ImageRepoError as error:  # rejoining a duplicate failed
                results.append(error)
        return results

    def _collections_of(self, metadata: NewMetadata) -> list[Any]:
        return [self._collection(metadata.collection)] if metadata.collection else []

    def _fields(
        self, prepared: PreparedUpload, metadata: NewMetadata, collections: list[Any]
    ) -> dict[str, Any]:
        """The new image's document fields, as the upload's metadata says."""
        meta = {**metadata.meta, **prepared.entry.meta}
        check_meta(meta)
        me = self._me()
        tags = normalise_tags(metadata.tags)
        return {
            "owner": me,
            **visibility(me, public=metadata.public, trashed=False),
            **prepared.fields,
            "title": metadata.title,
            "description": metadata.description,
            "tags": tags,
            "custom": meta,
            "collections": collections,
            **search_fields(
                prepared.fields["filename"], metadata.title, metadata.description, tags
            ),
        }

    def _result(
        self,
        prepared: PreparedUpload,
        metadata: NewMetadata,
        collections: list[Any],
        doc: dict[str, Any],
        created: bool,
    ) -> UploadResult:
        if not created:
            doc = self._join_duplicate(doc, collections, metadata.public)
        return UploadResult(
            prepared.entry.path,
            "created" if created else "duplicate",
            self._info(doc),
            size=len(prepared.data),
        )

    def _collection(self, name: str) -> Any:
        """The id of the upload's target collection, created on first use."""
        me = self._me()
        try:
            doc = self._collections.by_name(name, me)
        except NotFoundError:
            try:
                return self._collections.create(name, me)["_id"]
            except CollectionExistsError:  # another upload worker just made it
                doc = self._collections.by_name(name, me)
        CollectionInfo.from_document(doc).check_holds_by_hand()  # a smart one: refused
        return doc["_id"]

    def _join_duplicate(
        self, doc: dict[str, Any], collections: list[Any], public: bool
    ) -> dict[str, Any]:
        """Uploading bytes that are already stored means "I want this image here": a
        trashed copy comes back, it joins the upload's collection, and an upload that
        shares it makes it public (one without ``--public`` keeps what was chosen).
        Only the uploader's own images are duplicates: nobody learns what others hold."""
        now_public = bool(public or doc.get("public"))
        if doc.get("trashed") or now_public != bool(doc.get("public")):
            doc = self._images.set_visibility(doc, public=now_public, trashed=False)
        for collection_id in collections:
            self._collections.add_images(collection_id, [doc["_id"]])
        return self._images.get(doc["_id"]) if collections else doc
