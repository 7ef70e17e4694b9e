"""The documents kept in MongoDB, and their indexes.

Originals live in GridFS (``fs.files`` / ``fs.chunks``) exactly as uploaded; an
``Image`` points at its file by ``file_id`` and carries everything derived from it.
An image is visible exactly when its ``Image`` document exists: the GridFS bytes are
written first, the document last, so a failure in between leaves nothing visible.
"""

from __future__ import annotations

from mongoengine import (
    BinaryField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    LongField,
    ObjectIdField,
    StringField,
)

IMAGES = "images"
COUNTERS = "counters"
CLAIMS = "gridfs_claims"


class Image(Document):
    """One image in the library."""

    # Monotonic upload sequence: newest-first browsing pages by bounded ranges on it,
    # which every server (the embedded one included) answers from the index.
    seq = LongField(required=True)
    filename = StringField(required=True, max_length=1024)
    title = StringField(default="", max_length=1000)
    description = StringField(default="", max_length=20000)
    tags = ListField(StringField(max_length=100))
    # Case-folded copies of ``tags``: filters match on equality, never on a regex.
    tag_keys = ListField(StringField(max_length=100))
    format = StringField(required=True)
    mime = StringField(required=True)
    width = IntField(required=True, min_value=1)
    height = IntField(required=True, min_value=1)
    frames = IntField(default=1, min_value=1)
    size = LongField(required=True, min_value=1)
    sha256 = StringField(required=True, regex=r"^[0-9a-f]{64}$")
    file_id = ObjectIdField(required=True)
    thumbnail = BinaryField()
    thumbnail_mime = StringField(default="image/webp")
    exif = DictField()
    taken_at = DateTimeField()
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)

    meta = {  # noqa: RUF012 - mongoengine's declaration style
        "collection": IMAGES,
        "auto_create_index": False,
        "indexes": [
            {"fields": ["-seq"], "unique": True},
            # Exact duplicates are stored once.
            {"fields": ["sha256"], "unique": True},
            {"fields": ["file_id"], "unique": True},
            {"fields": ["tag_keys", "-seq"]},
        ],
    }


class Counter(Document):
    """Named monotonic counters (the upload sequence)."""

    name = StringField(primary_key=True)
    value = LongField(default=0)

    meta = {"collection": COUNTERS, "auto_create_index": False}  # noqa: RUF012


class GridfsClaim(Document):
    """A GridFS file that may become garbage: written for an image not yet (or no
    longer) pointing at it. Whoever finds a claim whose writer is gone deletes the file
    unless an image references it, so a crash never leaves orphaned bytes for long."""

    file_id = ObjectIdField(primary_key=True)
    host = StringField(required=True)
    pid = IntField(required=True)
    created_at = DateTimeField(required=True)

    meta = {"collection": CLAIMS, "auto_create_index": False}  # noqa: RUF012


def ensure_indexes() -> None:
    for document in (Image, Counter, GridfsClaim):
        document.ensure_indexes()
