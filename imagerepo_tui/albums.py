"""Collections (albums): each user's own, named, described, holding any image they see.

``ImageRepository`` holds one ``Albums`` and passes its collection methods here; who
the user is and how many of a collection's images they can see come from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.records import CollectionInfo
from imagerepo_tui.store import CollectionStore


class Albums:
    """A user's collections. Membership lives in the image records, so deleting a
    collection leaves its images in the library."""

    def __init__(
        self,
        store: CollectionStore,
        me: Callable[[], str],
        count: Callable[[Any], int],
    ) -> None:
        self._store = store
        self._me = me
        self._count = count  # live images of a collection this user can see

    def _info(self, doc: dict[str, Any]) -> CollectionInfo:
        return CollectionInfo.from_document(doc, self._count(doc["_id"]))

    def all(self) -> list[CollectionInfo]:
        """The user's collections with their counts of live images, by name."""
        return [self._info(doc) for doc in self._store.all(self._me())]

    def get(self, name: str) -> CollectionInfo:
        return self._info(self._store.by_name(name, self._me()))

    def create(self, name: str, description: str = "") -> CollectionInfo:
        if not name.strip():
            raise ImageRepoError("a collection needs a name")
        return CollectionInfo.from_document(self._store.create(name, self._me(), description))

    def update(
        self, name: str, *, name_to: str | None = None, description: str | None = None
    ) -> CollectionInfo:
        """Rename it (``name_to``) or describe it."""
        changes: dict[str, Any] = {}
        if name_to is not None:
            if not name_to.strip():
                raise ImageRepoError("a collection needs a name")
            changes["name"] = name_to
        if description is not None:
            changes["description"] = description
        me = self._me()
        doc = self._store.by_name(name, me)
        return CollectionInfo.from_document(self._store.update(doc["_id"], changes, me))

    def delete(self, name: str) -> CollectionInfo:
        me = self._me()
        doc = self._store.by_name(name, me)
        self._store.delete(doc["_id"], me)
        return CollectionInfo.from_document(doc)

    def add(self, name: str, image_ids: Sequence[Any]) -> int:
        """Add resolved image ids; returns how many were not in it already."""
        return self._store.add_images(self._store.by_name(name, self._me())["_id"], image_ids)

    def remove(self, name: str, image_ids: Sequence[Any]) -> int:
        return self._store.remove_images(self._store.by_name(name, self._me())["_id"], image_ids)

    def names(self, collection_ids: Iterable[str]) -> list[str]:
        """Names for ids (as ``ImageInfo.collections`` holds them), for display: only
        the user's own collections (others may have put a public image in theirs)."""
        wanted = set(collection_ids)
        found = (CollectionInfo.from_document(doc) for doc in self._store.all(self._me()))
        return [collection.name for collection in found if collection.id in wanted]
