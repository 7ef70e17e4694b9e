"""Reading a backup folder (the source of ``restore --backup``): only a complete one
(its manifest there and its checksum right), metadata files checked against the
manifest before use, originals streamed a block at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imagerepo_tui.safekeeping.backup_format import (
    BLOCK_BYTES,
    BackupError,
    file_digest,
    load_manifest,
    original_path,
)
from imagerepo_tui.store.transfer import DamagedOriginalError, from_json_line, is_sha256


class BackupReader:
    """A complete backup folder, checked on opening."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        if not folder.is_dir():
            raise BackupError(f"{folder} is not a folder")
        self.manifest = load_manifest(folder)
        self.originals = {
            entry["path"].rsplit("/", 1)[1]
            for entry in self.manifest["files"]
            if entry["path"].startswith("originals/")
        }
        sizes = {entry["path"]: entry for entry in self.manifest["files"]}
        for kind, name in self.manifest["metadata"].items():
            entry = sizes.get(name)
            try:
                found = file_digest(folder / name)
            except OSError as error:
                raise BackupError(f"cannot read the backup's {kind} ({name}): {error}") from None
            if entry is None or found != (entry["sha256"], entry["size"]):
                raise BackupError(f"the backup's {kind} ({name}) is damaged or changed")

    def totals(self) -> tuple[int, int]:
        counts = self.manifest.get("counts", {})
        return int(counts.get("images", 0)), int(counts.get("original_bytes", 0))

    def documents(self, kind: str) -> Iterator[dict[str, Any]]:
        name = self.manifest["metadata"][kind]
        try:
            with open(self.folder / name, encoding="ascii") as lines:
                for number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield from_json_line(line)
                    except ValueError:
                        raise BackupError(f"{name} line {number} is not a document") from None
        except (OSError, UnicodeDecodeError) as error:
            raise BackupError(f"cannot read the backup's {name}: {error}") from None

    def images(self) -> Iterator[dict[str, Any]]:
        return self.documents("images")

    def original(self, image: dict[str, Any]) -> Iterator[bytes]:
        sha = image.get("sha256")
        if not isinstance(sha, str) or not is_sha256(sha) or sha not in self.originals:
            raise DamagedOriginalError(f"the backup holds no original for image {image.get('_id')}")
        try:
            fd = os.open(original_path(self.folder, sha), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as error:
            raise DamagedOriginalError(
                f"cannot read the backup's original of image {image.get('_id')}: {error.strerror}"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            while True:
                try:
                    block = handle.read(BLOCK_BYTES)
                except OSError as error:
                    raise DamagedOriginalError(
                        f"cannot read the backup's original of image {image.get('_id')}: {error}"
                    ) from None
                if not block:
                    return
                yield block
