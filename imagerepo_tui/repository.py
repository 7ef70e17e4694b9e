"""ImageRepository: every operation the CLI or the TUI can do, and the only door to I/O.

No printing, no Textual. Errors are ``imagerepo_tui.errors`` types whose text is fit
for a user; a ``DatabaseUnavailableError`` means "stop the batch", anything else
fails only the item at hand.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import (
    AmbiguousIdError,
    DatabaseUnavailableError,
    ExportError,
    FileTooLargeError,
    ImageRepoError,
    InvalidIdError,
    NotFoundError,
    UnreadablePathError,
)
from imagerepo_tui.store import ImageStore, Store, open_store
from imagerepo_tui.textsafe import visible

UploadStatus = Literal["created", "duplicate", "error"]
MIN_ID_PREFIX = 6
PAGE_SIZE = 200
MAX_TAG_LENGTH = 100
_ID_TEXT = re.compile(r"[0-9a-f]{6,24}")
# Files in flight during an upload: enough to overlap decoding with writes and keep
# both cores busy, few enough that memory stays small (each file is held whole).
_UPLOAD_WORKERS = 3
_UPLOAD_AHEAD = 6


@dataclass(frozen=True)
class ImageInfo:
    """An image's metadata, as every front end sees it (never the bytes)."""

    id: str
    filename: str
    title: str
    description: str
    tags: tuple[str, ...]
    format: str
    mime: str
    width: int
    height: int
    frames: int
    size: int
    sha256: str
    exif: dict[str, Any]
    taken_at: datetime | None
    created_at: datetime
    updated_at: datetime
    seq: int

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ImageInfo:
        return cls(
            id=str(doc["_id"]),
            filename=doc["filename"],
            title=doc.get("title", ""),
            description=doc.get("description", ""),
            tags=tuple(doc.get("tags", ())),
            format=doc["format"],
            mime=doc["mime"],
            width=doc["width"],
            height=doc["height"],
            frames=doc.get("frames", 1),
            size=doc["size"],
            sha256=doc["sha256"],
            exif=dict(doc.get("exif") or {}),
            taken_at=doc.get("taken_at"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            seq=doc["seq"],
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, for ``--json`` output."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "id": self.id,
            "filename": self.filename,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "format": self.format,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "size": self.size,
            "sha256": self.sha256,
            "exif": self.exif,
            "taken_at": iso(self.taken_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class FileEntry:
    """A path to upload, or one met on the way that cannot be (with the reason)."""

    path: Path
    size: int = 0
    error: str | None = None


@dataclass(frozen=True)
class UploadResult:
    path: Path
    status: UploadStatus
    image: ImageInfo | None = None
    error: str | None = None
    size: int = 0


@dataclass(frozen=True)
class NewMetadata:
    """What a user may say about images at upload time."""

    title: str = ""
    description: str = ""
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class ImageQuery:
    """A metadata filter for listing (tag equality, literal filename substring)."""

    tag: str | None = None
    name: str | None = None

    def criteria(self) -> dict[str, Any]:
        criteria: dict[str, Any] = {}
        if self.tag:
            criteria["tag_keys"] = _tag_key(self.tag)
        if self.name:
            # Raw $regex with $options, escaped: literal match, and the form the
            # embedded server answers correctly (a compiled regex returns nothing).
            criteria["filename"] = {"$regex": re.escape(self.name), "$options": "i"}
        return criteria


@dataclass
class Page:
    items: list[ImageInfo] = field(default_factory=list)
    # Pass as ``before`` for the next page; None when this was the last.
    next_before: int | None = None


def _tag_key(tag: str) -> str:
    return " ".join(tag.split()).casefold()


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Whitespace collapsed, empties dropped, duplicates (ignoring case) removed."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in tags:
        tag = " ".join(str(raw).split())[:MAX_TAG_LENGTH]
        if tag and _tag_key(tag) not in seen:
            seen.add(_tag_key(tag))
            result.append(tag)
    return result


def safe_export_name(filename: str, fallback: str) -> str:
    """A basename that cannot escape a folder, hide itself or drive a terminal."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch if visible(ch) == ch else "_" for ch in base).strip().lstrip(".")
    if not base:
        base = fallback
    while len(base.encode("utf-8")) > 200:
        stem, dot, ext = base.rpartition(".")
        base = f"{stem[:-1]}{dot}{ext}" if dot and len(ext) <= 10 and stem else base[:-1]
    return base


# -- finding files to upload -----------------------------------------------------------


def _entry_for(path: Path, st: os.stat_result) -> FileEntry:
    if stat.S_ISREG(st.st_mode):
        return FileEntry(path, st.st_size)
    if stat.S_ISDIR(st.st_mode):
        return FileEntry(path, error="is a directory (use -r to upload folders)")
    return FileEntry(path, error="not a regular file (FIFO, socket or device), skipped")


def _walk(folder: Path) -> Iterator[FileEntry]:
    """Regular files under ``folder``, sorted; symlinks and special files reported,
    hidden files and folders (dot-names: caches, thumbnails, sidecars) left out."""
    try:
        children = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        yield FileEntry(folder, error=f"cannot read folder: {error.strerror}")
        return
    for child in children:
        if child.name.startswith("."):
            continue
        path = Path(child.path)
        try:
            st = child.stat(follow_symlinks=False)
        except OSError as error:
            yield FileEntry(path, error=f"cannot read: {error.strerror}")
            continue
        if stat.S_ISLNK(st.st_mode):
            yield FileEntry(path, error="symbolic link, skipped")
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk(path)
        else:
            yield _entry_for(path, st)


def find_upload_files(paths: Iterable[str | Path], recursive: bool) -> Iterator[FileEntry]:
    """Expand what a user named into files to upload, reporting what cannot be."""
    for raw in paths:
        path = Path(raw)
        try:
            st = path.stat()  # a symlink the user names explicitly is followed
        except FileNotFoundError:
            yield FileEntry(path, error="no such file or folder")
            continue
        except OSError as error:
            yield FileEntry(path, error=f"cannot read: {error.strerror}")
            continue
        if stat.S_ISDIR(st.st_mode) and recursive:
            yield from _walk(path)
        else:
            yield _entry_for(path, st)


def read_upload_file(path: Path, max_bytes: int) -> bytes:
    """Read a regular file, refusing oversize ones before reading a byte."""
    try:
        # O_NONBLOCK: a FIFO swapped in after the walk must not hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UnreadablePathError("no such file or folder") from None
    except OSError as error:
        raise UnreadablePathError(f"cannot read: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadablePathError("not a regular file")
        if st.st_size > max_bytes:
            raise FileTooLargeError(
                f"{st.st_size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB upload limit "
                "(IMAGEREPO_MAX_FILE_MB)"
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"file grew past the {max_bytes / 1e6:.0f} MB upload limit")
    return data


@dataclass(frozen=True)
class _Prepared:
    entry: FileEntry
    data: bytes
    fields: dict[str, Any]


def _image_fields(data: bytes, filename: str, max_pixels: int) -> dict[str, Any]:
    facts = imaging.inspect_image(data, max_pixels=max_pixels)
    return {
        "filename": filename,
        "format": facts.format,
        "mime": facts.mime,
        "width": facts.width,
        "height": facts.height,
        "frames": facts.frames,
        "size": len(data),
        "sha256": imaging.sha256_hex(data),
        "thumbnail": facts.thumbnail,
        "thumbnail_mime": facts.thumbnail_mime,
        "exif": facts.exif,
        "taken_at": facts.taken_at,
    }


def _display_filename(path: Path) -> str:
    # Filenames that are not valid UTF-8 arrive with surrogates; keep them printable.
    return path.name.encode("utf-8", "backslashreplace").decode("utf-8")


def _link_without_overwrite(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` unless that name exists, even in a race."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        # Filesystems without hard links: an exclusive create does the same job.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(source.read_bytes())


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

    def count(self) -> int:
        return self._images.count()

    def list_page(
        self,
        query: ImageQuery | None = None,
        before: int | None = None,
        limit: int = PAGE_SIZE,
        *,
        oldest_first: bool = False,
    ) -> Page:
        """One page, newest first. With ``oldest_first`` the order is reversed and
        ``before`` is the cursor from the previous page's ``next_before`` (a lower,
        exclusive bound), so a list can be read from its end too."""
        criteria = (query or ImageQuery()).criteria()
        docs = self._images.page(criteria, before, limit, oldest_first=oldest_first)
        items = [ImageInfo.from_document(doc) for doc in docs]
        more = len(items) == limit and (oldest_first or items[-1].seq > 1)
        return Page(items, items[-1].seq if more else None)

    def iter_images(
        self, query: ImageQuery | None = None, limit: int | None = None
    ) -> Iterator[ImageInfo]:
        """Every match, newest first, fetched a page at a time."""
        before: int | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            page = self.list_page(query, before, size)
            yield from page.items
            if remaining is not None:
                remaining -= len(page.items)
            if page.next_before is None:
                return
            before = page.next_before

    def original_bytes(self, image_id: str) -> tuple[ImageInfo, bytes]:
        doc = self._images.get(self.resolve_id(image_id))
        data = self._images.read_original(doc)
        if imaging.sha256_hex(data) != doc["sha256"]:
            raise ImageRepoError(f"image {doc['_id']} is damaged: its bytes fail their checksum")
        return ImageInfo.from_document(doc), data

    def thumbnail(self, image_id: str) -> bytes:
        return self._images.thumbnail(self.resolve_id(image_id))

    # -- uploading ------------------------------------------------------------------------

    def _prepare(self, entry: FileEntry) -> _Prepared:
        data = read_upload_file(entry.path, self.settings.max_file_bytes)
        fields = _image_fields(data, _display_filename(entry.path), self.settings.max_pixels)
        return _Prepared(entry, data, fields)

    def _store_prepared(self, prepared: _Prepared, metadata: NewMetadata) -> UploadResult:
        fields = {
            **prepared.fields,
            "title": metadata.title,
            "description": metadata.description,
            "tags": normalise_tags(metadata.tags),
        }
        fields["tag_keys"] = [_tag_key(tag) for tag in fields["tags"]]
        doc, created = self._images.add(prepared.data, fields)
        return UploadResult(
            prepared.entry.path,
            "created" if created else "duplicate",
            ImageInfo.from_document(doc),
            size=len(prepared.data),
        )

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
        source = iter(entries)
        with ThreadPoolExecutor(max_workers=_UPLOAD_WORKERS, thread_name_prefix="upload") as pool:
            try:
                while True:
                    while len(pending) < _UPLOAD_AHEAD:
                        entry = next(source, None)
                        if entry is None:
                            break
                        job = (
                            None if entry.error else pool.submit(self._upload_one, entry, metadata)
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

    def _upload_one(self, entry: FileEntry, metadata: NewMetadata) -> UploadResult:
        return self._store_prepared(self._prepare(entry), metadata)

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
        return ImageInfo.from_document(
            self._images.replace_content(oid, prepared.data, prepared.fields)
        )

    def edit(
        self,
        image_id: str,
        *,
        title: str | None = None,
        description: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        tags: Sequence[str] | None = None,
    ) -> ImageInfo:
        """Change metadata; ``tags`` replaces the list, ``add/remove_tags`` adjust it."""
        oid = self.resolve_id(image_id)
        current = ImageInfo.from_document(self._images.get(oid))
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description
        if tags is not None or add_tags or remove_tags:
            dropped = {_tag_key(tag) for tag in remove_tags}
            base = list(current.tags) if tags is None else list(tags)
            kept = [tag for tag in base if _tag_key(tag) not in dropped]
            new_tags = normalise_tags([*kept, *add_tags])
            changes["tags"] = new_tags
            changes["tag_keys"] = [_tag_key(tag) for tag in new_tags]
        if not changes:
            return current
        return ImageInfo.from_document(self._images.update_fields(oid, changes))

    def delete(self, image_id: str) -> ImageInfo:
        """Remove an image and its GridFS bytes."""
        return ImageInfo.from_document(self._images.delete(self.resolve_id(image_id)))

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
                _link_without_overwrite(temporary, target)
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
