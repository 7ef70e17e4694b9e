"""Files on disk: finding what to upload, reading it safely, turning it into the
fields an image stores, and writing exports that stay inside their folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagerepo_tui import imaging
from imagerepo_tui.errors import (
    FileTooLargeError,
    UnreadablePathError,
)
from imagerepo_tui.records import FileEntry
from imagerepo_tui.textsafe import visible


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
class PreparedUpload:
    entry: FileEntry
    data: bytes
    fields: dict[str, Any]


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
