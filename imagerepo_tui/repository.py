"""ImageRepository: every operation the CLI or the TUI can do, and the only door to I/O.

No printing, no Textual. Errors are ``imagerepo_tui.errors`` types whose text is fit
for a user; a ``DatabaseUnavailableError`` means "stop the batch", anything else
fails only the item at hand.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from imagerepo_tui import accounts, imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import (
    AmbiguousIdError,
    DatabaseUnavailableError,
    ExportError,
    ImageRepoError,
    InvalidIdError,
    LoginError,
    LoginRequiredError,
    NotFoundError,
    PermissionDeniedError,
    UnreadablePathError,
)
from imagerepo_tui.files import (
    ExportNames,
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
    UserInfo,
    check_meta,
    normalise_tags,
    parse_meta,
    search_fields,
    tag_key,
)
from imagerepo_tui.store import (
    PUBLIC,
    UNOWNED,
    CollectionExistsError,
    CollectionStore,
    ImageStore,
    Store,
    UserStore,
    open_store,
    utc_now,
)
from imagerepo_tui.textsafe import visible

# The one API front ends import: the records and file helpers are part of it.
__all__ = [
    "CollectionInfo",
    "ExportNames",
    "FileEntry",
    "ImageInfo",
    "ImageRepository",
    "NewMetadata",
    "Page",
    "UploadResult",
    "UserInfo",
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
MIN_ID_PREFIX = 6
FULL_ID_LENGTH = 24
PAGE_SIZE = 200
_ID_TEXT = re.compile(r"[0-9a-f]{6,24}")
# An upload is two stages joined by futures: decoders (CPU: validating decode,
# thumbnail, hash; Pillow releases the GIL) and writers (waiting on the server).
# One pool doing both made the threads fall into step: all decoding while the
# server idled, then all writing while the cores idled (measured: 1.71 s for 20
# 12 MP files; two stages keep both busy). Files in flight stay few: each is held whole.
_DECODERS = max(2, min(4, os.cpu_count() or 2))
_WRITERS = 2
_UPLOAD_AHEAD = _DECODERS + _WRITERS + 2


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
        self._users = UserStore(store)
        self._viewer: UserInfo | None = None
        self._owner_names: dict[str, str] = {}
        self._accounts = self._users.any_exist()
        if self._accounts:
            self._adopt_unowned()
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

    # -- accounts -------------------------------------------------------------------------

    @property
    def has_accounts(self) -> bool:
        return self._accounts

    @property
    def needs_login(self) -> bool:
        return self._accounts and self._viewer is None

    @property
    def current_user(self) -> UserInfo | None:
        return self._viewer

    def login(self, name: str, password: str) -> UserInfo:
        """Log in for the rest of this repository's life. Failures say only "wrong
        user name or password"; after a few in a row for a name (existing or not),
        further tries must wait, doubling up to a minute."""
        if not accounts.is_valid_name(name):
            # No such account can exist; fail alike (a dummy verification included)
            # without storing arbitrary text as a failure record.
            accounts.verify_password(None, password)
            raise LoginError(accounts.LOGIN_FAILED)
        key = accounts.name_key(name)
        failures, last_failure = self._users.failures(key)
        wait = accounts.wait_before_next_try(failures, last_failure, utc_now())
        if wait > 0:
            raise LoginError(f"too many failed logins; try again in {int(wait) + 1} s")
        if not self._users.reserve_attempt(key, failures):
            raise LoginError(accounts.LOGIN_BUSY)
        doc = self._users.by_name_key(key)
        stored_hash = doc.get("password_hash") if doc else None
        matches, needs_rehash = accounts.verify_password(
            # Another client may have stored anything there: only text is a hash.
            stored_hash if isinstance(stored_hash, str) else None,
            password,
        )
        if doc is None or not matches:
            raise LoginError(accounts.LOGIN_FAILED)
        self._users.clear_failures(key)
        if needs_rehash:
            self._users.set_password_hash(doc["_id"], accounts.rehash(password))
        self._viewer = UserInfo.from_document(doc)
        self._accounts = True
        self._load_owner_names()
        return self._viewer

    def add_user(self, name: str, password: str, *, admin: bool = False) -> UserInfo:
        """Create an account. The first one needs no login, is an admin and adopts the
        images and collections made before accounts existed; later ones need an
        admin logged in."""
        accounts.check_name(name)
        first = not self._users.any_exist()
        if not first:
            self._require_admin("add users")
        doc = self._users.create(
            name, accounts.name_key(name), accounts.hash_password(password), admin or first
        )
        self._accounts = True
        if first:
            self._adopt_unowned()
        self._load_owner_names()
        return UserInfo.from_document(doc)

    def change_password(self, name: str, new_password: str) -> UserInfo:
        """Set a user's password: their own, or anyone's for an admin."""
        viewer = self._logged_in()
        doc = self._user_named(name)
        if str(doc["_id"]) != viewer.id and not viewer.admin:
            raise PermissionDeniedError("only an admin can change another user's password")
        self._users.set_password_hash(doc["_id"], accounts.hash_password(new_password))
        self._users.clear_failures(doc["name_key"])
        return UserInfo.from_document(doc)

    def remove_user(self, name: str, *, give_to: str | None = None) -> UserInfo:
        """Remove an account (admins only). Its images and collections go to
        ``give_to``; without one, a user who owns anything is not removed."""
        self._require_admin("remove users")
        doc = self._user_named(name)
        user_id = str(doc["_id"])
        if doc.get("admin") and self._users.admin_count() <= 1:
            raise ImageRepoError(f"{name} is the last admin and cannot be removed")
        if give_to is not None:
            heir = self._user_named(give_to)
            if heir["_id"] == doc["_id"]:
                raise ImageRepoError("give the images to another user")
            self._images.give_away(user_id, str(heir["_id"]))
            self._collections.give_away(user_id, str(heir["_id"]))
        images = self._images.owner_count(user_id)
        collections = self._collections.owner_count(user_id)
        if images or collections:
            hint = (
                "some are duplicates of the other user's or share a collection name: "
                "remove or rename those first"
                if give_to
                else "give them to another user with --give-to NAME"
            )
            raise ImageRepoError(
                f"{name} still owns {images} image(s) and {collections} collection(s); {hint}"
            )
        self._users.delete(doc["_id"])
        if self._viewer is not None and self._viewer.id == user_id:
            self._viewer = None
        self._load_owner_names()
        return UserInfo.from_document(doc)

    def list_users(self) -> list[UserInfo]:
        self._me()
        return [UserInfo.from_document(doc) for doc in self._users.all()]

    def user(self, name: str) -> UserInfo:
        """The account called ``name`` (any case); ``NotFoundError`` if none."""
        self._me()
        return UserInfo.from_document(self._user_named(name))

    def _user_named(self, name: str) -> dict[str, Any]:
        doc = self._users.by_name_key(accounts.name_key(name))
        if doc is None:
            raise NotFoundError(f"no user named {visible(name)!r}")
        return doc

    def _owner_id(self, name: str) -> str:
        self._me()
        return str(self._user_named(name)["_id"])

    def _logged_in(self) -> UserInfo:
        self._me()
        if self._viewer is None:
            raise LoginRequiredError("there are no accounts yet; add one with `user add NAME`")
        return self._viewer

    def whole_library(self, what: str) -> Store:
        """The store itself, for work on every user's data at once (check, backup,
        restore, copy): anyone's in personal mode, only an admin's once accounts exist."""
        if self._accounts:
            self._require_admin(what)
        return self._store

    def _require_admin(self, what: str) -> None:
        if not self._logged_in().admin:
            raise PermissionDeniedError(f"only an admin can {what}")

    def _me(self) -> str:
        """The owner key of whoever is using the library: the logged-in user's id, or
        "" in personal mode (before any account exists)."""
        if self._viewer is not None:
            return self._viewer.id
        if self._accounts:
            raise LoginRequiredError(
                "this library has user accounts: log in first (--user NAME, with the "
                "password from IMAGEREPO_PASSWORD or a prompt)"
            )
        return UNOWNED

    def _adopt_unowned(self) -> None:
        """Images and collections from before the first account belong to it (also
        ones a personal-mode process still running added after it was created)."""
        images, collections = self._images.owns_any(UNOWNED), self._collections.owner_count(UNOWNED)
        first = self._users.first() if images or collections else None
        if first is None:
            return
        if images:
            self._images.give_away(UNOWNED, str(first["_id"]))
        if collections:
            self._collections.give_away(UNOWNED, str(first["_id"]))

    def _load_owner_names(self) -> None:
        # Through the checked record: a user document with a bad name is no crash.
        users = (UserInfo.from_document(doc) for doc in self._users.all())
        self._owner_names = {user.id: user.name for user in users}

    def _own_collections(self) -> set[str] | None:
        """Ids of the viewer's collections, the only ones an image may list: others
        may have put a public image in theirs. None before accounts (all are ours)."""
        return self._collections.ids(self._me()) if self._accounts else None

    def _info(self, doc: dict[str, Any], own: set[str] | None = None) -> ImageInfo:
        """The checked record of a document (``ImageInfo.from_document``); ``own``
        saves looking up the viewer's collections again for each image of a page."""
        if own is None:
            own = self._own_collections()
        return ImageInfo.from_document(doc, self._owner_names, own)

    def _owned(self, image_id: str) -> tuple[Any, dict[str, Any], str]:
        """(id, document, owner key) of an image the user may change: their own."""
        me = self._me()
        oid = self.resolve_id(image_id)
        doc = self._images.get(oid)
        if doc.get("owner", UNOWNED) != me:
            # Through the checked record: an owner stored as a document is no key.
            owner = self._info(doc, own=set()).owner_name or "another user"
            raise PermissionDeniedError(
                f"image {oid} belongs to {owner}; only its owner can change it"
            )
        return oid, doc, me

    # -- ids ------------------------------------------------------------------------------

    def resolve_id(self, text: str) -> Any:
        """The full id for an id or a unique prefix of 6+ hex characters (like git)."""
        wanted = text.strip().lower()
        if not _ID_TEXT.fullmatch(wanted):
            raise InvalidIdError(
                f"{visible(text)!r} is not an image id (24 hex characters, or a unique "
                f"prefix of at least {MIN_ID_PREFIX})"
            )
        if len(wanted) == FULL_ID_LENGTH:
            oid = self._images.visible_id(wanted, self._audiences())
            if oid is None:
                raise NotFoundError(f"no image with id {wanted}")
            return oid
        matches = self._images.ids_with_prefix(wanted, limit=2, audiences=self._audiences())
        if not matches:
            raise NotFoundError(f"no image with id {wanted}")
        if len(matches) > 1:
            raise AmbiguousIdError(f"id prefix {wanted} matches several images; give more of it")
        return matches[0]

    # -- reading --------------------------------------------------------------------------

    def _audiences(self, trash: bool = False) -> list[str]:
        """Who may see what: the user's own images (private ones, and all trashed
        ones), plus everyone's public ones outside the trash."""
        me = self._me()
        return [me] if trash else [me, PUBLIC]

    def info(self, image_id: str) -> ImageInfo:
        return self._info(self._images.get(self.resolve_id(image_id)))

    # -- searching ------------------------------------------------------------------------

    def parse_query(self, text: str) -> Query:
        """Parse search text (see ``query.py``); raises ``QueryError`` pointing at the
        bad part. Collection names are looked up here."""
        return parse_query(text, self._collection_id, self._owner_id)

    def _collection_id(self, name: str) -> Any:
        return self._collections.by_name(name, self._me())["_id"]

    def _criteria(
        self, query: str | Query | None, trash: bool
    ) -> tuple[list[dict[str, Any]], Sort]:
        """The query as disjoint filters, one per audience the user may see (what
        ``ImageStore.page`` merges), and its sort."""
        if isinstance(query, str):
            query = self.parse_query(query)
        criteria, sort = (query.criteria, query.sort) if query else ({}, Sort())
        if trash and sort.is_default:
            sort = Sort("deleted_at", descending=True)
        return self._parts(criteria, trash), sort

    def _parts(self, criteria: dict[str, Any], trash: bool) -> list[dict[str, Any]]:
        audiences = self._audiences(trash)
        public = criteria.get("public")
        if not trash and isinstance(public, bool):
            # is:public / is:private pick the audience rather than filter a field
            # no index holds: outside the trash, public means audience PUBLIC.
            criteria = {key: value for key, value in criteria.items() if key != "public"}
            audiences = [PUBLIC] if public else [self._me()]
        base = IN_TRASH if trash else LIVE
        return [combine([base, {"audience": audience}, criteria]) for audience in audiences]

    def count(self, query: str | Query | None = None, *, trash: bool = False) -> int:
        """How many live (or trashed) images match."""
        parts, _ = self._criteria(query, trash)
        return self._images.count_matching(parts)

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
        parts, sort = self._criteria(query, trash)
        descending = sort.descending != oldest_first
        docs, cursor = self._images.page(
            parts, limit, field=sort.field, descending=descending, after=before
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
        parts, _ = self._criteria(query, trash)
        return (str(oid) for oid in self._images.ids_matching(parts))

    def original_bytes(self, image_id: str) -> tuple[ImageInfo, bytes]:
        doc = self._images.get(self.resolve_id(image_id))
        data = self._images.read_original(doc)
        if imaging.sha256_hex(data) != doc.get("sha256"):
            raise ImageRepoError(f"image {doc['_id']} is damaged: its bytes fail their checksum")
        return self._info(doc), data

    def thumbnail(self, image_id: str) -> bytes:
        return self._images.thumbnail(self.resolve_id(image_id))

    # -- uploading ------------------------------------------------------------------------

    def _prepare(self, entry: FileEntry) -> PreparedUpload:
        limit = self.settings.max_file_bytes
        data = entry.read(limit) if entry.read else read_upload_file(entry.path, limit)
        fields = image_fields(data, display_filename(entry.path), self.settings.max_pixels)
        return PreparedUpload(entry, data, fields)

    def _store_prepared(self, prepared: PreparedUpload, metadata: NewMetadata) -> UploadResult:
        meta = {**metadata.meta, **prepared.entry.meta}
        check_meta(meta)
        me = self._me()
        tags = normalise_tags(metadata.tags)
        fields = {
            "owner": me,
            "public": metadata.public,
            "audience": PUBLIC if metadata.public else me,
            **prepared.fields,
            "title": metadata.title,
            "description": metadata.description,
            "tags": tags,
            "custom": meta,
            "collections": [self._upload_collection(metadata)] if metadata.collection else [],
            **search_fields(
                prepared.fields["filename"], metadata.title, metadata.description, tags
            ),
        }
        doc, created = self._images.add(prepared.data, fields)
        if not created:
            doc = self._join_duplicate(doc, fields["collections"], metadata.public)
        return UploadResult(
            prepared.entry.path,
            "created" if created else "duplicate",
            self._info(doc),
            size=len(prepared.data),
        )

    def _upload_collection(self, metadata: NewMetadata) -> Any:
        """The id of the upload's target collection, created on first use."""
        assert metadata.collection is not None
        me = self._me()
        try:
            return self._collections.by_name(metadata.collection, me)["_id"]
        except NotFoundError:
            try:
                return self._collections.create(metadata.collection, me)["_id"]
            except CollectionExistsError:  # another upload worker just made it
                return self._collections.by_name(metadata.collection, me)["_id"]

    def _join_duplicate(
        self, doc: dict[str, Any], collections: list[Any], public: bool
    ) -> dict[str, Any]:
        """Uploading bytes that are already stored means "I want this image here": a
        trashed copy comes back, it joins the upload's collection, and an upload that
        shares it makes it public (one without ``--public`` keeps what was chosen).
        Only the uploader's own images are duplicates: nobody learns what others hold."""
        now_public = bool(public or doc.get("public"))
        if doc.get("trashed") or now_public != bool(doc.get("public")):
            changes = {**self._restored({**doc, "public": now_public}), "public": now_public}
            doc = self._images.update_fields(doc["_id"], changes, owner=doc["owner"])
        for collection_id in collections:
            self._collections.add_images(collection_id, [doc["_id"]])
        return self._images.get(doc["_id"]) if collections else doc

    @staticmethod
    def _restored(doc: dict[str, Any]) -> dict[str, Any]:
        """Out of the trash, an image is seen by whom its owner chose again."""
        audience = PUBLIC if doc.get("public") else doc.get("owner", UNOWNED)
        return {"trashed": False, "deleted_at": None, "audience": audience}

    def upload(self, path: str | Path, metadata: NewMetadata | None = None) -> UploadResult:
        """Upload one file; a bad file is an ``error`` result, not an exception."""
        entry = next(find_upload_files([path], recursive=False))
        return next(self.upload_files([entry], metadata))

    def upload_files(
        self, entries: Iterable[FileEntry], metadata: NewMetadata | None = None
    ) -> Iterator[UploadResult]:
        """Upload files, yielding each result in input order as soon as it is stored.

        A few files are in flight at once: decoder threads read, hash and decode
        them while writer threads store the ones ready, so the cores decode while the
        server writes. Raises ``DatabaseUnavailableError``
        (after yielding what was done) when the database goes away: stop the batch
        rather than wait out a timeout per file. Closing the iterator early cancels the
        files not yet started.
        """
        metadata = metadata or NewMetadata()
        self._images.cleanup_abandoned()
        pending: deque[tuple[FileEntry, Future[UploadResult] | None]] = deque()
        started: list[Future[Any]] = []
        reported: set[str] = set()
        lost: list[DatabaseUnavailableError] = []
        closed = threading.Event()
        source = iter(entries)
        with (
            ThreadPoolExecutor(_DECODERS, thread_name_prefix="upload-decode") as decoders,
            ThreadPoolExecutor(_WRITERS, thread_name_prefix="upload-write") as writers,
        ):
            try:
                while True:
                    while len(pending) < _UPLOAD_AHEAD:
                        entry = next(source, None)
                        if entry is None:
                            break
                        job = None
                        if not entry.error:
                            prepared = decoders.submit(self._prepare, entry)
                            job = writers.submit(
                                self._store_when_ready, prepared, metadata, lost, closed
                            )
                            started += (prepared, job)
                        pending.append((entry, job))
                    if not pending:
                        return
                    entry, job = pending.popleft()
                    yield _label_in_input_order(self._result_of(entry, job), pending, reported)
                    started = [future for future in started if not future.done()]
            finally:
                closed.set()
                for future in started:
                    future.cancel()

    def _store_when_ready(
        self,
        prepared: Future[PreparedUpload],
        metadata: NewMetadata,
        lost: list[DatabaseUnavailableError],
        closed: threading.Event,
    ) -> UploadResult:
        upload = prepared.result()  # a bad file's error is this file's result
        if closed.is_set():  # the caller stopped reading: store nothing more
            raise CancelledError
        # Once one file has found the database gone, the files queued behind it give up
        # at once: each would otherwise wait out a server-selection timeout before the
        # batch could stop (workers pick up queued files before they can be cancelled).
        if lost:
            raise DatabaseUnavailableError(str(lost[0]))
        try:
            return self._store_prepared(upload, metadata)
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
        oid, doc, me = self._owned(image_id)
        entry = next(find_upload_files([path], recursive=False))
        if entry.error:
            raise UnreadablePathError(f"{visible(str(path))}: {entry.error}")
        prepared = self._prepare(entry)
        current = self._info(doc)
        fields = {
            **prepared.fields,
            # The sort key of sort:taken follows the new bytes' date taken too.
            "taken_key": prepared.fields["taken_at"] or current.created_at,
            **search_fields(
                prepared.fields["filename"], current.title, current.description, current.tags
            ),
        }
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
        return self._info(self._images.update_fields(oid, changes, unset=unset, owner=me))

    def set_public(self, image_id: str, public: bool) -> ImageInfo:
        """Share an image with every user of the library, or make it private again."""
        oid, doc, me = self._owned(image_id)
        if bool(doc.get("public")) == public:
            return self._info(doc)
        audience = PUBLIC if public and not doc.get("trashed") else me
        changes = {"public": public, "audience": audience}
        return self._info(self._images.update_fields(oid, changes, owner=me))

    # -- trash ----------------------------------------------------------------------------

    def delete(self, image_id: str) -> ImageInfo:
        """Move an image to the trash: hidden from lists, search and collections, its
        bytes kept until purged."""
        oid, doc, me = self._owned(image_id)
        if doc.get("trashed"):
            return self._info(doc)
        # Trashed images are the owner's alone, public or not.
        changes = {"trashed": True, "deleted_at": utc_now(), "audience": me}
        return self._info(self._images.update_fields(oid, changes, owner=me))

    def restore(self, image_id: str) -> ImageInfo:
        """Bring an image back from the trash with its metadata and collections."""
        oid, doc, me = self._owned(image_id)
        if not doc.get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash")
        return self._info(self._images.update_fields(oid, self._restored(doc), owner=me))

    def purge(self, image_id: str) -> ImageInfo:
        """Delete a trashed image for good, GridFS bytes included."""
        oid, doc, me = self._owned(image_id)
        if not doc.get("trashed"):
            raise ImageRepoError(f"image {oid} is not in the trash (delete it first)")
        return self._info(self._images.delete(oid, owner=me))

    def empty_trash(self, older_than: timedelta | None = None) -> Iterator[ImageInfo]:
        """Purge trashed images (deleted longer ago than ``older_than``), yielding each."""
        me = self._me()
        criteria: dict[str, Any] = {**IN_TRASH, "audience": me}
        if older_than is not None:
            criteria["deleted_at"] = {"$lt": utc_now() - older_than}
        for oid in list(self._images.ids_matching([criteria])):
            yield self._info(self._images.delete(oid, owner=me))

    # -- collections ------------------------------------------------------------------------

    # Collections are each user's own: they name, list and change only theirs, and
    # may put in them any image they can see (membership is all the image records).

    def _collection_info(self, doc: dict[str, Any]) -> CollectionInfo:
        """With its count of live images this user can see."""
        count = self._images.count_matching(self._parts({"collections": doc["_id"]}, False))
        return CollectionInfo.from_document(doc, count)

    def list_collections(self) -> list[CollectionInfo]:
        """The user's collections with their counts of live images, by name."""
        return [self._collection_info(doc) for doc in self._collections.all(self._me())]

    def collection(self, name: str) -> CollectionInfo:
        return self._collection_info(self._collections.by_name(name, self._me()))

    def create_collection(self, name: str, description: str = "") -> CollectionInfo:
        if not name.strip():
            raise ImageRepoError("a collection needs a name")
        return CollectionInfo.from_document(self._collections.create(name, self._me(), description))

    def rename_collection(self, name: str, new_name: str) -> CollectionInfo:
        if not new_name.strip():
            raise ImageRepoError("a collection needs a name")
        me = self._me()
        doc = self._collections.by_name(name, me)
        return CollectionInfo.from_document(
            self._collections.update(doc["_id"], {"name": new_name}, me)
        )

    def describe_collection(self, name: str, description: str) -> CollectionInfo:
        me = self._me()
        doc = self._collections.by_name(name, me)
        return CollectionInfo.from_document(
            self._collections.update(doc["_id"], {"description": description}, me)
        )

    def delete_collection(self, name: str) -> CollectionInfo:
        """The collection goes; its images stay in the library."""
        me = self._me()
        doc = self._collections.by_name(name, me)
        self._collections.delete(doc["_id"], me)
        return CollectionInfo.from_document(doc)

    def add_to_collection(self, name: str, image_ids: Iterable[str]) -> int:
        """Add images (ids or prefixes); returns how many were not in it already."""
        collection_id = self._collections.by_name(name, self._me())["_id"]
        return self._collections.add_images(collection_id, [self.resolve_id(i) for i in image_ids])

    def remove_from_collection(self, name: str, image_ids: Iterable[str]) -> int:
        collection_id = self._collections.by_name(name, self._me())["_id"]
        return self._collections.remove_images(
            collection_id, [self.resolve_id(i) for i in image_ids]
        )

    def collection_names(self, collection_ids: Iterable[str]) -> list[str]:
        """Names for ids (as ``ImageInfo.collections`` holds them), for display: only
        the user's own collections (others may have put a public image in theirs)."""
        wanted = set(collection_ids)
        found = (CollectionInfo.from_document(doc) for doc in self._collections.all(self._me()))
        return [collection.name for collection in found if collection.id in wanted]

    # -- exporting ------------------------------------------------------------------------

    def export(
        self,
        image_id: str,
        folder: str | Path,
        *,
        force: bool = False,
        names: ExportNames | None = None,
    ) -> Path:
        """Write the original bytes as ``folder/<sanitised original filename>``.

        Never outside ``folder``, never through a symlink planted at the target name,
        never over an existing file unless ``force`` (then replaced atomically).
        A batch passes one ``names`` for all its images: a name another image of the
        batch has is given the end of this one's id, so ``force`` replaces files from
        before the batch but never one the batch wrote.
        """
        directory = Path(folder)
        if not directory.is_dir():
            raise ExportError(f"{visible(str(directory))} is not a folder")
        info, data = self.original_bytes(image_id)
        names = names if names is not None else ExportNames()
        name = names.name_for(info.id, info.filename, f"{info.id}.{info.format.lower()}")
        target = directory / name
        if names.written(info.id):
            return target  # named twice in one batch: its file is already there
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
        names.mark_written(info.id)
        return target
