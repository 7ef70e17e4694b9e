"""Collections (albums) and image membership. An image lists the ids of the
collections it is in, so membership costs no join and deleting a collection only
pulls its id from images."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError
from pymongo.errors import DuplicateKeyError

from imagerepo_tui.errors import ImageRepoError, NotFoundError
from imagerepo_tui.store.common import database_errors, tolerant, utc_now
from imagerepo_tui.store.connection import Store
from imagerepo_tui.store.models import Collection, Image


class CollectionExistsError(ImageRepoError):
    """A collection with that name (ignoring case) already exists."""


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class CollectionStore:
    """Collections belong to one user each: every read and write names its owner, so
    nobody reaches another user's collection by name or id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.collections = tolerant(Collection._get_collection())
        self.images = tolerant(Image._get_collection())

    def all(self, owner: str) -> list[dict[str, Any]]:
        with database_errors(self.store):
            return list(self.collections.find({"owner": owner}).sort("name_key", 1))

    def ids(self, owner: str) -> set[str]:
        """The (hex) ids of ``owner``'s collections: a user has few."""
        with database_errors(self.store):
            return {str(doc["_id"]) for doc in self.collections.find({"owner": owner}, {"_id": 1})}

    def by_name(self, name: str, owner: str) -> dict[str, Any]:
        with database_errors(self.store):
            doc = self.collections.find_one({"owner": owner, "name_key": name_key(name)})
        if doc is None:
            raise NotFoundError(f"no collection named {name!r}")
        return doc

    def by_id(self, collection_id: ObjectId) -> dict[str, Any]:
        with database_errors(self.store):
            doc = self.collections.find_one({"_id": collection_id})
        if doc is None:
            raise NotFoundError(f"no collection with id {collection_id}")
        return doc

    def create(
        self, name: str, owner: str, description: str = "", query: str | None = None
    ) -> dict[str, Any]:
        """A plain collection, or with ``query`` a smart one (stored as its text)."""
        now = utc_now()
        collection = Collection(
            name=" ".join(name.split()),
            name_key=name_key(name),
            description=description,
            created_at=now,
            updated_at=now,
            owner=owner,
            query=query,
        )
        with database_errors(self.store):
            try:
                collection.save(force_insert=True)
            except NotUniqueError:
                raise CollectionExistsError(f"a collection named {name!r} exists") from None
        return self.by_id(collection.pk)

    def update(
        self, collection_id: ObjectId, changes: dict[str, Any], owner: str
    ) -> dict[str, Any]:
        if "name" in changes:
            changes = {
                **changes,
                "name": " ".join(changes["name"].split()),
                "name_key": name_key(changes["name"]),
            }
        with database_errors(self.store):
            try:
                result = self.collections.update_one(
                    {"_id": collection_id, "owner": owner},
                    {"$set": {**changes, "updated_at": utc_now()}},
                )
            except DuplicateKeyError:
                raise CollectionExistsError(
                    f"a collection named {changes.get('name')!r} exists"
                ) from None
        if result.matched_count == 0:
            raise NotFoundError(f"no collection with id {collection_id}")
        return self.by_id(collection_id)

    def delete(self, collection_id: ObjectId, owner: str) -> None:
        """The collection goes; its images stay, minus the membership."""
        with database_errors(self.store):
            if self.collections.count_documents({"_id": collection_id, "owner": owner}) == 0:
                raise NotFoundError(f"no collection with id {collection_id}")
            self.images.update_many(
                {"collections": collection_id}, {"$pull": {"collections": collection_id}}
            )
            self.collections.delete_one({"_id": collection_id, "owner": owner})

    def add_images(self, collection_id: ObjectId, image_ids: Iterable[ObjectId]) -> int:
        with database_errors(self.store):
            result = self.images.update_many(
                {"_id": {"$in": list(image_ids)}},
                {"$addToSet": {"collections": collection_id}},
            )
        return result.modified_count

    def remove_images(self, collection_id: ObjectId, image_ids: Iterable[ObjectId]) -> int:
        with database_errors(self.store):
            result = self.images.update_many(
                {"_id": {"$in": list(image_ids)}}, {"$pull": {"collections": collection_id}}
            )
        return result.modified_count

    def owner_count(self, owner: str) -> int:
        with database_errors(self.store):
            return self.collections.count_documents({"owner": owner})

    def give_away(self, owner: str, new_owner: str) -> None:
        """Make ``new_owner`` the owner of ``owner``'s collections (a user has few);
        one whose name the new owner already uses stays behind."""
        with database_errors(self.store):
            for doc in list(self.collections.find({"owner": owner}, {"_id": 1})):
                with contextlib.suppress(DuplicateKeyError):
                    self.collections.update_one(
                        {"_id": doc["_id"], "owner": owner}, {"$set": {"owner": new_owner}}
                    )
