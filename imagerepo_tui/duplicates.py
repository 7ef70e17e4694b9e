"""Near-duplicates: groups of visually similar images, ``similar:ID``, merging a group
into one image, and the resumable backfill that hashes images stored before hashes.

Uploads hash each image from the picture its thumbnail is made of (``imaging``);
``similarity`` has the arithmetic, ``store.similar`` the indexed band lookups. A user
only ever meets images they may see: every read goes through their audiences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from imagerepo_tui import imaging
from imagerepo_tui.checked import Fields
from imagerepo_tui.errors import (
    DatabaseUnavailableError,
    ImageRepoError,
    InvalidImageError,
    PermissionDeniedError,
)
from imagerepo_tui.query_terms import OneOf, Query, Term
from imagerepo_tui.records import ImageInfo, normalise_tags
from imagerepo_tui.similarity import (
    DEFAULT_THRESHOLD,
    MAX_THRESHOLD,
    bands,
    distance,
    probes,
)
from imagerepo_tui.store.similar import BACKFILL_WINDOW, HashStore
from imagerepo_tui.textsafe import visible

# Documents fetched per query when a group's images are read.
_FETCH_BATCH = 500


class Library(Protocol):
    """What this module uses of ``ImageRepository`` (its facade, which owns it)."""

    def resolve_id(self, text: str) -> Any: ...
    def info(self, image_id: str) -> ImageInfo: ...
    def edit(
        self,
        image_id: str,
        *,
        add_tags: Sequence[str] = (),
        meta: Mapping[str, Any] | None = None,
    ) -> ImageInfo: ...
    def delete(self, image_id: str) -> ImageInfo: ...
    def collection_names(self, collection_ids: Iterable[str]) -> list[str]: ...
    def add_to_collection(self, name: str, image_ids: Iterable[str]) -> int: ...


@dataclass(frozen=True)
class Viewer:
    """Who is looking and how the facade shows them images, handed over as callables
    so this module reaches into no private part of ``ImageRepository``."""

    me: Callable[[], str]
    audiences: Callable[[], list[str]]
    info: Callable[[dict[str, Any], set[str] | None], ImageInfo]
    own_collections: Callable[[], set[str] | None]
    criteria: Callable[[str | Query | None], Query]


@dataclass
class Groups:
    """What ``Duplicates.groups`` found: groups (best copy first), images whose
    stored hash is damaged (id, problem; left out), and how many have no hash."""

    groups: list[list[ImageInfo]] = field(default_factory=list)
    damaged: list[tuple[str, str]] = field(default_factory=list)
    unhashed: int = 0


def check_threshold(threshold: int) -> int:
    if not 0 <= threshold <= MAX_THRESHOLD:
        raise ImageRepoError(f"the threshold is 0 to {MAX_THRESHOLD} differing bits of 64")
    return threshold


class _Components:
    """Union-find over image positions: near pairs join one group."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def root(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, first: int, second: int) -> None:
        self.parent[self.root(first)] = self.root(second)


def near_groups(hashes: Sequence[str], threshold: int) -> list[list[int]]:
    """Positions of ``hashes`` grouped with every other within ``threshold`` bits.
    Candidates come only from equal band values (``similarity.probes``), never from
    comparing every pair: a whole library is one pass and a dictionary. Equal hashes
    are joined first and compared once (a thousand blank scans share one hash, and a
    band of theirs would otherwise pair each with every other)."""
    same: dict[str, list[int]] = {}
    for position, phash in enumerate(hashes):
        same.setdefault(phash, []).append(position)
    distinct = list(same)
    by_band: dict[int, list[int]] = {}
    for index, phash in enumerate(distinct):
        for value in bands(phash):
            by_band.setdefault(value, []).append(index)
    components = _Components(len(distinct))
    for index, phash in enumerate(distinct):
        for value in probes(phash, threshold):
            for other in by_band.get(value, ()):
                if other > index and distance(phash, distinct[other]) <= threshold:
                    components.join(index, other)
    grouped: dict[int, list[int]] = {}
    for index, phash in enumerate(distinct):
        grouped.setdefault(components.root(index), []).extend(same[phash])
    return [sorted(members) for members in grouped.values() if len(members) > 1]


def _best_first(image: ImageInfo) -> tuple[int, int, int]:
    """The copy worth keeping first: most pixels, then most bytes, then oldest."""
    return (-image.width * image.height, -image.size, image.seq)


class Duplicates:
    """Near-duplicates among the images the logged-in user may see."""

    def __init__(self, library: Library, viewer: Viewer, hashes: HashStore) -> None:
        self._library = library
        self._viewer = viewer
        self._hashes = hashes

    # -- finding ------------------------------------------------------------------------

    def groups(
        self, query: str | Query | None = None, threshold: int = DEFAULT_THRESHOLD
    ) -> Groups:
        """Groups of images within ``threshold`` bits of each other among the matches
        of ``query``, largest group first."""
        check_threshold(threshold)
        criteria = self._viewer.criteria(query)
        found = Groups()
        ids: list[Any] = []
        hashes: list[str] = []
        for doc in self._hashes.hashes(criteria, self._viewer.audiences()):
            fields = Fields(doc)
            phash = fields.perceptual_hash("phash")
            if fields.problems:
                found.damaged.append((fields.identity(), "; ".join(fields.problems)))
            elif not phash:
                found.unhashed += 1
            else:
                ids.append(doc["_id"])
                hashes.append(phash)
        positions = near_groups(hashes, threshold)
        records = self._records([ids[p] for members in positions for p in members])
        for members in positions:
            group = [records[ids[p]] for p in members if ids[p] in records]
            if len(group) > 1:
                found.groups.append(sorted(group, key=_best_first))
        found.groups.sort(key=lambda group: (-len(group), -max(image.seq for image in group)))
        return found

    def _records(self, ids: Sequence[Any]) -> dict[Any, ImageInfo]:
        """Records of these images, read in batches, keeping only those still visible
        and live (one may have been trashed or unshared since its hash was read)."""
        audiences = set(self._viewer.audiences())
        own = self._viewer.own_collections()
        records: dict[Any, ImageInfo] = {}
        for start in range(0, len(ids), _FETCH_BATCH):
            for doc in self._hashes.documents(ids[start : start + _FETCH_BATCH]):
                if doc.get("audience") in audiences and doc.get("trashed") is False:
                    records[doc["_id"]] = self._viewer.info(doc, own)
        return records

    def _near(self, image_id: str, threshold: int) -> list[tuple[int, Any]]:
        """(distance, id) of every visible live image within ``threshold`` bits of
        ``image_id``'s picture, itself included, nearest first."""
        oid = self._library.resolve_id(image_id)
        fields = Fields({"_id": oid, "phash": self._hashes.hash_of(oid)})
        phash = fields.perceptual_hash("phash")
        if not phash:
            problem = "; ".join(fields.problems) or "it has no perceptual hash yet"
            raise ImageRepoError(
                f"image {oid}: {problem} (imagerepo-tui dupes --index computes hashes)"
            )
        docs = self._hashes.sharing_bands(probes(phash, threshold), self._viewer.audiences())
        near: list[tuple[int, Any]] = []
        for doc in docs:
            other = Fields(doc).perceptual_hash("phash")
            if other and distance(phash, other) <= threshold:
                near.append((distance(phash, other), doc["_id"]))
        return sorted(near, key=lambda pair: (pair[0], pair[1] != oid, str(pair[1])))

    def similar_term(self, image_id: str, threshold: int = DEFAULT_THRESHOLD) -> Term:
        """The query term of ``similar:ID``: the ids of the images near that one."""
        return OneOf("_id", tuple(oid for _, oid in self._near(image_id, threshold)))

    def similar(self, image_id: str, threshold: int = DEFAULT_THRESHOLD) -> list[ImageInfo]:
        """The images near ``image_id`` (itself included), nearest first."""
        check_threshold(threshold)
        near = self._near(image_id, threshold)
        records = self._records([oid for _, oid in near])
        return [records[oid] for _, oid in near if oid in records]

    # -- merging ------------------------------------------------------------------------

    def _own(self, image_id: str) -> ImageInfo:
        image = self._library.info(image_id)
        if image.owner != self._viewer.me():
            owner = image.owner_name or "another user"
            raise PermissionDeniedError(
                f"image {image.id} belongs to {visible(owner)}; only your own images can be merged"
            )
        return image

    def merge(self, keep_id: str, other_ids: Sequence[str]) -> ImageInfo:
        """Keep one image of a group: the others go to the trash, and their tags,
        collections and custom fields move to the kept one (its own values win where
        both have a custom field). Every id is checked before anything changes.

        Not one transaction: the kept image gains first and the others are trashed
        after, so a merge cut short loses nothing, and running it again finishes it
        (images already in the trash are passed over)."""
        keep = self._own(keep_id)
        if keep.deleted_at is not None:
            raise ImageRepoError(f"image {keep.id} is in the trash; restore it first")
        others: dict[str, ImageInfo] = {}
        trashed: list[str] = []
        for other_id in other_ids:
            other = self._own(other_id)
            if other.id == keep.id:
                raise ImageRepoError(f"image {keep.id} is the one kept: it cannot also go")
            if other.deleted_at is not None:
                trashed.append(other.id)
            else:
                others.setdefault(other.id, other)
        if not others:
            if trashed:
                raise ImageRepoError(
                    f"image {trashed[0]} is in the trash already: nothing to merge"
                )
            raise ImageRepoError("name at least one image to merge into the kept one")
        tags = normalise_tags([tag for other in others.values() for tag in other.tags])
        meta: dict[str, Any] = {}
        for other in others.values():
            broken = {line.split(":", 1)[0] for line in other.damaged}
            for key, value in other.meta.items():
                if key not in keep.meta and f"meta.{key}" not in broken:
                    meta.setdefault(key, value)
        if tags or meta:
            self._library.edit(keep.id, add_tags=tags, meta=meta)
        collections = {c for other in others.values() for c in other.collections}
        for name in self._library.collection_names(collections - set(keep.collections)):
            self._library.add_to_collection(name, [keep.id])
        for other in others.values():
            self._library.delete(other.id)
        return self._library.info(keep.id)

    # -- the backfill -------------------------------------------------------------------

    def unindexed(self) -> int:
        """How many upload numbers the backfill has still to walk for this user (0:
        every image they may see that could be hashed has its hash)."""
        done = self._hashes.hashed_up_to(self._viewer.me())
        return max(0, self._hashes.newest_seq() - done)

    def index(
        self,
        on_progress: Callable[[int, int], None] | None = None,
        on_skip: Callable[[str, str], None] | None = None,
        *,
        window: int = BACKFILL_WINDOW,
        max_pixels: int = 178_000_000,
    ) -> int:
        """Hash the user's images (and the public ones) that have no hash yet, from
        their stored thumbnails (measured: within 2 bits of the hash of the original,
        as close as a re-encoded copy), or from the original when the thumbnail is
        unreadable. Progress is recorded after every ``window`` uploads, so a stopped
        run continues where it left off. An image that cannot be decoded is told to
        ``on_skip(id, reason)`` and passed over; ``on_progress(done, total)`` counts
        upload numbers walked. Returns how many images were hashed."""
        me = self._viewer.me()
        audiences = self._viewer.audiences()
        start = self._hashes.hashed_up_to(me)
        newest = self._hashes.newest_seq()
        hashed = 0
        low = start + 1
        while low <= newest:
            high = min(newest + 1, low + window)
            found: dict[Any, str] = {}
            walked = self._hashes.backfill_window(audiences, low, high)
            wanted = [doc["_id"] for doc in walked if not Fields(doc).perceptual_hash("phash")]
            for doc in self._hashes.sources(wanted):
                phash = self._hash_for(doc, max_pixels, on_skip)
                if phash:
                    found[doc["_id"]] = phash
            self._hashes.save_hashes(found)
            self._hashes.record_progress(me, high - 1)
            hashed += len(found)
            if on_progress is not None:
                on_progress(high - 1 - start, newest - start)
            low = high
        return hashed

    def _hash_for(
        self,
        doc: dict[str, Any],
        max_pixels: int,
        on_skip: Callable[[str, str], None] | None,
    ) -> str:
        """The hash to store for ``doc`` (its thumbnail and original's id), "" when
        it cannot be decoded (then told to ``on_skip``)."""
        fields = Fields(doc)
        thumbnail = doc.get("thumbnail")
        try:
            if isinstance(thumbnail, bytes) and thumbnail:
                try:
                    return imaging.thumbnail_hash(bytes(thumbnail))
                except InvalidImageError:
                    pass  # a damaged thumbnail: the original decides
            data = self._hashes.read_original(doc)
            return imaging.original_hash(data, max_pixels=max_pixels)
        except DatabaseUnavailableError:
            raise
        except ImageRepoError as error:
            if on_skip is not None:
                on_skip(fields.identity(), str(error))
            return ""
