"""Planting documents the app did not write: copies of a sound image document with
fields broken, written with plain pymongo as another client or a hand edit would."""

from __future__ import annotations

import secrets
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

# A value that removes the field instead of setting it.
MISSING: Any = object()

# Every field of an image document wrong at once.
ALL_WRONG: dict[str, Any] = {
    "filename": MISSING,
    "title": 42,
    "description": ["not", "text"],
    "tags": [1, "ok", {"x": 1}],
    "format": 5,
    "mime": None,
    "width": "wide",
    "height": -3,
    "frames": True,
    "size": "123",
    "sha256": "zz",
    "exif": [1, 2],
    "meta": "text",
    "collections": "abc",
    "taken_at": 5,
    "created_at": "2021-05-01T10:00:00",
    "updated_at": {"when": "never"},
    "public": "yes",
    "owner": {"evil": 1},
    "file_id": MISSING,
}


def plant(raw_db: Any, template_id: str, **changes: Any) -> str:
    """A copy of image ``template_id``'s document under a new id, sequence number,
    hash and file (so no unique index refuses it), with ``changes`` applied."""
    doc = dict(raw_db.images.find_one({"_id": ObjectId(template_id)}))
    counter = raw_db.counters.find_one_and_update(
        {"_id": "image_seq"}, {"$inc": {"value": 1}}, return_document=ReturnDocument.AFTER
    )
    doc.update(
        _id=ObjectId(), seq=counter["value"], sha256=secrets.token_hex(32), file_id=ObjectId()
    )
    for key, value in changes.items():
        if value is MISSING:
            doc.pop(key, None)
        else:
            doc[key] = value
    return str(raw_db.images.insert_one(doc).inserted_id)
