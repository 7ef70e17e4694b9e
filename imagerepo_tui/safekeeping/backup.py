"""Writing a backup folder (the sink of ``backup``): originals once each by SHA-256,
metadata as Extended JSON lines, and the manifest last.

Nothing is ever half there under its final name: every file is written under a
temporary name, fsynced, read back and checked, then renamed into place. Originals
already in the folder (right name, right size) are not written again, and a metadata
file with the same content keeps its name, so a second run writes only what changed.
Until the new manifest is renamed into place the old one stays valid: it names only
files this run does not touch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from imagerepo_tui import __version__
from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.safekeeping.backup_format import (
    FORMAT,
    KINDS,
    LOCK,
    MANIFEST,
    METADATA,
    ORIGINALS,
    OWN_NAMES,
    TEMP_PREFIX,
    VERSION,
    BackupError,
    checksum,
    file_digest,
    fsync_dir,
    load_manifest,
    metadata_name,
    original_path,
)
from imagerepo_tui.safekeeping.transfer import FatalTransferError
from imagerepo_tui.store.transfer import SKIPPED, WRITTEN, Placed, is_sha256, to_json_line

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class BackupDiskError(FatalTransferError, BackupError):
    """The backup folder cannot be written (full, read-only, gone)."""


@contextlib.contextmanager
def _disk(folder: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        raise BackupDiskError(f"cannot write the backup in {folder}: {error}") from None


def _private_dir(path: Path) -> None:
    """A folder of the backup, never a planted symlink (the backup holds every user's
    private images and password hashes: only its owner may read it)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    if path.is_symlink() or not path.is_dir():
        raise BackupError(f"{path} is not a folder this backup can use")


def _temp(directory: Path, name: str) -> tuple[Path, IO[bytes]]:
    path = directory / f"{TEMP_PREFIX}{os.getpid()}-{name}"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # our own pid's leftover: that run is gone
    return path, os.fdopen(os.open(path, _CREATE, 0o600), "wb")


def _seal(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


class _Lines:
    """One metadata file being written: Extended JSON lines, hashed as they go."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder, self.kind = folder, kind
        self.path, self.handle = _temp(folder / METADATA, f"{kind}.jsonl")
        self.hasher, self.size, self.count = hashlib.sha256(), 0, 0

    def write(self, doc: dict[str, Any]) -> None:
        line = to_json_line(doc).encode("ascii")
        self.count += 1
        self.handle.write(line)
        self.hasher.update(line)
        self.size += len(line)

    def close(self) -> dict[str, Any]:
        """Seal, check, and put in place under its content's name; its manifest entry."""
        _seal(self.handle)
        digest = self.hasher.hexdigest()
        if file_digest(self.path) != (digest, self.size):
            raise BackupDiskError(f"{self.path} reads back differently from what was written")
        name = metadata_name(self.kind, digest)
        final = self.folder / name
        if final.is_file() and file_digest(final) == (digest, self.size):
            self.path.unlink()  # the same content is there already: nothing changed
        else:
            os.replace(self.path, final)
        return {"path": name, "size": self.size, "sha256": digest}


class BackupWriter:
    """A backup folder being written; ``close`` it whatever happens."""

    def __init__(self, folder: Path, source: str) -> None:
        self.folder, self.source = folder, source
        self.originals: dict[str, int] = {}
        self.lines: dict[str, _Lines] = {}
        self.counts = {"images": 0, "trashed": 0, "images_without_original": 0}
        self.touched: set[Path] = set()
        self.manifest: dict[str, Any] | None = None
        self._lock = threading.Lock()
        # One writer per original: two images with the same bytes (two owners' copies)
        # reached by two workers at once were both written and both counted as such.
        # Locks striped by hash, not one per original: a library has 100,000 of those.
        self._writing = [threading.Lock() for _ in range(64)]
        self._lock_file: int | None = None
        with _disk(folder):
            self._prepare()

    def _prepare(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        strangers = sorted(
            name
            for name in os.listdir(self.folder)
            if name not in OWN_NAMES and not name.startswith(TEMP_PREFIX)
        )
        if strangers:
            raise BackupError(
                f"{self.folder} is not a backup folder (it holds {strangers[0]!r}); "
                "give a new or empty folder, or one written by `backup`"
            )
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
        self._lock_file = os.open(self.folder / LOCK, flags, 0o600)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup is writing to {self.folder}") from None
        for name in (ORIGINALS, METADATA):
            _private_dir(self.folder / name)
        self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        """Leftovers of a run that was stopped (the lock says none is running)."""
        folders = [self.folder, self.folder / METADATA]
        folders += [Path(entry.path) for entry in os.scandir(self.folder / ORIGINALS)]
        for directory in folders:
            for entry in os.scandir(directory):
                if entry.name.startswith(TEMP_PREFIX):
                    os.unlink(entry.path)

    # -- the sink -------------------------------------------------------------------------

    def put_documents(self, kind: str, docs: Iterable[dict[str, Any]]) -> list[str]:
        with _disk(self.folder):
            lines = self._lines(kind)
            for doc in docs:
                lines.write(doc)
        return []

    def _lines(self, kind: str) -> _Lines:
        if kind not in self.lines:
            self.lines[kind] = _Lines(self.folder, kind)
        return self.lines[kind]

    def record(self, image: dict[str, Any]) -> None:
        """The image's document, in the source's order: the same library gives the
        same file, which a later run then need not write again."""
        with _disk(self.folder):
            self._lines("images").write(image)
        self.counts["images"] += 1
        self.counts["trashed"] += image.get("trashed") is True

    def put_image(self, image: dict[str, Any], blocks: Callable[[], Iterator[bytes]]) -> Placed:
        sha, size = image.get("sha256"), image.get("size")
        try:
            # isinstance for the type checker: is_sha256 takes anything and says bool.
            if not isinstance(sha, str) or not is_sha256(sha) or not isinstance(size, int):
                raise ImageRepoError(
                    f"image {image.get('_id')} is damaged (no valid sha256 or size): "
                    "its metadata is in the backup, its original is not"
                )
            with self._one_writer(sha), _disk(self.folder):
                if sha in self.originals or self._present(sha, size):
                    self.originals[sha] = size
                    return Placed(SKIPPED)
                self._write_original(image, blocks)
                self.originals[sha] = size
        except ImageRepoError:
            with self._lock:
                self.counts["images_without_original"] += 1
            raise
        return Placed(WRITTEN, size)

    def _one_writer(self, sha: str) -> threading.Lock:
        return self._writing[int(sha[:4], 16) % len(self._writing)]

    def _present(self, sha: str, size: int) -> bool:
        path = original_path(self.folder, sha)
        return not path.is_symlink() and path.is_file() and path.stat().st_size == size

    def _write_original(self, image: dict[str, Any], blocks: Callable[[], Iterator[bytes]]) -> None:
        sha, size = image["sha256"], image["size"]
        final = original_path(self.folder, sha)
        _private_dir(final.parent)
        # Two images with the same bytes may be written at once: one temporary each.
        path, handle = _temp(final.parent, f"{threading.get_ident()}-{sha}")
        try:
            hasher, length = hashlib.sha256(), 0
            with handle:
                for block in blocks():
                    length += len(block)
                    if length > size:
                        break
                    hasher.update(block)
                    handle.write(block)
                _seal(handle)
            if (hasher.hexdigest(), length) != (sha, size):
                raise ImageRepoError(
                    f"the stored original of image {image.get('_id')} is damaged (its SHA-256 "
                    "does not match): not backed up; see `check`"
                )
            if file_digest(path) != (sha, size):
                raise BackupDiskError(f"{path} reads back differently from what was written")
            os.replace(path, final)
            self.touched.add(final.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def finish(self) -> None:
        with _disk(self.folder):
            entries = {kind: self._lines(kind).close() for kind in KINDS}
            for directory in (*self.touched, self.folder / ORIGINALS, self.folder / METADATA):
                fsync_dir(directory)
            self.manifest = self._manifest(entries)
            self._put_manifest(self.manifest)
            self._prune(entries)

    def _manifest(self, entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
        files = sorted(entries.values(), key=lambda entry: entry["path"])
        files += [
            {"path": f"{ORIGINALS}/{sha[:2]}/{sha}", "size": size, "sha256": sha}
            for sha, size in sorted(self.originals.items())
        ]
        counts = {
            **self.counts,
            **{kind: self.lines[kind].count for kind in ("users", "collections", "counters")},
            "originals": len(self.originals),
            "original_bytes": sum(self.originals.values()),
        }
        body = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "app_version": __version__,
            "source": self.source,
            "counts": counts,
            "metadata": {kind: entry["path"] for kind, entry in entries.items()},
            "files": files,
        }
        return {**body, "checksum": checksum(body)}

    def _put_manifest(self, manifest: dict[str, Any]) -> None:
        path, handle = _temp(self.folder, MANIFEST)
        try:
            handle.write(json.dumps(manifest, indent=1).encode("ascii") + b"\n")
            _seal(handle)
            # Read back as a restore would, and every file it names there at its size.
            for entry in load_manifest(self.folder, path.name)["files"]:
                if (self.folder / entry["path"]).stat().st_size != entry["size"]:
                    raise BackupDiskError(f"{entry['path']} changed while the backup was written")
            os.replace(path, self.folder / MANIFEST)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        fsync_dir(self.folder)

    def _prune(self, entries: dict[str, dict[str, Any]]) -> None:
        """Metadata files no manifest names any more. Originals stay: one no longer in
        the library may be exactly what someone comes back for."""
        keep = {entry["path"].split("/", 1)[1] for entry in entries.values()}
        for entry in os.scandir(self.folder / METADATA):
            if entry.name not in keep:
                os.unlink(entry.path)

    def close(self) -> None:
        """Drop this run's temporary files and the lock (also after a failure)."""
        for lines in self.lines.values():
            with contextlib.suppress(OSError):
                lines.handle.close()
                lines.path.unlink()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None
