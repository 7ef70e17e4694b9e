"""The backup folder's layout and its manifest, shared by the writer and the reader.

    DIR/manifest.json                     written last: a backup is complete once it exists
    DIR/metadata/<kind>-<sha256[:16]>.jsonl   users, collections, counters, images
    DIR/originals/<sha256[:2]>/<sha256>   each original once, named by its SHA-256

Metadata files are one MongoDB Extended JSON (canonical) document per line, named by
their content, so a new run never changes a file an earlier, complete manifest names.
The manifest's ``checksum`` is the SHA-256 of the manifest without that key, as JSON
with sorted keys and no spaces (``json.dumps(m, sort_keys=True, separators=(",", ":"))``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.store.transfer import is_sha256

FORMAT = "imagerepo-tui-backup"
VERSION = 1
MANIFEST = "manifest.json"
ORIGINALS = "originals"
METADATA = "metadata"
LOCK = ".lock"
TEMP_PREFIX = ".tmp-"
# What a backup folder may hold; anything else means it is some other folder.
OWN_NAMES = frozenset({MANIFEST, ORIGINALS, METADATA, LOCK})
KINDS = ("users", "collections", "counters", "images")
BLOCK_BYTES = 1 << 20
_METADATA_PATH = re.compile(r"metadata/(users|collections|counters|images)-[0-9a-f]{16}\.jsonl")


class BackupError(ImageRepoError):
    """A backup folder that cannot be used: not a backup, incomplete or damaged."""


def original_path(folder: Path, sha256: str) -> Path:
    if not is_sha256(sha256):  # names come from hashes only, never from stored text
        raise ValueError("not a SHA-256")
    return folder / ORIGINALS / sha256[:2] / sha256


def metadata_name(kind: str, sha256: str) -> str:
    return f"{METADATA}/{kind}-{sha256[:16]}.jsonl"


def checksum(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def file_digest(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a file, read a block at a time."""
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def fsync_dir(path: Path) -> None:
    """Make renames into ``path`` durable (a file's own fsync does not cover its name)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_manifest(folder: Path, name: str = MANIFEST) -> dict[str, Any]:
    """The manifest of a complete backup, its checksum and file names checked."""
    path = folder / name
    try:
        manifest = json.loads(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        raise BackupError(
            f"{folder} holds no complete backup (no {MANIFEST}): "
            "a backup that was stopped is completed by running it again"
        ) from None
    except (OSError, ValueError) as error:
        raise BackupError(f"cannot read {path}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not the manifest of an imagerepo-tui backup")
    if manifest.get("version") != VERSION:
        raise BackupError(f"{path} is backup format {manifest.get('version')!r}; this reads 1")
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    if manifest.get("checksum") != checksum(body):
        raise BackupError(f"{path} is damaged: its checksum does not match")
    _check_names(manifest, path)
    return manifest


def _check_names(manifest: dict[str, Any], path: Path) -> None:
    """Only names this format makes: a doctored manifest must not lead reads elsewhere."""
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict) or set(metadata) != set(KINDS):
        raise BackupError(f"{path} does not name its metadata files")
    for kind, name in metadata.items():
        if not isinstance(name, str) or not _METADATA_PATH.fullmatch(name):
            raise BackupError(f"{path} names an unexpected {kind} file")
    for entry in manifest.get("files", []):
        name = entry.get("path") if isinstance(entry, dict) else None
        parts = name.split("/") if isinstance(name, str) else []
        original = len(parts) == 3 and parts[0] == ORIGINALS and is_sha256(parts[2])
        if not (original and parts[1] == parts[2][:2]) and not _METADATA_PATH.fullmatch(str(name)):
            raise BackupError(f"{path} lists an unexpected file")
