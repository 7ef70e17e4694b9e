"""ImageRepository: every operation the CLI or the TUI can do, and the only door to I/O.

No printing, no Textual. Errors are ``imagerepo_tui.errors`` types whose text is fit
for a user; a ``DatabaseUnavailableError`` means "stop the batch", anything else
fails only the item at hand.
"""

from __future__ import annotations

import os
import re
import secrets
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import (
    AmbiguousIdError,
    DatabaseUnavailableError,
    ExportError,
    ImageRepoError,
    InvalidIdError,
    NotFoundError,
    UnreadablePathError,
)
from imagerepo_tui.files import (
    PreparedUpload,
    display_filename,
    find_upload_files,
    image_fields,
    link_without_overwrite,
    read_upload_file,
    safe_export_name,
)
from imagerepo_tui.query import Query, Sort, combine, parse_query
from imagerepo_tui.records import (
    IN_TRASH,
    LIVE,
    CollectionInfo,
    FileEntry,
    ImageInfo,
    NewMetadata,
    Page,
    UploadResult,
    check_meta,
    normalise_tags,
    parse_meta,
    search_fields,
    tag_key,
)
from imagerepo_tui.store import (
    CollectionExistsError,
    CollectionStore,
    ImageStore,
    Store,
    open_store,
    utc_now,
)
from imagerepo_tui.textsafe import visible

# The one API front ends import: the records and file helpers are part of it.
__all__ = [
    "CollectionInfo",
    "FileEntry",
    "ImageInfo",
    "ImageRepository",
    "NewMetadata",
    "Page",
    "UploadResult",
    "find_upload_files",
    "normalise_tags",
    "parse_meta",
    "read_upload_file",
    "safe_export_name",
    "search_fields",
]

MIN_ID_PREFIX = 6
PAGE_SIZE = 200
_ID_TEXT = re.compile(r"[0-9a-f]{6,24}")
# Files in flight during an upload: enough to overlap decoding with writes and keep
# both cores busy, few enough that memory stays small (each file is held whole).
_UPLOAD_WORKERS = 3
_UPLOAD_AHEAD = 6


def _label_in_input_order(
    result: UploadResult,
    later: Iterable[tuple[FileEntry, Future[UploadResult] | None]],
    reported: set[str],
) -> UploadResult:
    """Identical files in one batch are stored concurrently, so a later copy can win
    the race and be the one that created the image. Report the first copy in input
    order as created and the rest as duplicates, as a sequential upload would."""
    if result.image is None:
        return result
    image_id = result.image.id
    if image_id in reported:
        return replace(result, status="duplicate")
    reported.add(image_id)
    if result.status != "duplicate":
        return result
    for entry, job in later:
        # Identical content has an identical size: only such a file can have won.
        if job is None or entry.size != result.size:
            continue
        try:
            other = job.result()
        except ImageRepoError:
            continue  # reported when its turn comes
        if other.status == "created" and other.image is not None and other.image.id == image_id:
            return replace(result, status="created")
    return result


class ImageRepository:
    """The image library. Open with ``ImageRepository.open(settings)``; close when done."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.settings = settings
        self._store = store
        self._images = ImageStore(store)
        self._collections = CollectionStore(store)
        self._images.cleanup_abandoned()

    @classmethod
    def open(cls, settings: Settings) -> ImageRepository:
        return cls(open_store(settings), settings)

    def close(self) -> None:
        self._store.close()

    @property
    def database_description(self) -> str:
        return self._store.description

    # -- ids ------------------------------------------------------------------------------

    def resolve_id(self, text: str) -> Any:
        """The full id for an id or a unique prefix of 6+ hex characters (like git)."""
        wanted = text.strip().lower()
        if not _ID_TEXT.fullmatch(wanted):
            raise InvalidIdError(
                f"{visible(text)!r} is not an image id (24 hex characters, or a unique "
                f"prefix of at least {MIN_ID_PREFIX})"
            )
        matches = self._images.ids_with_prefix(wanted, limit=2)
        if not matches:
            raise NotFoundError(f"no image with id {wanted}")
        if len(matches) > 1:
            raise AmbiguousIdError(f"id prefix {wanted} matches several images; give more of it")
        return matches[0]

    # -- reading --------------------------------------------------------------------------

    def info(self, image_id: str) -> ImageInfo:
        return ImageInfo.from_document(self._images.get(self.resolve_id(image_id)))

    # -- searching ------------------------------------------------------------------------

    def parse_query(self, text: str) -> Query:
        """Parse search text (see ``query.py``); raises ``QueryError`` pointing at the
        bad part. Collection names are looked up here."""
        return parse_query(text, self._collection_id)

    def _collection_id(self, name: str) -> Any:
        return self._collections.by_name(name)["_id"]

    def _criteria(self, query: str | Query | None, trash: bool) -> tuple[dict[str, Any], Sort]:
        if isinstance(query, str):
            query = self.parse_query(query)
        criteria, sort = (query.criteria, query.sort) if query else ({}, Sort())
        if trash and sort.is_default:
            sort = Sort("deleted_at", descending=True)
        base = IN_TRASH if trash else LIVE
        return combine([base, criteria]) if criteria else dict(base), sort

    def count(self, query: str | Query | None = None, *, trash: bool = False) -> int:
        """How many live (or trashed) images match."""
        criteria, _ = self._criteria(query, trash)
        return self._images.count_matching(criteria)

    def list_page(
        self,
        query: str | Query | None = None,
        before: Any = None,
        limit: int = PAGE_SIZE,
        *,
        oldest_first: bool = False,
        trash: bool = False,
    ) -> Page:
        """One page of matches in the query's order (newest first by default).

        ``before`` is the previous page's ``next_before``. ``oldest_first`` reverses
        the order, so a list can be read from its end too. ``trash`` lists the trash
        (most recently deleted first) instead of the library.
        """
        criteria, sort = self._criteria(query, trash)
        descending = sort.descending != oldest_first
        docs, cursor = self._images.page(
            criteria, limit, field=sort.field, descending=descending, after=before
        )
        return Page([ImageInfo.from_document(doc) for doc in docs], cursor)

    def iter_images(
        self,
        query: str | Query | None = None,
        limit: int | None = None,
        *,
        trash: bool = False,
    ) -> Iterator[ImageInfo]:
        """Every match, fetched a page at a time (never all held at once)."""
        if isinstance(query, str):
            query = self.parse_query(query)  # once, not per page
        before: Any = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            page = self.list_page(query, before, size, trash=trash)
            yield from page.items
            if remaining is not None:
                remaining -= len(page.items)
            if page.next_before is None:
                return
            before = page.next_before

    def iter_ids(self, query: str | Query | None = None, *, trash: bool = False) -> Iterator[str]:
        """Ids of every match, streamed: what a bulk action over a search walks."""
        criteria, _ = self._criteria(query, trash)
        return (str(oid) for oid in self._images.ids_matching(criteria))

    def original_bytes(self, image_id: str) -> tuple[ImageInfo, bytes]:
        doc = self._images.get(self.resolve_id(image_id))
        data = self._images.read_original(doc)
        if imaging.sha256_hex(data) != doc["sha256"]:
            raise ImageRepoError(f"image {doc['_id']} is damaged: its bytes fail their checksum")
        return ImageInfo.from_document(doc), data

    def thumbnail(self, image_id: str) -> bytes:
        return self._images.thumbnail(self.resolve_id(image_id))

    # -- uploading ------------------------------------------------------------------------

    def _prepare(self, entry: FileEntry) -> PreparedUpload:
        data = read_upload_file(entry.path, self.settings.max_file_bytes)
        fields = image_fields(data, display_filename(entry.path), self.settings.max_pixels)
        return PreparedUpload(entry, data, fields)

    def _store_prepared(self, prepared: PreparedUpload, metadata: NewMetadata) -> UploadResult:
        check_meta(metadata.meta)
        tags = normalise_tags(metadata.tags)
        fields = {
            **prepared.fields,
            "title": metadata.title,
            "description": metadata.description,
            "tags": tags,
            "custom": dict(metadata.meta),
            "collections": [self._upload_collection(metadata)] if metadata.collection else [],
            **search_fields(
                prepared.fields["filename"], metadata.title, metadata.description, tags
            ),
        }
        doc, created = self._images.add(prepared.data, fields)
        if not created:
            doc = self._join_duplicate(doc, fields["collections"])
        return UploadResult(
            prepared.entry.path,
            "created" if created else "duplicate",
            ImageInfo.from_document(doc),
            size=len(prepared.data),
        )

    def _upload_collection(self, metadata: NewMetadata) -> Any:
        """The id of the upload's target collection, created on first use."""
        assert metadata.collection is not None
        try:
            return self._collections.by_name(metadata.collection)["_id"]
        except NotFoundError:
            try:
                return self._collections.create(metadata.collection)["_id"]
            except CollectionExistsError:  # another upload worker just made it
                return self._collections.by_name(metadata.collection)["_id"]

    def _join_duplicate(self, doc: dict[str, Any], collections: list[Any]) -> dict[str, Any]:
        """Uploading bytes that are already stored means "I want this image here": a
        trashed copy comes back, and it joins the upload's collection."""
        changes: dict[str, Any] = {}
        if doc.get("trashed"):
            changes.update(trashed=False, deleted_at=None)
        for collection_id in collections:
            self._collections.add_images(collection_id, [doc["_id"]])
        if changes:
            return self._images.update_fields(doc["_id"], changes)
        return self._images.get(doc["_id"]) if collections else doc

    def upload(self, path: str | Path, metadata: NewMetadata | None = None) -> UploadResult:
        """Upload one file; a bad file is an ``error`` result, not an exception."""
        entry = next(find_upload_files([path], recursive=False))
        return next(self.upload_files([entry], metadata))

    def upload_files(
        self, entries: Iterable[FileEntry], metadata: NewMetadata | None = None
    ) -> Iterator[UploadResult]:
        """Upload files, yielding each result in input order as soon as it is stored.

        A few files are in flight at once, each read, hashed, decoded and written by a
        worker thread: decoding overlaps the writes and the server gets concurrent
        requests, which keeps both cores busy. Raises ``DatabaseUnavailableError``
        (after yielding what was done) when the database goes away: stop the batch
        rather than wait out a timeout per file. Closing the iterator early cancels the
        files not yet started.
        """
        metadata = metadata or NewMetadata()
        self._images.cleanup_abandoned()
        pending: deque[tuple[FileEntry, Future[UploadResult] | None]] = deque()
        reported: set[str] = set()
        lost: list[DatabaseUnavailableError] = []
        source = iter(entries)
        with ThreadPoolExecutor(max_workers=_UPLOAD_WORKERS, thread_name_prefix="upload") as pool:
            try:
                while True:
                    while len(pending) < _UPLOAD_AHEAD:
                        entry = next(source, None)
                        if entry is None:
                            break
                        job = (
                            None
                            if entry.error
                            else pool.submit(self._upload_one, entry, metadata, lost)
                        )
                        pending.append((entry, job))
                    if not pending:
                        return
                    entry, job = pending.popleft()
                    yield _label_in_input_order(self._result_of(entry, job), pending, reported)
            finally:
                for _, job in pending:
                    if job is not None:
                        job.cancel()

    def _upload_one(
        self, entry: FileEntry, metadata: NewMetadata, lost: list[DatabaseUnavailableError]
    ) -> UploadResult:
        # Once one file has found the database gone, the files queued behind it give up
        # at once: each would otherwise wait out a server-selection timeout before the
        # batch could stop (workers pick up queued files before they can be cancelled).
        if lost:
            raise DatabaseUnavailableError(str(lost[0]))
        try:
            return self._store_prepared(self._prepare(entry), metadata)
        except DatabaseUnavailableError as error:
            lost.append(error)
            raise

    @staticmethod
    def _result_of(entry: FileEntry, job: Future[UploadResult] | None) -> UploadResult:
        if job is None:
            return UploadResult(entry.path, "error", error=entry.error, size=entry.size)
        try:
            return job.result()
        except DatabaseUnavailableError:
            raise
        except ImageRepoError as error:
            return UploadResult(entry.path, "error", error=str(error), size=entry.size)

    # -- changing -------------------------------------------------------------------------

    def replace_content(self, image_id: str, path: str | Path) -> ImageInfo:
        """New bytes for an image; its id, title, description and tags stay."""
        oid = self.resolve_id(image_id)
        entry = next(find_upload_files([path], recursive=False))
        if entry.error:
            raise UnreadablePathError(f"{visible(str(path))}: {entry.error}")
        prepared = self._prepare(entry)
        current = ImageInfo.from_document(self._images.get(oid))
        fields = {
            **prepared.fields,
            # The sort key of sort:taken follows the new bytes' date taken too.
            "taken_key": prepared.fields["taken_at"] or current.created_at,
            **search_fields(
                prepared.fields["filename"], current.title, current.description, current.tags
            ),
        }
        return ImageInfo.from_document(self._images.replace_content(oid, prepared.data, fields))

    def edit(
        self,
        image_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        tags: Sequence[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        unset_meta: Sequence[str] = (),
    ) -> ImageInfo:
        """Change metadata. ``tags`` replaces the list, ``add/remove_tags`` adjust it;
        ``meta`` sets custom fields (typed by ``parse_meta``), ``unset_meta`` drops them."""
        check_meta(meta or {}, unset_meta)
        oid = self.resolve_id(image_id)
        current = ImageInfo.from_document(self._images.get(oid))
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description
        new_tags = list(current.tags)
        if tags is not None or add_tags or remove_tags:
            dropped = {tag_key(tag) for tag in remove_tags}
            base = list(current.tags) if tags is None else list(tags)
            kept = [tag for tag in base if tag_key(tag) not in dropped]
            new_tags = normalise_tags([*kept, *add_tags])
            changes["tags"] = new_tags
        for key, value in (meta or {}).items():
            changes[f"meta.{key}"] = value
        unset = [f"meta.{key}" for key in unset_meta]
        if not changes and not unset:
            return current
        changes.update(
            search_fields(
                current.filename,
                changes.get("title", current.title),
                changes.get("description", current.description),
                new_tags,
            )
        )
        return ImageInfo.from_document(self._images.update_fields(oid, changes, unset=unset))

    # -- trash ----------------------------------------------------------------------------

    def delete(self, image_id: str) -> ImageInfo:
        """Move an image to the trash: hidden from lists, search and collections, its
        bytes kept until purged."""
        oid = self.resolve_id(image_id)
        doc = self._images.get(oid)
        if doc.get("trashed"):
            return ImageInfo.from_document(doc)
        changes = {"trashed": True, "deleted_at": utc_now()}
        return ImageInfo.from_document(self._images.update_fields(oid, changes))

    def restore(self, image_id: str) -> ImageInfo:
        """Bring an image back from the trash with its metadata and collections."""
        oid = self.resolve_id(image_id)
        doc = self._images.get(oid)
        if not doc.get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash")
        changes = {"trashed": False, "deleted_at": None}
        return ImageInfo.from_document(self._images.update_fields(oid, changes))

    def purge(self, image_id: str) -> ImageInfo:
        """Delete a trashed image for good, GridFS bytes included."""
        oid = self.resolve_id(image_id)
        if not self._images.get(oid).get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash (delete it first)")
        return ImageInfo.from_document(self._images.delete(oid))

    def empty_trash(self, older_than: timedelta | None = None) -> Iterator[ImageInfo]:
        """Purge trashed images (deleted longer ago than ``older_than``), yielding each."""
        criteria: dict[str, Any] = dict(IN_TRASH)
        if older_than is not None:
            criteria = {"trashed": True, "deleted_at": {"$lt": utc_now() - older_than}}
        for oid in list(self._images.ids_matching(criteria)):
            yield ImageInfo.from_document(self._images.delete(oid))

    # -- collections ------------------------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        """Every collection with its count of live images, by name."""
        return [
            CollectionInfo.from_document(doc, self._collections.image_count(doc["_id"], LIVE))
            for doc in self._collections.all()
        ]

    def collection(self, name: str) -> CollectionInfo:
        doc = self._collections.by_name(name)
        return CollectionInfo.from_document(doc, self._collections.image_count(doc["_id"], LIVE))

    def create_collection(self, name: str, description: str = "") -> CollectionInfo:
        if not name.strip():
            raise ImageRepoError("a collection needs a name")
        return CollectionInfo.from_document(self._collections.create(name, description))

    def rename_collection(self, name: str, new_name: str) -> CollectionInfo:
        if not new_name.strip():
            raise ImageRepoError("a collection needs a name")
        doc = self._collections.by_name(name)
        return CollectionInfo.from_document(
            self._collections.update(doc["_id"], {"name": new_name})
        )

    def describe_collection(self, name: str, description: str) -> CollectionInfo:
        doc = self._collections.by_name(name)
        return CollectionInfo.from_document(
            self._collections.update(doc["_id"], {"description": description})
        )

    def delete_collection(self, name: str) -> CollectionInfo:
        """The collection goes; its images stay in the library."""
        doc = self._collections.by_name(name)
        self._collections.delete(doc["_id"])
        return CollectionInfo.from_document(doc)

    def add_to_collection(self, name: str, image_ids: Iterable[str]) -> int:
        """Add images (ids or prefixes); returns how many were not in it already."""
        collection_id = self._collections.by_name(name)["_id"]
        return self._collections.add_images(collection_id, [self.resolve_id(i) for i in image_ids])

    def remove_from_collection(self, name: str, image_ids: Iterable[str]) -> int:
        collection_id = self._collections.by_name(name)["_id"]
        return self._collections.remove_images(
            collection_id, [self.resolve_id(i) for i in image_ids]
        )

    def collection_names(self, collection_ids: Iterable[str]) -> list[str]:
        """Names for ids (as ``ImageInfo.collections`` holds them), for display."""
        wanted = set(collection_ids)
        return [doc["name"] for doc in self._collections.all() if str(doc["_id"]) in wanted]

    # -- exporting ------------------------------------------------------------------------

    def export(self, image_id: str, folder: str | Path, *, force: bool = False) -> Path:
        """Write the original bytes as ``folder/<sanitised original filename>``.

        Never outside ``folder``, never through a symlink planted at the target name,
        never over an existing file unless ``force`` (then replaced atomically).
        """
        directory = Path(folder)
        if not directory.is_dir():
            raise ExportError(f"{visible(str(directory))} is not a folder")
        info, data = self.original_bytes(image_id)
        target = directory / safe_export_name(info.filename, f"{info.id}.{info.format.lower()}")
        if not force and os.path.lexists(target):
            raise ExportError(f"{visible(str(target))} already exists (use --force to overwrite)")
        temporary = directory / f".{target.name}.{secrets.token_hex(4)}.part"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if force:
                if target.is_dir() and not target.is_symlink():
                    raise ExportError(f"{visible(str(target))} is a folder")
                # Replaces a symlink itself, never the file it points to.
                os.replace(temporary, target)
            else:
                link_without_overwrite(temporary, target)
        except FileExistsError:
            raise ExportError(
                f"{visible(str(target))} already exists (use --force to overwrite)"
            ) from None
        except OSError as error:
            raise ExportError(f"cannot write {visible(str(target))}: {error.strerror}") from None
        finally:
            if temporary.exists():
                temporary.unlink()
        return target
