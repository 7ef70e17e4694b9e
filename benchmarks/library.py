"""Fill a library with N images quickly, for benchmarks at scale.

Uploading 100,000 real photos through the app would take hours, and browsing or
searching only reads metadata, so this writes what an upload would have written —
image documents with realistic, varied metadata (tags, words, cameras, dates,
sizes) and a small but real, distinct JPEG original per image in GridFS — straight
into the database in large batches. Documents go through the same ``search_fields``
the app uses, so queries see exactly what they would see after real uploads.

    python -m benchmarks.library --count 100000 --db mongodb://127.0.0.1:27017/bench
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from PIL import Image
from pymongo import MongoClient

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, search_fields

TAGS = [
    "beach",
    "family",
    "cat",
    "dog",
    "sunset",
    "holiday",
    "work",
    "food",
    "city",
    "mountains",
    "snow",
    "birthday",
    "garden",
    "car",
    "concert",
    "museum",
    "forest",
    "river",
    "wedding",
    "friends",
] + [f"project{n}" for n in range(200)]
WORDS = [
    "sunset",
    "morning",
    "portrait",
    "kids",
    "lake",
    "bridge",
    "market",
    "street",
    "night",
    "rain",
    "harbour",
    "castle",
    "picnic",
    "tower",
    "flowers",
    "train",
] + [f"word{n}" for n in range(2000)]
CAMERAS = [
    ("Canon", "EOS 5D Mark IV"),
    ("NIKON CORPORATION", "NIKON D750"),
    ("Apple", "iPhone 13"),
    ("SONY", "ILCE-7M3"),
    ("FUJIFILM", "X-T4"),
    ("", ""),
]
DIMENSIONS = [
    (4000, 3000),
    (3000, 4000),
    (6000, 4000),
    (1920, 1080),
    (1080, 1920),
    (2048, 2048),
    (800, 600),
]
CHUNK = 255 * 1024


def _tiny_jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (8, 8), ((seed * 37) % 256, (seed * 91) % 256, (seed >> 8) % 256))
    image.putpixel((seed % 8, (seed // 8) % 8), (seed % 251, 255 - seed % 241, 7))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, comment=str(seed).encode())
    return out.getvalue()


def _thumbnail() -> bytes:
    out = io.BytesIO()
    Image.effect_mandelbrot((320, 240), (-2, -1.2, 1, 1.2), 40).convert("RGB").save(
        out, "WEBP", quality=80
    )
    return out.getvalue()


def _image_document(
    seq: int, rng: random.Random, thumbnail: bytes, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    data = _tiny_jpeg(seq)
    file_id = ObjectId()
    width, height = rng.choice(DIMENSIONS)
    make, model = rng.choice(CAMERAS)
    filename = f"IMG_{seq:06d}.jpg"
    title = " ".join(
        rng.choice(WORDS[:16] if rng.random() < 0.5 else WORDS) for _ in range(rng.randint(0, 3))
    )
    tags = sorted(
        {
            rng.choice(TAGS[:20]) if rng.random() < 0.7 else rng.choice(TAGS)
            for _ in range(rng.randint(0, 4))
        }
    )
    taken = datetime(2015, 1, 1) + timedelta(seconds=rng.randint(0, 10 * 365 * 86400))
    created = now - timedelta(seconds=(1_000_000 - seq))
    size = rng.randint(200_000, 9_000_000)
    doc = {
        "_id": ObjectId(),
        "seq": seq,
        "filename": filename,
        "title": title,
        "description": "",
        "tags": tags,
        "format": "JPEG",
        "mime": "image/jpeg",
        "width": width,
        "height": height,
        "frames": 1,
        "size": size,
        "sha256": hashlib.sha256(data).hexdigest(),
        "file_id": file_id,
        "thumbnail": thumbnail,
        "thumbnail_mime": "image/webp",
        "exif": {"camera_make": make, "camera_model": model} if make else {},
        "taken_at": taken if make else None,
        "taken_key": taken if make else created,
        "created_at": created,
        "updated_at": created,
        "camera": f"{make} {model}".strip().casefold(),
        "shape": "square" if width == height else ("portrait" if height > width else "landscape"),
        "collections": [],
        "meta": {},
        "trashed": False,
        # Personal mode: nobody's, private (what an upload before accounts writes).
        "owner": "",
        "audience": "",
        "public": False,
        "deleted_at": None,
        **search_fields(filename, title, "", tags),
    }
    files = {
        "_id": file_id,
        "length": len(data),
        "chunkSize": CHUNK,
        "uploadDate": created,
        "filename": filename,
        "metadata": {"contentType": "image/jpeg"},
    }
    chunk = {"files_id": file_id, "n": 0, "data": data}
    return doc, files, chunk


def fill(uri: str, count: int, batch: int = 2000, seed: int = 7) -> float:
    """Add ``count`` images to the database at ``uri``; returns seconds taken."""
    # Opening creates the app's indexes (GridFS's too) and its counter.
    ImageRepository.open(Settings(db_uri=uri)).close()
    client: MongoClient = MongoClient(uri)
    db = client.get_default_database()
    start_seq = int((db["counters"].find_one({"_id": "image_seq"}) or {}).get("value", 0))
    rng = random.Random(seed + start_seq)
    thumbnail = _thumbnail()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(start_seq + 1, start_seq + count + 1, batch):
        rows = [
            _image_document(seq, rng, thumbnail, now)
            for seq in range(first, min(first + batch, start_seq + count + 1))
        ]
        db["fs.chunks"].insert_many([row[2] for row in rows], ordered=False)
        db["fs.files"].insert_many([row[1] for row in rows], ordered=False)
        db["images"].insert_many([row[0] for row in rows], ordered=False)
        db["counters"].update_one({"_id": "image_seq"}, {"$set": {"value": rows[-1][0]["seq"]}})
    client.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", required=True, help="MongoDB URI including the database name")
    arguments = parser.parse_args()
    seconds = fill(arguments.db, arguments.count)
    print(f"{arguments.count} images in {seconds:.1f} s")
