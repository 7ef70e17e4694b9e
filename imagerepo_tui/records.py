"""The records front ends see (images, collections, pages, upload results) and the
rules metadata follows: tags, custom fields and the derived search fields."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from imagerepo_tui.checked import Fields, plain_exif_value, plain_meta_value
from imagerepo_tui.errors import (
    InvalidMetadataError,
    SmartCollectionError,
)
from imagerepo_tui.query import META_KEY, search_words
from imagerepo_tui.textsafe import visible

# Rows per page, for every front end: each page costs the embedded server one bounded
# index range (more with filters), and a held PgDn has a page's time to get the next.
PAGE_SIZE = 200

UploadStatus = Literal["created", "duplicate", "error"]
# What ``rating`` and ``rotation`` (degrees clockwise) may hold.
RATINGS = (0, 1, 2, 3, 4, 5)
ROTATIONS = (0, 90, 180, 270)
MAX_TAG_LENGTH = 100
MAX_KEYWORDS = 500


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


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
    # None only in a damaged record: the stored date was missing or no date.
    created_at: datetime | None
    updated_at: datetime | None
    seq: int
    collections: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    deleted_at: datetime | None = None
    # The owning account's id ("" before accounts existed) and its name, for display.
    owner: str = ""
    owner_name: str = ""
    public: bool = False
    # Stars 0-5 (0: unrated), a favourite, and the clockwise turn the image is drawn
    # with (``ratings.py``).
    rating: int = 0
    favorite: bool = False
    rotation: int = 0
    # The perceptual hash (16 hex digits), "" until computed (near-duplicates).
    phash: str = ""
    # What is wrong with the stored document ("title: expected a string, got int"),
    # empty for a sound one. The fields above then hold what could be shown.
    damaged: tuple[str, ...] = ()

    @classmethod
    def from_document(
        cls,
        doc: Mapping[str, Any],
        owner_names: Mapping[str, str] | None = None,
        own_collections: Container[str] | None = None,
    ) -> ImageInfo:
        """The record of a stored document, whoever wrote it: every field's type is
        checked here (``checked.Fields``), a wrong one shown as best it can be and
        listed in ``damaged``. Never raises, whatever the document holds.

        ``own_collections`` (ids) keeps only the viewer's collections: another user
        may have put a public image in theirs, which is not the viewer's to see."""
        fields = Fields(doc)
        values: dict[str, Any] = {
            "id": fields.identity(),
            "filename": fields.text("filename"),
            "title": fields.text("title"),
            "description": fields.text("description"),
            "tags": fields.texts("tags"),
            "format": fields.text("format"),
            "mime": fields.text("mime"),
            "width": fields.integer("width", minimum=1),
            "height": fields.integer("height", minimum=1),
            "frames": fields.integer("frames", required=False, default=1, minimum=1),
            "size": fields.integer("size", minimum=0),
            "sha256": fields.digest("sha256"),
            "exif": fields.mapping("exif", plain_exif_value, "text or a number"),
            "taken_at": fields.moment("taken_at", required=False),
            "created_at": fields.moment("created_at"),
            "updated_at": fields.moment("updated_at"),
            "seq": fields.integer("seq"),
            "collections": tuple(
                str(oid)
                for oid in fields.object_ids("collections")
                if own_collections is None or str(oid) in own_collections
            ),
            "meta": fields.mapping("meta", plain_meta_value, "text, a number or a date"),
            "deleted_at": fields.moment("deleted_at", required=False),
            "owner": fields.text("owner", required=False),
            "public": fields.flag("public"),
            "rating": fields.choice("rating", RATINGS),
            "favorite": fields.flag("favorite"),
            "rotation": fields.choice("rotation", ROTATIONS),
            "phash": fields.perceptual_hash("phash"),
        }
        # Not part of the record, but without it the original is unreachable.
        fields.object_id("file_id")
        owner_name = (owner_names or {}).get(values["owner"], "")
        return cls(**values, owner_name=owner_name, damaged=tuple(fields.problems))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types, for ``--json`` output."""

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
            "taken_at": _iso(self.taken_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "collections": list(self.collections),
            "meta": {
                key: _iso(value) if isinstance(value, datetime) else value
                for key, value in self.meta.items()
            },
            "deleted_at": _iso(self.deleted_at),
            "owner": self.owner_name or None,
            "public": self.public,
            "rating": self.rating,
            "favorite": self.favorite,
            "rotation": self.rotation,
            "phash": self.phash or None,
            # Always present: [] for a sound image, else one line per problem.
            "damaged": list(self.damaged),
        }


@dataclass(frozen=True)
class UserInfo:
    """An app account as front ends see it: never its password hash."""

    id: str
    name: str
    admin: bool
    created_at: datetime

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> UserInfo:
        """Checked like an image's (``ImageInfo.from_document``): only a stored
        ``true`` makes an admin, never a truthy string such as "false"."""
        fields = Fields(doc)
        created = fields.moment("created_at") or datetime.fromtimestamp(0, UTC)
        return cls(fields.identity(), fields.text("name"), fields.flag("admin"), created)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "admin": self.admin,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class FileEntry:
    """A path to upload, or one met on the way that cannot be (with the reason).

    An entry may bring its bytes from elsewhere than the disk (a file in another
    application's GridFS bucket): then ``read(max_bytes)`` returns them, raising
    ``FileTooLargeError`` past the cap, and ``path`` is only the file's name.
    """

    path: Path
    size: int = 0
    error: str | None = None
    read: Callable[[int], bytes] | None = field(default=None, compare=False)
    # Custom fields of this file alone, beside the batch's (``NewMetadata.meta``).
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)


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
    # Custom fields (--meta key=value), already typed by ``parse_meta``.
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Name of a collection to put every uploaded image in (created if missing).
    collection: str | None = None
    # Visible to every user of the library, not only the uploader.
    public: bool = False


@dataclass
class Page:
    items: list[ImageInfo] = field(default_factory=list)
    # Pass as ``before`` to get the next page; None when this was the last. Opaque.
    next_before: Any = None


@dataclass(frozen=True)
class CollectionInfo:
    id: str
    name: str
    description: str
    # None only in a damaged record (see ``damaged``).
    created_at: datetime | None
    updated_at: datetime | None
    count: int = 0
    damaged: tuple[str, ...] = ()
    # A smart collection's search text: it holds what that query finds, live. None
    # for a plain collection (images join and leave it by hand).
    query: str | None = None

    @property
    def smart(self) -> bool:
        return self.query is not None

    def check_holds_by_hand(self) -> None:
        """Images join or leave a smart collection only by matching its query."""
        if self.query is not None:
            raise SmartCollectionError(
                f"{visible(self.name)!r} is a smart collection: it holds what its query "
                f"finds ({visible(self.query)}); images cannot be added or removed by hand"
            )

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], count: int = 0) -> CollectionInfo:
        """Checked like an image's (``ImageInfo.from_document``); a collection
        without a usable name is shown by its id."""
        fields = Fields(doc)
        collection_id = fields.identity()
        return cls(
            id=collection_id,
            name=fields.text("name") or f"(no name: {collection_id})",
            description=fields.text("description", required=False),
            created_at=fields.moment("created_at"),
            updated_at=fields.moment("updated_at"),
            count=count,
            query=fields.optional_text("query"),
            damaged=tuple(fields.problems),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "smart": self.smart,
            "query": self.query,
            "count": self.count,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "damaged": list(self.damaged),
        }


_META_VALUE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")
# Plain decimal forms only: Python's int()/float() also take "1_000", "infinity" and
# "nan", which are text to a user (and inf/nan are not JSON).
_META_VALUE_INT = re.compile(r"[+-]?\d+")
_META_VALUE_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_BSON_INT_MIN, _BSON_INT_MAX = -(2**63), 2**63 - 1


def fits_bson_int(value: int) -> bool:
    # A comparison, not ``in range(...)``: membership walks the range for an int
    # subclass (bson's Int64), 2**64 steps.
    return _BSON_INT_MIN <= value <= _BSON_INT_MAX


def parse_meta(assignment: str) -> tuple[str, Any]:
    """``key=value`` to a typed pair: integers, decimals and ISO dates become numbers
    and datetimes (so search can compare them); anything else stays text."""
    key, equals, raw = assignment.partition("=")
    key = key.strip()
    if not equals or not META_KEY.fullmatch(key):
        raise InvalidMetadataError(
            f"{visible(assignment)!r} is not key=value with a key of letters, digits, _ or -"
        )
    text = raw.strip()
    value: Any = raw
    if _META_VALUE_INT.fullmatch(text):
        # Beyond 64 bits BSON cannot store it as a number.
        value = int(text) if fits_bson_int(int(text)) else raw
    elif _META_VALUE_FLOAT.fullmatch(text):
        value = float(text) if math.isfinite(float(text)) else raw  # "1e999" is inf
    elif _META_VALUE_DATE.fullmatch(text):
        try:
            value = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:  # shaped like a date but not one (2021-02-30): text
            value = raw
    return key, value


def check_meta(meta: Mapping[str, Any], unset: Iterable[str] = ()) -> None:
    """Refuse custom fields the database would misread: a key with "$" or "." is an
    operator or a path, not a name; values are text, numbers or dates BSON can hold."""
    for key in [*meta, *unset]:
        if not isinstance(key, str) or not META_KEY.fullmatch(key):
            raise InvalidMetadataError(
                f"{visible(str(key))!r} is not a valid custom field name "
                "(letters, digits, _ or -, starting with a letter or _)"
            )
    for key, value in meta.items():
        storable = (
            isinstance(value, str | datetime | bool)
            or (isinstance(value, int) and fits_bson_int(value))
            or (isinstance(value, float) and math.isfinite(value))
        )
        if not storable:
            raise InvalidMetadataError(f"custom field {key!r} must be text, a number or a date")


def search_fields(
    filename: str, title: str, description: str, tags: Sequence[str]
) -> dict[str, Any]:
    """Derived fields that search and sorting use; recomputed whenever a source changes."""
    stem = filename.rsplit(".", 1)[0]
    words = [
        filename.casefold(),
        stem.casefold(),
        *search_words(filename),
        *search_words(title),
        *search_words(description),
        *(word for tag in tags for word in [tag_key(tag), *search_words(tag)]),
    ]
    keywords = list(dict.fromkeys(word for word in words if word))[:MAX_KEYWORDS]
    return {
        "keywords": keywords,
        "filename_key": filename.casefold(),
        "tag_keys": [tag_key(tag) for tag in tags],
    }


def tag_key(tag: str) -> str:
    return " ".join(tag.split()).casefold()


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Whitespace collapsed, empties dropped, duplicates (ignoring case) removed."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in tags:
        tag = " ".join(str(raw).split())[:MAX_TAG_LENGTH]
        if tag and tag_key(tag) not in seen:
            seen.add(tag_key(tag))
            result.append(tag)
    return result
