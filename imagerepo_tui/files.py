"""Files on disk: finding what to upload, reading it safely, turning it into the
fields an image stores, and writing exports that stay inside their folder."""

from __future__ import annotations

import os
import secrets
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagerepo_tui import imaging
from imagerepo_tui.errors import (
    ExportError,
    FileTooLargeError,
    UnreadablePathError,
)
from imagerepo_tui.formats import format_extension
from imagerepo_tui.records import FileEntry, ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.units import mib, over_upload_limit

# Room for ".<name>.<8 hex>.part" (the temporary file of an export) within the 255 bytes
# most filesystems allow a name.
MAX_EXPORT_NAME_BYTES = 200
# How much of an image id a clashing export name carries: the end of an ObjectId (its
# counter), since its first 8 digits are the upload's second, shared by a whole upload.
SHORT_ID_DIGITS = 8


def safe_export_name(filename: str, fallback: str) -> str:
    """A basename that cannot escape a folder, hide itself or drive a terminal.

    A "/" comes only from a path (no file name holds one): the last part is kept. A
    backslash is an ordinary character of a Unix file name ("holiday\\1.png") but a
    separator elsewhere: it becomes "_" ("holiday_1.png"), so the name stays whole
    rather than shrinking to "1.png" and clashing with unrelated images.
    """
    # The fallback is cleaned too: it is made of stored fields (id and format).
    base = _cleaned(filename) or _cleaned(fallback) or "image"
    stem, extension = _split_extension(base)
    return _fitted(stem, extension)


def _cleaned(name: str) -> str:
    base = name.rsplit("/", 1)[-1].replace("\\", "_")
    return "".join(ch if visible(ch) == ch else "_" for ch in base).strip().lstrip(".")


def _split_extension(name: str) -> tuple[str, str]:
    """``("IMG_0001", ".jpg")``; a name without a short extension is all stem."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 10:
        return stem, dot + extension
    return name, ""


def _fitted(stem: str, tail: str) -> str:
    """``stem + tail`` within ``MAX_EXPORT_NAME_BYTES``, cutting the stem's end (whole
    characters; the tail is an extension and perhaps an id, at most ~70 bytes)."""
    room = MAX_EXPORT_NAME_BYTES - len(tail.encode("utf-8"))
    # Cut the bytes once and drop a character split in two: a stored name can be huge.
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + tail


def _name_key(name: str) -> str:
    """What a name is to a filesystem that ignores case (macOS, Windows) or Unicode
    normalisation (macOS): "a.JPG" is "a.jpg" there. Folding more than one filesystem
    does costs only an id suffix, never a lost file."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class ExportNames:
    """The names one batch of exports writes, so that no image of it overwrites another.

    The first image to want a name gets it; a later one whose name clashes (the same
    name, or one a case-insensitive filesystem takes for it) gets the end of its id
    added, ``IMG_0001 (2cb0e7a1).jpg``: the same on every run, as it depends only on
    the image. One batch, one thread (the CLI's loop, the TUI's bulk worker).
    """

    def __init__(self) -> None:
        self._taken: set[str] = set()  # name keys given out in this batch
        self._names: dict[str, str] = {}  # image id -> its name in this batch
        self._written: set[str] = set()  # image ids this batch has written

    def name_for(self, image_id: str, filename: str, fallback: str) -> str:
        """The name ``image_id`` writes in this batch (the same if asked again)."""
        if image_id in self._names:
            return self._names[image_id]
        stem, extension = _split_extension(safe_export_name(filename, fallback))
        for candidate in _candidates(stem, extension, image_id):
            if _name_key(candidate) not in self._taken:
                self._taken.add(_name_key(candidate))
                self._names[image_id] = candidate
                return candidate
        raise AssertionError("unreachable: the candidates never end")

    def written(self, image_id: str) -> bool:
        """True once this batch has written ``image_id`` (named twice in one batch)."""
        return image_id in self._written

    def mark_written(self, image_id: str) -> None:
        self._written.add(image_id)


def _candidates(stem: str, extension: str, image_id: str) -> Iterator[str]:
    """The name, then with the end of the id, the whole id, the whole id and a count:
    only names crafted to clash get past the second."""
    yield _fitted(stem, extension)
    yield _fitted(stem, f" ({image_id[-SHORT_ID_DIGITS:]}){extension}")
    yield _fitted(stem, f" ({image_id}){extension}")
    count = 2
    while True:
        yield _fitted(stem, f" ({image_id} {count}){extension}")
        count += 1


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
            raise FileTooLargeError(over_upload_limit(st.st_size, max_bytes))
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"file grew past the {mib(max_bytes)} upload limit")
    return data


@dataclass(frozen=True)
class PreparedUpload:
    entry: FileEntry
    data: bytes
    fields: dict[str, Any]


def prepare_upload(entry: FileEntry, max_bytes: int, max_pixels: int) -> PreparedUpload:
    """Read, check and decode one file: the decoder stage of an upload (CPU work)."""
    data = entry.read(max_bytes) if entry.read else read_upload_file(entry.path, max_bytes)
    fields = image_fields(data, display_filename(entry.path), max_pixels)
    return PreparedUpload(entry, data, fields)


def image_fields(data: bytes, filename: str, max_pixels: int) -> dict[str, Any]:
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
        "phash": facts.phash,
        "exif": facts.exif,
        "taken_at": facts.taken_at,
        "camera": " ".join(
            part for part in (facts.exif.get("camera_make"), facts.exif.get("camera_model")) if part
        ).casefold(),
        "shape": image_shape(facts.width, facts.height),
    }


def image_shape(width: int, height: int) -> str:
    if width == height:
        return "square"
    return "portrait" if height > width else "landscape"


def display_filename(path: Path) -> str:
    # Filenames that are not valid UTF-8 arrive with surrogates; keep them printable.
    return path.name.encode("utf-8", "backslashreplace").decode("utf-8")


def link_without_overwrite(source: Path, target: Path) -> None:
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


def export_image(
    folder: str | Path,
    info: ImageInfo,
    data: bytes,
    *,
    force: bool,
    names: ExportNames | None,
    extension: str | None = None,
) -> Path:
    """``data`` of the image ``info`` as ``folder/<its sanitised file name>``
    (``write_export`` says what it never does); ``extension`` replaces the name's own
    when the data is in another format (a rendered copy). A batch passes one
    ``names``: no image of the batch overwrites another's file, even with ``force``."""
    directory = Path(folder)
    if not directory.is_dir():
        raise ExportError(f"{visible(str(directory))} is not a folder")
    filename, fallback = info.filename, f"{info.id}.{extension or format_extension(info.format)}"
    if extension is not None:
        filename = f"{_split_extension(_cleaned(filename))[0] or info.id}.{extension}"
    names = names if names is not None else ExportNames()
    return write_export(directory, info.id, filename, fallback, data, force, names)


def write_export(
    directory: Path,
    image_id: str,
    filename: str,
    fallback: str,
    data: bytes,
    force: bool,
    names: ExportNames,
) -> Path:
    """Write ``data`` as ``directory/<sanitised filename>`` (``ImageRepository.export``).

    Written to a temporary file first, then linked into place: never through a
    symlink planted at the target name, never over an existing file unless ``force``
    (then replaced atomically).
    """
    name = names.name_for(image_id, filename, fallback)
    target = directory / name
    if names.written(image_id):
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
    names.mark_written(image_id)
    return target
