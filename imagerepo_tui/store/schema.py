"""The library's schema version and indexes: documents written by earlier versions
brought up to date once, indexes made, the upload counter created."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from pymongo.errors import DuplicateKeyError

from imagerepo_tui.store.common import Documents
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.models import (
    UNOWNED,
    Collection,
    Counter,
    Image,
    drop_undeclared_indexes,
    ensure_indexes,
)
from imagerepo_tui.store.originals import ensure_gridfs_indexes

SEQ_COUNTER = "image_seq"
SCHEMA_COUNTER = "schema_version"
SCHEMA_VERSION = 4


def prepare_library(
    store: Store, images: Documents, on_upgrade: Callable[[], None] | None = None
) -> None:
    """Everything a library needs before use, in this order: upgraded documents (the
    new indexes may not hold for old ones), indexes, the upload counter."""
    upgrade_documents(images, on_upgrade)
    ensure_indexes()
    ensure_gridfs_indexes(store.db)
    ensure_seq_counter()


def upgrade_documents(images: Documents, on_upgrade: Callable[[], None] | None) -> None:
    """Bring documents written by earlier versions up to date, once per database:
    a version number in ``counters`` makes every later start a single read.
    ``on_upgrade`` hears first when there is work (minutes for a large library:
    the indexes are rebuilt)."""
    counters = Counter._get_collection()
    version = counters.find_one({"_id": SCHEMA_COUNTER}) or {}
    if int(version.get("value", 0)) >= SCHEMA_VERSION:
        return
    if on_upgrade is not None and images.find_one({}, {"_id": 1}) is not None:
        on_upgrade()
    # Version 2: live/trashed became a boolean (the embedded server scans on
    # null tests); images without it would vanish from every list.
    images.update_many(
        {"trashed": {"$exists": False}, "deleted_at": None}, {"$set": {"trashed": False}}
    )
    images.update_many({"trashed": {"$exists": False}}, {"$set": {"trashed": True}})
    # Version 3: owners. Earlier images belong to nobody until the first account
    # adopts them, private (the default). Indexes now lead with ``audience`` and
    # duplicates are unique per owner: the old ones must go, or the unique
    # ``sha256`` index would refuse another user's copy of the same bytes.
    images.update_many(
        {"audience": {"$exists": False}},
        {"$set": {"owner": UNOWNED, "audience": UNOWNED, "public": False}},
    )
    Collection._get_collection().update_many(
        {"owner": {"$exists": False}}, {"$set": {"owner": UNOWNED}}
    )
    # Version 4: no document changes (images without rating/favorite/rotation read
    # as unrated: see store.filters.DEFAULTS), only two new indexes, which
    # ``ensure_indexes`` builds next: minutes at 100,000 images, worth the notice.
    for document in (Image, Collection):
        drop_undeclared_indexes(document)
    counters.update_one({"_id": SCHEMA_COUNTER}, {"$set": {"value": SCHEMA_VERSION}}, upsert=True)


def ensure_seq_counter() -> None:
    """Create the upload counter up front: concurrent first upserts of it misbehave on
    the embedded server (an AFTER document of None), plain ``$inc`` does not."""
    with contextlib.suppress(DuplicateKeyError):  # another process just made it
        Counter._get_collection().update_one(
            {"_id": SEQ_COUNTER}, {"$setOnInsert": {"value": 0}}, upsert=True
        )
