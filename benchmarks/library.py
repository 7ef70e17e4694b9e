"""Fill a library with N images quickly, for benchmarks at scale.

Uploading 100,000 real photos through the app would take hours, and browsing or
searching only reads metadata, so this writes what an upload would have written —
image documents with realistic, varied metadata (tags, words, cameras, dates,
sizes) and a small but real, distinct JPEG original per image in GridFS — straight
into the database in large batches. Documents go through the same ``search_fields``
the app uses, so queries see exactly what they would see after real uploads.

Each image's ``size`` and ``sha256`` are those of its stored original, and its GridFS
file carries the SHA-256 the app records, so ``check``, backup, restore and copy
accept every image. Width, height, camera and dates stay varied (what a photo would
have): searches filter on them, and nothing compares them with the 8x8 original.
Libraries made before that (``GENERATOR_VERSION`` 1, sizes at random, no marker) are
made again by ``ensure_current``, and by ``fill`` before it adds to one.

    python -m benchmarks.library --count 100000 --db mongodb://127.0.0.1:27017/bench
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from PIL import Image
from pymongo import MongoClient

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, search_fields
from imagerepo_tui.similarity import bands
from imagerepo_tui.store.counts import COUNTS, count_key
from imagerepo_tui.store.models import HASHED_UP_TO, LIBRARY_STATE

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
# 2: sizes and the GridFS files' sha256 match the originals (1 had random sizes, which
# ``check`` reported as damage and restore and copy refused).
# 3: perceptual hashes (``phash``, ``phash_bands``) for near-duplicate search: random,
# with every 50th image a near copy (1-3 bits apart) of the one before it.
GENERATOR_VERSION = 3
NEAR_COPY_EVERY = 50
# Where a library made here says which generator made it: outside the app's own
# collections, so backups, copies and checks never see it.
MARKER = "benchmark_library"


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


def _phash(seq: int) -> str:
    """A random 64-bit hash per image (its own generator: the other fields stay as
    earlier versions drew them); every ``NEAR_COPY_EVERY``-th is the previous image's
    hash with a few bits flipped."""
    if seq % NEAR_COPY_EVERY == 0 and seq > 1:
        value = int(_phash(seq - 1), 16)
        flips = random.Random(-seq)
        for bit in flips.sample(range(64), flips.randint(1, 3)):
            value ^= 1 << bit
        return f"{value:016x}"
    return f"{random.Random(seq * 7919).getrandbits(64):016x}"


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
    # Drawn and dropped: version 1 used it as the size; drawing it still keeps every
    # other field the same as in the libraries made before.
    rng.randint(200_000, 9_000_000)
    sha256 = hashlib.sha256(data).hexdigest()
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
        "size": len(data),
        "sha256": sha256,
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
        "phash": _phash(seq),
        "phash_bands": bands(_phash(seq)),
        **search_fields(filename, title, "", tags),
    }
    files = {
        "_id": file_id,
        "length": len(data),
        "chunkSize": CHUNK,
        "uploadDate": created,
        "filename": filename,
        "metadata": {"contentType": "image/jpeg", "sha256": sha256},
    }
    chunk = {"files_id": file_id, "n": 0, "data": data}
    return doc, files, chunk


def fill(uri: str, count: int, batch: int = 2000, seed: int = 7) -> float:
    """Add ``count`` images to the database at ``uri``; returns seconds taken.

    A library an older generator made is dropped and made again first, with its images
    counted in: fixing its documents in place costs more than making them (updates
    measured at ~6 ms each on the embedded server: 20 minutes at 100,000 images,
    where making them takes about 5)."""
    client: MongoClient = MongoClient(uri)
    db = client.get_default_database()
    if _outdated(uri):
        count += db["images"].estimated_document_count()
        print(f"remaking the library at {db.name}: an older generator made it ({count} images)")
        client.drop_database(db.name)
    # Opening creates the app's indexes (GridFS's too) and its counter.
    ImageRepository.open(Settings(db_uri=uri)).close()
    db[MARKER].update_one(
        {"_id": "generator"}, {"$set": {"version": GENERATOR_VERSION}}, upsert=True
    )
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
        # Written behind the app's back, so the counts it keeps are added to here too.
        added = Counter(count_key(row[0].get("audience"), row[0].get("trashed")) for row in rows)
        for key, n in added.items():
            if key is not None:
                db[COUNTS].update_one({"_id": key}, {"$inc": {"n": n}}, upsert=True)
        db["counters"].update_one({"_id": "image_seq"}, {"$set": {"value": rows[-1][0]["seq"]}})
        # Every image has its hash: nothing for the near-duplicate backfill to walk.
        db[LIBRARY_STATE].update_one(
            {"_id": HASHED_UP_TO}, {"$set": {"seq": rows[-1][0]["seq"]}}, upsert=True
        )
    client.close()
    return time.perf_counter() - started


def ensure_current(uri: str) -> bool:
    """Make the library at ``uri`` again if an older generator made it (see
    ``GENERATOR_VERSION``), with as many images; True if it did. A caller holding an
    open repository on it must open it again afterwards (as after ``fill``)."""
    if not _outdated(uri):
        return False
    fill(uri, 0)
    return True


def _outdated(uri: str) -> bool:
    client: MongoClient = MongoClient(uri)
    try:
        db = client.get_default_database()
        marker = db[MARKER].find_one({"_id": "generator"}) or {}
        made = marker.get("version", 1 if db["images"].estimated_document_count() else None)
        return made is not None and made < GENERATOR_VERSION
    finally:
        client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", required=True, help="MongoDB URI including the database name")
    arguments = parser.parse_args()
    seconds = fill(arguments.db, arguments.count)
    print(f"{arguments.count} images in {seconds:.1f} s")
