"""The documents kept in MongoDB, and their indexes.

Originals live in GridFS (``fs.files`` / ``fs.chunks``) exactly as uploaded; an
``Image`` points at its file by ``file_id`` and carries everything derived from it.
An image is visible exactly when its ``Image`` document exists: the GridFS bytes are
written first, the document last, so a failure in between leaves nothing visible.
"""

from __future__ import annotations

from typing import Any

from mongoengine import (
    BinaryField,
    BooleanField,
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
COLLECTIONS = "collections"
USERS = "users"
LOGIN_ATTEMPTS = "login_attempts"
# Small facts about the library as a whole, one raw document each, such as
# {_id: LAST_CHECK, at, problems, repaired, images}: the result of the last ``check``.
LIBRARY_STATE = "library_state"
LAST_CHECK = "last_check"
LAST_BACKUP = "last_backup"  # {_id, at, folder, host}: the last complete ``backup``
# {_id: HASHED_UP_TO + owner key, seq}: how far that user's hash backfill got.
HASHED_UP_TO = "phash_backfill:"
# ``audience`` says who may see an image, as one value an index can match by
# equality (the embedded server scans for $in and $or): the owner's id for a private
# or trashed image, PUBLIC for a live public one. "" is the owner (and audience) of
# images uploaded before the first account existed.
PUBLIC = "*"
UNOWNED = ""


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
    # Search support, all derived: whole case-folded words of filename, title,
    # description and tags (free-word search is equality on this indexed array: the
    # embedded server has no $text and scans on $regex); sort and filter keys.
    keywords = ListField(StringField(max_length=200))
    filename_key = StringField()
    camera = StringField(default="")
    shape = StringField(choices=("portrait", "landscape", "square"))
    # Date taken, or upload date when the file has none: a sort key always present.
    taken_key = DateTimeField()
    collections = ListField(ObjectIdField())
    # Custom metadata (--meta key=value): strings, numbers, dates; no schema needed.
    # Stored as "meta" (what queries say: meta.key:value); ``meta`` itself is taken
    # by mongoengine's class options.
    custom = DictField(db_field="meta")
    # In the trash (hidden, restorable) since ``deleted_at``.
    trashed = BooleanField(default=False, required=True)
    deleted_at = DateTimeField(default=None)
    # The owning user's id (hex), what the owner chose, and who may see it (above).
    owner = StringField(default=UNOWNED, required=False)
    public = BooleanField(default=False, required=True)
    audience = StringField(default=UNOWNED, required=False)
    # The owner's judgement, and how the image is drawn: stars (0 = unrated), a
    # favourite, and a clockwise turn on top of the EXIF orientation (the original's
    # bytes never change). Documents from before them read as 0, False, 0.
    rating = IntField(default=0, min_value=0, max_value=5)
    favorite = BooleanField(default=False)
    rotation = IntField(default=0, choices=(0, 90, 180, 270))
    # Perceptual hash (16 hex digits) and its four bands as indexed values, for
    # near-duplicates (``similarity.py``); absent until computed (``store/similar``).
    phash = StringField()
    phash_bands = ListField(IntField())

    meta = {  # noqa: RUF012 - mongoengine's declaration style
        "collection": IMAGES,
        "auto_create_index": False,
        "indexes": [
            {"fields": ["-seq"], "unique": True},
            # Exact duplicates are stored once per owner: a match never tells a
            # user that someone else holds the same bytes.
            {"fields": ["owner", "sha256"], "unique": True},
            {"fields": ["file_id"], "unique": True},
            # Deleting a collection finds its members among every owner's images,
            # trashed or not: without this, a scan (6.7 s at 100,000 images).
            {"fields": ["collections"]},
            # Ids and id prefixes are resolved among the images a user may see.
            {"fields": ["audience", "_id"]},
            # The embedded server uses an index only when the whole filter fits its
            # shape (equalities on a prefix, then at most one range), so every
            # filter the app sends starts with ``trashed`` and ``audience`` and has
            # an index made for it: browsing pages by a bounded seq range under
            # each equality.
            {"fields": ["trashed", "audience", "seq"]},
            {"fields": ["trashed", "audience", "tag_keys", "seq"]},
            {"fields": ["trashed", "audience", "keywords", "seq"]},
            {"fields": ["trashed", "audience", "collections", "seq"]},
            {"fields": ["trashed", "audience", "format", "seq"]},
            {"fields": ["trashed", "audience", "shape", "seq"]},
            {"fields": ["trashed", "audience", "owner", "seq"]},
            # rating:3 and is:favorite page by seq under the equality; rating:>=4 is
            # the one range after the equalities.
            {"fields": ["trashed", "audience", "rating", "seq"]},
            {"fields": ["trashed", "audience", "favorite", "seq"]},
            {"fields": ["trashed", "audience", "taken_at"]},
            {"fields": ["trashed", "audience", "created_at"]},
            {"fields": ["trashed", "audience", "deleted_at"]},
            {"fields": ["trashed", "audience", "width"]},
            {"fields": ["trashed", "audience", "height"]},
            {"fields": ["trashed", "audience", "size", "_id"]},
            {"fields": ["trashed", "audience", "filename_key", "_id"]},
            {"fields": ["trashed", "audience", "taken_key", "_id"]},
            # Near-duplicate candidates: equality on one band value (a multikey index
            # holds all four); and ``similar:ID``'s few ids among what a user sees
            # (without it, a filter of trashed, audience and _id is a full scan).
            {"fields": ["trashed", "audience", "phash_bands"]},
            {"fields": ["trashed", "audience", "_id"]},
        ],
    }


class Collection(Document):
    """An album: images list the collections they are in, so an image can be in
    several and deleting a collection leaves its images alone."""

    name = StringField(required=True, max_length=200)
    # Case-folded name: unique per owner, and what lookups by name compare.
    name_key = StringField(required=True)
    description = StringField(default="", max_length=5000)
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    owner = StringField(default=UNOWNED, required=False)
    # A smart collection's search text (it is that query, evaluated live); absent for
    # a plain collection, whose images list it.
    query = StringField(required=False)

    meta = {  # noqa: RUF012 - mongoengine's declaration style
        "collection": COLLECTIONS,
        "auto_create_index": False,
        "indexes": [{"fields": ["owner", "name_key"], "unique": True}],
    }


class User(Document):
    """An app account. Only an Argon2id hash of the password is kept."""

    name = StringField(required=True, max_length=64)
    name_key = StringField(required=True)
    password_hash = StringField(required=True)
    admin = BooleanField(default=False, required=True)
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)

    meta = {  # noqa: RUF012 - mongoengine's declaration style
        "collection": USERS,
        "auto_create_index": False,
        "indexes": [{"fields": ["name_key"], "unique": True}, {"fields": ["created_at"]}],
    }


class LoginAttempt(Document):
    """Failed logins in a row for a name (existing or not), to slow guessing."""

    name_key = StringField(primary_key=True)
    failures = IntField(default=0)
    last_failed_at = DateTimeField()

    meta = {"collection": LOGIN_ATTEMPTS, "auto_create_index": False}  # noqa: RUF012


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


def _shape(fields: Any) -> tuple[tuple[str, int], ...]:
    """An index's keys, comparable between its spec and the server's description."""
    return tuple((field, int(direction)) for field, direction in fields)


def drop_undeclared_indexes(document: type[Document]) -> None:
    """Drop indexes an earlier version declared and this one does not: each costs
    every write, and an old unique one can refuse what is now allowed."""
    declared = {_shape(spec["fields"]) for spec in document._meta["index_specs"]}
    collection = document._get_collection()
    for name, info in collection.index_information().items():
        if name != "_id_" and _shape(info["key"]) not in declared:
            collection.drop_index(name)


def ensure_indexes() -> None:
    """Make the declared indexes a collection lacks. Which exist is one round trip a
    collection; asking to create every declared one, as mongoengine does, was one
    each: 27 round trips before every first page. A collection with an index missing
    (or declared unique and not) gets mongoengine's, which makes it or reports the
    conflict as before."""
    for document in (Image, Collection, Counter, GridfsClaim, User, LoginAttempt):
        specs = document._meta["index_specs"]
        if not specs:
            continue
        existing = {
            _shape(info["key"]): bool(info.get("unique", False))
            for info in document._get_collection().index_information().values()
        }
        if any(existing.get(_shape(s["fields"])) != bool(s.get("unique")) for s in specs):
            document.ensure_indexes()
