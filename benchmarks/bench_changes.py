"""Changing one image in a large library, as ratios to raw pymongo writes of the same
change, measured in the same run against the same server.

What the app adds is its checks (the id resolved among the images the user may see,
the owner checked) and reading the changed document back; what must not creep in is
a scan of the library, which on the embedded server costs seconds at 100,000 images
(findAndModify, or a filter no index serves, reads every document). Every change is
undone afterwards, so the cached library stays as it was.

    python -m benchmarks.bench_changes [--count 100000] [--db URI]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from pymongo import MongoClient

from benchmarks.bench_search import ensure_library
from benchmarks.timing import median_seconds
from imagerepo_tui.repository import ImageRepository

COLLECTION = "bench-changes"


def pairs(repo: ImageRepository, images: Any, collections: Any, image_id: str) -> dict:
    """label: (the app's way, the same change written by hand)."""
    oid = ObjectId(image_id)
    doc = images.find_one({"_id": oid}, {"owner": 1, "audience": 1})
    owner, audience = doc["owner"], doc["audience"]
    collection_id = collections.find_one({"name": COLLECTION, "owner": owner})["_id"]

    def raw_set(changes: dict[str, Any]) -> None:
        images.update_one({"_id": oid, "owner": owner}, {"$set": changes})

    return {
        "info": (
            lambda: repo.info(image_id),
            lambda: images.find_one({"_id": oid}, {"thumbnail": 0}),
        ),
        "edit the title": (
            lambda: repo.edit(image_id, title="benchmark title"),
            lambda: raw_set({"title": "benchmark title"}),
        ),
        "trash, then restore": (
            lambda: (repo.delete(image_id), repo.restore(image_id)),
            lambda: (
                raw_set({"trashed": True, "audience": owner}),
                raw_set({"trashed": False, "audience": audience}),
            ),
        ),
        "add to a collection, remove": (
            lambda: (
                repo.add_to_collection(COLLECTION, [image_id]),
                repo.remove_from_collection(COLLECTION, [image_id]),
            ),
            lambda: (
                images.update_one({"_id": oid}, {"$addToSet": {"collections": collection_id}}),
                images.update_one({"_id": oid}, {"$pull": {"collections": collection_id}}),
            ),
        ),
    }


def collection_delete(repo: ImageRepository, images: Any, collections: Any, ids: list[str]):
    """Deleting a collection of a few images: its members are found among all."""

    def by_app() -> float:
        repo.create_collection(COLLECTION + "-gone")
        repo.add_to_collection(COLLECTION + "-gone", ids)
        started = time.perf_counter()
        repo.delete_collection(COLLECTION + "-gone")
        return time.perf_counter() - started

    def by_hand() -> float:
        collection_id = collections.insert_one({"name": "raw", "owner": "-"}).inserted_id
        oids = [ObjectId(i) for i in ids]
        images.update_many({"_id": {"$in": oids}}, {"$addToSet": {"collections": collection_id}})
        started = time.perf_counter()
        images.update_many(
            {"collections": collection_id}, {"$pull": {"collections": collection_id}}
        )
        collections.delete_one({"_id": collection_id})
        return time.perf_counter() - started

    return by_app, by_hand


def median_of(timed: Callable[[], float], repeat: int = 5) -> float:
    return sorted(timed() for _ in range(repeat))[repeat // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", help="a MongoDB URI with database name (default: embedded)")
    args = parser.parse_args()
    uri, repo = ensure_library(args.count, args.db)
    client: MongoClient = MongoClient(uri)
    db = client.get_default_database()
    images, collections = db["images"], db["collections"]
    page = repo.list_page(None, None, 3)
    newest = page.items[0]
    before = images.find_one({"_id": ObjectId(newest.id)}, {"title": 1})
    repo.create_collection(COLLECTION)
    print(
        f"{images.estimated_document_count()} images, "
        f"{'embedded SecantusDB' if not args.db else 'MongoDB'}; one image, median of 5\n"
    )
    print(f"{'change':<30}{'app ms':>9}{'raw ms':>9}{'ratio':>7}")
    try:
        for label, (app, raw) in pairs(repo, images, collections, newest.id).items():
            app_seconds, _ = median_seconds(app)
            raw_seconds, _ = median_seconds(raw)
            print(
                f"{label:<30}{app_seconds * 1e3:>9.1f}{raw_seconds * 1e3:>9.1f}"
                f"{app_seconds / raw_seconds:>7.2f}"
            )
        by_app, by_hand = collection_delete(
            repo, images, collections, [item.id for item in page.items]
        )
        app_seconds, raw_seconds = median_of(by_app), median_of(by_hand)
        print(
            f"{'delete a 3-image collection':<30}{app_seconds * 1e3:>9.1f}"
            f"{raw_seconds * 1e3:>9.1f}{app_seconds / raw_seconds:>7.2f}"
        )
    finally:
        repo.delete_collection(COLLECTION)
        images.update_one({"_id": before["_id"]}, {"$set": {"title": before.get("title", "")}})
        repo.close()
        client.close()
    print(
        "\nratio = app time / raw time (the app also resolves the id, checks the owner "
        "and reads the changed image back; lower is better)"
    )


if __name__ == "__main__":
    main()
