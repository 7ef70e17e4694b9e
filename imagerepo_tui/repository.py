"""ImageRepository: every operation the CLI or the TUI can do, and the only door to I/O.

No printing, no Textual. Errors are ``imagerepo_tui.errors`` types whose text is fit
for a user; a ``DatabaseUnavailableError`` means "stop the batch", anything else
fails only the item at hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from imagerepo_tui import imaging
from imagerepo_tui.access import Access
from imagerepo_tui.albums import Albums
from imagerepo_tui.config import Settings
from imagerepo_tui.duplicates import Duplicates, Viewer
from imagerepo_tui.edits import metadata_changes, new_content_fields
from imagerepo_tui.errors import (
    ImageRepoError,
    UnreadablePathError,
)
from imagerepo_tui.files import (
    ExportNames,
    PreparedUpload,
    export_image,
    find_upload_files,
    prepare_upload,
    read_upload_file,
    safe_export_name,
)
from imagerepo_tui.query_terms import Query, Range
from imagerepo_tui.ratings import Adjustment, Ratings
from imagerepo_tui.records import (
    PAGE_SIZE,
    CollectionInfo,
    FileEntry,
    ImageInfo,
    NewMetadata,
    Page,
    UploadResult,
    UserInfo,
    check_meta,
    normalise_tags,
    parse_meta,
    search_fields,
)
from imagerepo_tui.store import (
    CollectionStore,
    HashStore,
    ImageStore,
    Store,
    UserStore,
    open_store,
    utc_now,
)
from imagerepo_tui.textsafe import visible
from imagerepo_tui.upload_writer import UploadWriter
from imagerepo_tui.uploads import run_uploads

# The one API front ends import: the records and file helpers are part of it.
__all__ = [
    "Adjustment",
    "CollectionInfo",
    "ExportNames",
    "FileEntry",
    "ImageInfo",
    "ImageRepository",
    "NewMetadata",
    "Page",
    "UploadResult",
    "UserInfo",
    "check_meta",
    "find_upload_files",
    "normalise_tags",
    "parse_meta",
    "read_upload_file",
    "safe_export_name",
    "search_fields",
]

UPGRADE_NOTICE = (
    "upgrading this library for the new version, once: rebuilding its indexes can take "
    "minutes for a large library"
)


class ImageRepository:
    """The image library. Open with ``ImageRepository.open(settings)``; close when done.

    Once the library has accounts, nothing can be read or changed before ``login``,
    and then only what that user may: their own images and everyone's public ones to
    read, their own to change. Every method enforces this itself, down to the store's
    filters, so no front end, flag, search or id guess reaches past it.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        on_upgrade: Callable[[str], None] | None = None,
        *,
        tidy: bool = True,
    ) -> None:
        """``tidy=False`` leaves abandoned writes for ``check`` to report (and to remove
        only when asked to repair) instead of cleaning them up on the way in."""
        self.settings = settings
        self._store = store
        self._images = ImageStore(store, on_upgrade and (lambda: on_upgrade(UPGRADE_NOTICE)))
        self._collections = CollectionStore(store)
        self._access = Access(UserStore(store), self._images, self._collections)
        self._upload_writer = UploadWriter(self._images, self._collections, self._me, self._info)
        viewer = Viewer(
            self._me, self._audiences, self._info, self._own_collections, self._criteria
        )
        self.duplicates = Duplicates(self, viewer, HashStore(self._images))
        self._albums = Albums(
            self._collections, self._me, self.count, self._owner_id, self.duplicates.similar_term
        )
        self._ratings = Ratings(self._images, self._owned, self._info)
        if tidy:
            self._images.cleanup_abandoned()

    @classmethod
    def open(
        cls,
        settings: Settings,
        on_upgrade: Callable[[str], None] | None = None,
        *,
        tidy: bool = True,
    ) -> ImageRepository:
        """``on_upgrade(message)`` is told when a library from an earlier version is
        about to be upgraded, which can take minutes: say so rather than seem stuck."""
        return cls(open_store(settings), settings, on_upgrade, tidy=tidy)

    def close(self) -> None:
        self._store.close()

    @property
    def database_description(self) -> str:
        return self._store.description

    def ping(self) -> None:
        """One cheap round trip: raises ``DatabaseUnavailableError`` if it is gone.
        (Counting is no health check: it reads every match, seconds at 100,000.)"""
        self._images.ping()

    # -- accounts (``access.py`` holds the rules) -------------------------------------------

    @property
    def has_accounts(self) -> bool:
        return self._access.has_accounts

    @property
    def needs_login(self) -> bool:
        return self._access.needs_login

    @property
    def current_user(self) -> UserInfo | None:
        return self._access.viewer

    def login(self, name: str, password: str) -> UserInfo:
        """Log in for the rest of this repository's life (``Access.login``)."""
        return self._access.login(name, password)

    def add_user(self, name: str, password: str, *, admin: bool = False) -> UserInfo:
        """Create an account; the first needs no login and is an admin."""
        return self._access.add_user(name, password, admin=admin)

    def change_password(self, name: str, new_password: str) -> UserInfo:
        """Set a user's password: their own, or anyone's for an admin."""
        return self._access.change_password(name, new_password)

    def remove_user(self, name: str, *, give_to: str | None = None) -> UserInfo:
        """Remove an account (admins only), giving what it owns to ``give_to``."""
        return self._access.remove_user(name, give_to=give_to)

    def list_users(self) -> list[UserInfo]:
        return self._access.list_users()

    def user(self, name: str) -> UserInfo:
        """The account called ``name`` (any case); ``NotFoundError`` if none."""
        self._me()
        return UserInfo.from_document(self._access.user_named(name))

    def whole_library(self, what: str) -> Store:
        """The store itself, for work on every user's data at once (check, backup,
        restore, copy): anyone's in personal mode, only an admin's once accounts exist."""
        if self._access.has_accounts:
            self._access.require_admin(what)
        return self._store

    def _me(self) -> str:
        """The owner key of whoever is using the library ("" in personal mode)."""
        return self._access.me()

    def _owner_id(self, name: str) -> str:
        return self._access.owner_id(name)

    def _own_collections(self) -> set[str] | None:
        """Ids of the viewer's collections, the only ones an image may list: others
        may have put a public image in theirs. None before accounts (all are ours)."""
        return self._collections.ids(self._me()) if self._access.has_accounts else None

    def _info(self, doc: dict[str, Any], own: set[str] | None = None) -> ImageInfo:
        """The checked record of a document (``ImageInfo.from_document``); ``own``
        saves looking up the viewer's collections again for each image of a page."""
        if own is None:
            own = self._own_collections()
        return ImageInfo.from_document(doc, self._access.owner_names, own)

    def _owned(self, image_id: str) -> tuple[Any, dict[str, Any], str]:
        """(id, document, owner key) of an image the user may change: their own."""
        self._me()  # "log in first" before anything about the id
        oid = self.resolve_id(image_id)
        doc = self._images.get(oid)
        return oid, doc, self._access.require_owner(oid, doc)

    # -- ids ------------------------------------------------------------------------------

    def resolve_id(self, text: str) -> Any:
        """The full id for an id or a unique prefix of 6+ hex characters (like git)."""
        return self._access.resolve_id(text)

    # -- reading --------------------------------------------------------------------------

    def _audiences(self, trash: bool = False) -> list[str]:
        return self._access.audiences(trash)

    def info(self, image_id: str) -> ImageInfo:
        return self._info(self._images.get(self.resolve_id(image_id)))

    # -- searching ------------------------------------------------------------------------

    def parse_query(self, text: str) -> Query:
        """Parse search text (see ``query.py``); raises ``QueryError`` pointing at the
        bad part. Collection names (smart ones too) are looked up by ``albums.py``, and
        ``similar:ID``'s images by ``duplicates.py``."""
        return self._albums.parse(text)

    def _criteria(self, query: str | Query | None) -> Query:
        """A query object for the store, which alone turns queries into filters."""
        if isinstance(query, str):
            return self.parse_query(query)
        return query or Query()

    def count(self, query: str | Query | None = None, *, trash: bool = False) -> int:
        """How many live (or trashed) images match."""
        return self._images.count(self._criteria(query), self._audiences(trash), trash=trash)

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
        docs, cursor = self._images.page(
            self._criteria(query),
            self._audiences(trash),
            limit,
            trash=trash,
            oldest_first=oldest_first,
            after=before,
        )
        own = self._own_collections()
        return Page([self._info(doc, own) for doc in docs], cursor)

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
        found = self._images.ids(self._criteria(query), self._audiences(trash), trash=trash)
        return (str(oid) for oid in found)

    def original_bytes(self, image_id: str) -> tuple[ImageInfo, bytes]:
        doc = self._images.get(self.resolve_id(image_id))
        data = self._images.read_original(doc)
        if imaging.sha256_hex(data) != doc.get("sha256"):
            raise ImageRepoError(f"image {doc['_id']} is damaged: its bytes fail their checksum")
        return self._info(doc), data

    def thumbnail(self, image_id: str) -> bytes:
        return self._images.thumbnail(self.resolve_id(image_id))

    def thumbnails(self, image_ids: Sequence[str]) -> dict[str, bytes]:
        """Stored thumbnails of the images the user may see among these ids, one read."""
        return self._images.thumbnails(image_ids, self._audiences())

    # -- uploading ------------------------------------------------------------------------

    def _prepare(self, entry: FileEntry) -> PreparedUpload:
        return prepare_upload(entry, self.settings.max_file_bytes, self.settings.max_pixels)

    def upload(self, path: str | Path, metadata: NewMetadata | None = None) -> UploadResult:
        """Upload one file; a bad file is an ``error`` result, not an exception."""
        entry = next(find_upload_files([path], recursive=False))
        return next(self.upload_files([entry], metadata))

    def upload_files(
        self, entries: Iterable[FileEntry], metadata: NewMetadata | None = None
    ) -> Iterator[UploadResult]:
        """Upload files, yielding each result in input order as soon as it is stored.

        Several files are in flight at once (see ``uploads.py``): decoder threads read,
        hash and decode them while writer threads store the ones ready, small ones
        in groups of a few round trips for all. Raises
        ``DatabaseUnavailableError`` (after yielding what was done) when the database
        goes away: stop the batch rather than wait out a timeout per file. Closing the
        iterator early cancels the files not yet started.
        """
        metadata = metadata or NewMetadata()
        self._images.cleanup_abandoned()
        # A generator still (cleanup waits for the first result, closing stops the
        # pipeline): ``yield from`` passes ``close()`` on to it.
        yield from run_uploads(
            entries,
            self._prepare,
            self._images.reserve_seqs,
            lambda group, first_seq: self._upload_writer.store_group(group, first_seq, metadata),
        )

    # -- changing -------------------------------------------------------------------------

    def replace_content(self, image_id: str, path: str | Path) -> ImageInfo:
        """New bytes for an image; its id, title, description and tags stay."""
        oid, doc, me = self._owned(image_id)
        entry = next(find_upload_files([path], recursive=False))
        if entry.error:
            raise UnreadablePathError(f"{visible(str(path))}: {entry.error}")
        prepared = self._prepare(entry)
        fields = new_content_fields(prepared, self._info(doc))
        return self._info(self._images.replace_content(oid, prepared.data, fields, owner=me))

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
        oid, doc, me = self._owned(image_id)
        current = self._info(doc)
        changes, unset = metadata_changes(
            current,
            title=title,
            description=description,
            add_tags=add_tags,
            remove_tags=remove_tags,
            tags=tags,
            meta=meta,
            unset_meta=unset_meta,
        )
        if not changes and not unset:
            return current
        return self._info(self._images.update_fields(oid, changes, unset=unset, owner=me))

    def set_public(self, image_id: str, public: bool) -> ImageInfo:
        """Share an image with every user of the library, or make it private again."""
        _, doc, _ = self._owned(image_id)
        if bool(doc.get("public")) == public:
            return self._info(doc)
        return self._info(self._images.set_visibility(doc, public=public))

    def adjust(self, image_id: str, change: Adjustment) -> ImageInfo:
        """Rate, (un)favourite or turn an image (``ratings.py``)."""
        return self._ratings.adjust(image_id, change)

    # -- trash ----------------------------------------------------------------------------

    def delete(self, image_id: str) -> ImageInfo:
        """Move an image to the trash: hidden from lists, search and collections, its
        bytes kept until purged."""
        _, doc, _ = self._owned(image_id)
        if doc.get("trashed"):
            return self._info(doc)
        return self._info(self._images.set_visibility(doc, trashed=True))

    def restore(self, image_id: str) -> ImageInfo:
        """Bring an image back from the trash with its metadata and collections."""
        oid, doc, _ = self._owned(image_id)
        if not doc.get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash")
        return self._info(self._images.set_visibility(doc, trashed=False))

    def purge(self, image_id: str) -> ImageInfo:
        """Delete a trashed image for good, GridFS bytes included."""
        oid, doc, me = self._owned(image_id)
        if not doc.get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash (delete it first)")
        return self._info(self._images.delete(oid, owner=me))

    def empty_trash(self, older_than: timedelta | None = None) -> Iterator[ImageInfo]:
        """Purge trashed images (deleted longer ago than ``older_than``), yielding each."""
        me = self._me()
        old = Query()
        if older_than is not None:
            old = Query((Range("deleted_at", high=utc_now() - older_than, include_high=False),))
        for oid in list(self._images.ids(old, [me], trash=True)):
            yield self._info(self._images.delete(oid, owner=me))

    # -- collections (``albums.py``) ------------------------------------------------------

    def list_collections(self) -> list[CollectionInfo]:
        return self._albums.all()

    def collection(self, name: str) -> CollectionInfo:
        return self._albums.get(name)

    def create_collection(
        self, name: str, description: str = "", query: str | None = None
    ) -> CollectionInfo:
        """A collection; with ``query``, a smart one that is that search, live."""
        return self._albums.create(name, description, query)

    def rename_collection(self, name: str, new_name: str) -> CollectionInfo:
        return self._albums.update(name, name_to=new_name)

    def describe_collection(self, name: str, description: str) -> CollectionInfo:
        return self._albums.update(name, description=description)

    def delete_collection(self, name: str) -> CollectionInfo:
        return self._albums.delete(name)

    def add_to_collection(self, name: str, image_ids: Iterable[str]) -> int:
        return self._albums.add(name, [self.resolve_id(i) for i in image_ids])

    def remove_from_collection(self, name: str, image_ids: Iterable[str]) -> int:
        return self._albums.remove(name, [self.resolve_id(i) for i in image_ids])

    def collection_names(self, collection_ids: Iterable[str]) -> list[str]:
        return self._albums.names(collection_ids)

    # -- exporting ------------------------------------------------------------------------

    def export(
        self,
        image_id: str,
        folder: str | Path,
        *,
        force: bool = False,
        names: ExportNames | None = None,
        rendered: bool = False,
    ) -> Path:
        """The original into ``folder`` (``files.export_image``); ``rendered``: a copy
        as drawn, EXIF orientation and rotation applied (``imaging.render_turned``)."""
        info, data = self.original_bytes(image_id)
        data, extension = imaging.render_turned(data, info.rotation) if rendered else (data, None)
        return export_image(folder, info, data, force=force, names=names, extension=extension)
