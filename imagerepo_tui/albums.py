"""Collections (albums): each user's own, named, described, holding any image they see.

``ImageRepository`` holds one ``Albums`` and passes its collection methods here; who
the user is and how many images a query finds come from it. A smart collection is a
saved search: it holds no images itself, its query finds them, live, whenever it is
read. Its stored text is untrusted (any client can write it), so it is parsed again
each time; a query that no longer parses, or names smart collections in a loop,
makes that collection damaged and empty, never an error elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from imagerepo_tui.errors import ImageRepoError, SmartCollectionError
from imagerepo_tui.query import QueryError, parse_query
from imagerepo_tui.query_terms import Equals, Query, Term
from imagerepo_tui.records import CollectionInfo
from imagerepo_tui.store import CollectionStore
from imagerepo_tui.textsafe import visible

# How deep smart collections may name smart collections: a bound on the work one
# search does even when another client wrote a chain, and no one nests deeper by hand.
MAX_SMART_DEPTH = 8


class Albums:
    """A user's collections. Membership lives in the image records, so deleting a
    collection leaves its images in the library."""

    def __init__(
        self,
        store: CollectionStore,
        me: Callable[[], str],
        count: Callable[[Query], int],
        owner_id: Callable[[str], Any],
        similar: Callable[[str], Term],
    ) -> None:
        self._store = store
        self._me = me
        self._count = count  # live images a query finds that this user can see
        self._owner_id = owner_id
        self._similar = similar  # the term of similar:ID

    # -- searching ------------------------------------------------------------------------

    def parse(self, text: str, within: tuple[str, ...] = ()) -> Query:
        """Parse search text with collection and owner names looked up; a smart
        collection named in it stands for its own query. ``within`` lists the ids of
        the smart collections whose queries are being read (to refuse a loop)."""
        resolve = lambda name: self._resolve(name, within)  # noqa: E731
        return parse_query(text, resolve, self._owner_id, self._similar)

    def _resolve(self, name: str, within: tuple[str, ...]) -> Any:
        """What ``collection:name`` stands for: its id, or a smart one's parsed query."""
        doc = self._store.by_name(name, self._me())
        info = CollectionInfo.from_document(doc)
        if info.query is None:
            return doc["_id"]
        return self._smart_query(info, within)

    def _smart_query(self, info: CollectionInfo, within: tuple[str, ...]) -> Query:
        label = visible(info.name)
        if info.id in within:
            raise SmartCollectionError(f"the smart collection {label!r} names itself (a loop)")
        if len(within) >= MAX_SMART_DEPTH:
            raise SmartCollectionError(
                f"smart collections nest more than {MAX_SMART_DEPTH} deep at {label!r}"
            )
        if not (info.query or "").strip():
            raise SmartCollectionError(f"the smart collection {label!r} has no usable query")
        inner: list[SmartCollectionError] = []

        def resolve(name: str) -> Any:
            try:
                return self._resolve(name, (*within, info.id))
            except SmartCollectionError as error:
                inner.append(error)  # told as it is, not wrapped once per level
                raise

        try:
            return parse_query(info.query or "", resolve, self._owner_id)
        except QueryError as error:
            if inner:
                raise inner[0] from None
            raise SmartCollectionError(
                f"the smart collection {label!r} has a damaged query: {error}"
            ) from None

    # -- reading --------------------------------------------------------------------------

    def _info(self, doc: dict[str, Any]) -> CollectionInfo:
        """The record with its count of live images; a smart collection whose query
        cannot be used is damaged (saying why) and empty."""
        info = CollectionInfo.from_document(doc)
        if info.query is None:
            return dataclasses.replace(
                info, count=self._count(Query((Equals("collections", doc["_id"]),)))
            )
        try:
            query = self._smart_query(info, ())
        except SmartCollectionError as error:
            return dataclasses.replace(info, damaged=(*info.damaged, f"query: {error}"))
        return dataclasses.replace(info, count=self._count(query))

    def all(self) -> list[CollectionInfo]:
        """The user's collections with their counts of live images, by name."""
        return [self._info(doc) for doc in self._store.all(self._me())]

    def get(self, name: str) -> CollectionInfo:
        return self._info(self._store.by_name(name, self._me()))

    # -- changing -------------------------------------------------------------------------

    def create(self, name: str, description: str = "", query: str | None = None) -> CollectionInfo:
        """A plain collection, or with ``query`` a smart one: checked now (a
        ``QueryError`` points at the mistake), kept as text and read live."""
        if not name.strip():
            raise ImageRepoError("a collection needs a name")
        if query is not None:
            if not query.strip():
                raise QueryError("a smart collection needs a query", 1)
            self._check_new_query(name, query)
        doc = self._store.create(name, self._me(), description, query)
        return self._info(doc)

    def _check_new_query(self, name: str, query: str) -> None:
        """Parse it as it will be read; naming itself is refused (it does not exist
        yet, so the parse alone would only say "no collection named ...")."""
        wanted = " ".join(name.split()).casefold()

        def resolve(other: str) -> Any:
            if " ".join(other.split()).casefold() == wanted:
                raise SmartCollectionError("a smart collection cannot name itself")
            return self._resolve(other, ("",))  # "": the new one, a level deep already

        parse_query(query, resolve, self._owner_id)

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
        return self._info(self._store.update(doc["_id"], changes, me))

    def delete(self, name: str) -> CollectionInfo:
        me = self._me()
        doc = self._store.by_name(name, me)
        info = self._info(doc)
        self._store.delete(doc["_id"], me)
        return info

    def add(self, name: str, image_ids: Sequence[Any]) -> int:
        """Add resolved image ids; returns how many were not in it already."""
        return self._store.add_images(self._plain(name), image_ids)

    def remove(self, name: str, image_ids: Sequence[Any]) -> int:
        return self._store.remove_images(self._plain(name), image_ids)

    def _plain(self, name: str) -> Any:
        """The id of a collection that holds images by hand; a smart one is refused."""
        doc = self._store.by_name(name, self._me())
        CollectionInfo.from_document(doc).check_holds_by_hand()
        return doc["_id"]

    def names(self, collection_ids: Iterable[str]) -> list[str]:
        """Names for ids (as ``ImageInfo.collections`` holds them), for display: only
        the user's own collections (others may have put a public image in theirs)."""
        wanted = set(collection_ids)
        found = (CollectionInfo.from_document(doc) for doc in self._store.all(self._me()))
        return [collection.name for collection in found if collection.id in wanted]
