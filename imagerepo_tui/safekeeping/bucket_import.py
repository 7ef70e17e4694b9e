"""Importing the images another application keeps in a GridFS bucket (``copy --from URI
--bucket NAME``): each file goes through the ordinary upload pipeline, so it is checked,
stored byte for byte and deduplicated like any upload; nothing is written to the source.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from imagerepo_tui.checked import kind
from imagerepo_tui.files import safe_export_name
from imagerepo_tui.query import META_KEY
from imagerepo_tui.records import FileEntry, UploadResult, fits_bson_int
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.store.foreign_bucket import (
    DEFAULT_SOURCE_DATABASE,
    ForeignBucket,
    ForeignFile,
    bucket_name_problem,
)

__all__ = [
    "DEFAULT_SOURCE_DATABASE",
    "BucketImport",
    "ImportResult",
    "bucket_name_problem",
    "flatten_meta",
]

WHAT = "import a GridFS bucket"
# Custom fields the import itself writes; a source field of the same name gives way.
FROM, BUCKET, FILE_ID, UPLOAD_DATE, FILENAME = (
    "imported_from",
    "imported_bucket",
    "imported_file_id",
    "imported_upload_date",
    "imported_filename",
)
OWN_KEYS = frozenset({FROM, BUCKET, FILE_ID, UPLOAD_DATE, FILENAME})
# An image document must stay far below BSON's 16 MB with its thumbnail: source
# metadata beyond these bounds is skipped (with a note), never cut and kept as if whole.
MAX_META_FIELDS = 100
MAX_META_TEXT = 4096
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ImportResult:
    """What became of one file of the bucket: ``upload`` is its upload's result
    (``upload.path`` is the name it has here); ``notes`` what was changed on the way."""

    source_id: str
    upload: UploadResult
    notes: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return str(self.upload.path)


def _meta_key(raw: object) -> str | None:
    """A source field name as a custom field name: characters the rules refuse
    ('.', '$', spaces, non-ASCII) become '_'; None if still no valid name."""
    if not isinstance(raw, str) or not raw:
        return None
    key = _NOT_IN_KEY.sub("_", raw)
    if not (key[0].isascii() and (key[0].isalpha() or key[0] == "_")):
        key = "_" + key
    return key if META_KEY.fullmatch(key) else None


def _meta_value(value: Any) -> tuple[Any, str | None]:
    """(value to keep or None to skip it, what was done to it). Custom fields hold
    text, numbers, booleans and dates; anything else becomes text or is skipped."""
    if isinstance(value, bool | datetime):
        return value, None
    if isinstance(value, int):
        number = int(value)  # a plain int: bson's Int64 is a subclass
        return (number, None) if fits_bson_int(number) else (str(number), "kept as text")
    if isinstance(value, float):
        return (float(value), None) if math.isfinite(value) else (str(value), "kept as text")
    if value is None or isinstance(value, bytes):
        return None, f"{kind(value)}: skipped"
    if isinstance(value, str):
        text, note = str(value), None  # a plain str, not bson's Code (a str subclass)
    elif isinstance(value, Mapping | list):
        text = json.dumps(value, default=str, ensure_ascii=False)
        note = f"{kind(value)} kept as JSON text"
    else:  # ObjectId, Decimal128, UUID, Timestamp...: their text is what they mean
        text, note = str(value), f"{kind(value)} kept as text"
    if len(text) > MAX_META_TEXT:
        return None, f"over {MAX_META_TEXT} characters: skipped"
    return text, note


def flatten_meta(*sources: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Source fields (later sources winning) as custom fields, with a note for each
    field changed or skipped. Notes name fields, not files, so that a whole bucket's
    notes can be counted together."""
    meta: dict[str, Any] = {}
    notes: list[str] = []
    for source in sources:
        named: set[str] = set()  # by this source: "a.b" and "a_b" both become a_b
        for raw_key, raw_value in source.items():
            label = repr(raw_key)[:60]
            key = _meta_key(raw_key)
            if key is None:
                notes.append(f"metadata field {label}: not usable as a field name, skipped")
                continue
            if key in OWN_KEYS or key in named:
                whose = "the import's own" if key in OWN_KEYS else "another field's"
                notes.append(f"metadata field {label}: its name {key} is {whose}, skipped")
                continue
            named.add(key)
            if len(meta) >= MAX_META_FIELDS and key not in meta:
                notes.append(f"metadata beyond {MAX_META_FIELDS} fields skipped")
                break
            value, note = _meta_value(raw_value)
            if key != raw_key:
                note = f"renamed {key}" + (f", {note}" if note else "")
            if note:
                notes.append(f"metadata field {label}: {note}")
            if value is not None:
                meta[key] = value
    return meta, notes


def _name(file: ForeignFile) -> tuple[str, list[str]]:
    """A name safe to store and show (the source's is untrusted): a path's last part,
    no control characters or leading dots, at most 200 bytes; the id without one."""
    fallback = f"gridfs-{file.id_text}"
    if file.filename is None:
        return safe_export_name("", fallback), []
    name = safe_export_name(file.filename, fallback)
    if name == file.filename:
        return name, []
    kept = (
        f"the whole one is meta {FILENAME}"
        if len(file.filename) <= MAX_META_TEXT
        else f"the whole one, over {MAX_META_TEXT} characters, is not kept"
    )
    return name, [f"its filename was cut to a safe file name ({kept})"]


class BucketImport:
    """One import run from a bucket into ``repo`` (admins only, once accounts exist).

    ``with BucketImport(repo, uri, bucket) as run: for result in run.results(): ...``
    """

    def __init__(self, repo: ImageRepository, uri: str, bucket: str) -> None:
        # Before connecting anywhere: a user who may not import learns nothing more.
        repo.whole_library(WHAT)
        self._repo = repo
        self._source = ForeignBucket(uri, bucket)

    def __enter__(self) -> BucketImport:
        return self

    def __exit__(self, *_: object) -> None:
        self._source.close()

    @property
    def description(self) -> str:
        """Where the bucket is: server and database, without credentials or options."""
        return self._source.description

    @property
    def database(self) -> str:
        return self._source.database

    @property
    def default_database(self) -> bool:
        """True when the URI named no database and MongoDB's default was read."""
        return self._source.default_database

    def estimated_count(self) -> int:
        return self._source.estimated_count()

    def results(self) -> Iterator[ImportResult]:
        """Each file's result in the bucket's order, as soon as it is stored or
        refused. Files are read from the source only as the upload pipeline takes
        them, a few at a time. Raises ``DatabaseUnavailableError`` (after yielding
        what was done) when either database goes away."""
        waiting: deque[tuple[str, tuple[str, ...]]] = deque()

        def entries() -> Iterator[FileEntry]:
            for file in self._source.files():
                entry, notes = self._entry(file)
                waiting.append((file.id_text, notes))
                yield entry

        # upload_files answers in input order: each result is the oldest entry's.
        for upload in self._repo.upload_files(entries()):
            source_id, notes = waiting.popleft()
            yield ImportResult(source_id, upload, notes)

    def _entry(self, file: ForeignFile) -> tuple[FileEntry, tuple[str, ...]]:
        name, name_notes = _name(file)
        path = Path(name)
        if file.refusal is not None:
            return FileEntry(path, error=file.refusal), tuple(name_notes)
        meta, meta_notes = flatten_meta(file.extra, file.metadata)
        meta.update(self._provenance(file, name))
        notes = (*file.notes, *name_notes, *meta_notes)
        read = partial(self._source.read, file)
        return FileEntry(path, size=file.length, read=read, meta=meta), notes

    def _provenance(self, file: ForeignFile, name: str) -> dict[str, Any]:
        meta: dict[str, Any] = {
            FROM: self._source.description,
            BUCKET: self._source.bucket,
            FILE_ID: file.id_text,
        }
        if file.upload_date is not None:
            meta[UPLOAD_DATE] = file.upload_date
        # The source's own name when it had to change (a path's folders, say), if not huge.
        original = file.filename
        if original is not None and original != name and len(original) <= MAX_META_TEXT:
            meta[FILENAME] = original
        return meta
