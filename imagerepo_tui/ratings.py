"""Ratings, favourites and non-destructive rotation: what an owner says about an image
and how it is drawn, never its bytes.

``ImageRepository.adjust`` passes here. A rotation is a clockwise turn on top of the
EXIF orientation, added to the stored one (modulo 360); thumbnails, previews and
``download --rendered`` draw it (``imaging.turned``), the original stays as uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imagerepo_tui.errors import ImageRepoError, InvalidMetadataError
from imagerepo_tui.records import RATINGS, ROTATIONS, ImageInfo

if TYPE_CHECKING:  # the TUI imports ``Adjustment`` before the database libraries load
    from imagerepo_tui.store import ImageStore

# A turn is read, added to and written back only if nobody turned the image between
# the two: this many tries before giving up.
TURN_ATTEMPTS = 5


@dataclass(frozen=True)
class Adjustment:
    """What to change; None (or a turn of 0) leaves that part as it is."""

    rating: int | None = None
    favorite: bool | None = None
    # Degrees clockwise to add to the current rotation: 90, 180 or 270 (or -90 for a
    # turn to the left, which is 270).
    turn: int = 0

    def check(self) -> None:
        if self.rating is not None and self.rating not in RATINGS:
            raise InvalidMetadataError(f"a rating is 0 to 5 stars (0: unrated), not {self.rating}")
        if self.turn % 90 != 0:
            raise InvalidMetadataError(f"images turn by 90, 180 or 270 degrees, not {self.turn}")


class Ratings:
    """Rates, favourites and turns images; only their owner may (``owned``)."""

    def __init__(
        self,
        images: ImageStore,
        owned: Callable[[str], tuple[Any, dict[str, Any], str]],
        info: Callable[[dict[str, Any]], ImageInfo],
    ) -> None:
        self._images = images
        self._owned = owned  # (id, document, owner) of the user's own image
        self._info = info

    def adjust(self, image_id: str, change: Adjustment) -> ImageInfo:
        change.check()
        oid, doc, owner = self._owned(image_id)
        changes: dict[str, Any] = {}
        if change.rating is not None:
            changes["rating"] = change.rating
        if change.favorite is not None:
            changes["favorite"] = change.favorite
        if changes:
            doc = self._images.update_fields(oid, changes, owner=owner)
        if change.turn % 360:
            doc = self._turn(doc, change.turn)
        return self._info(doc)

    def _turn(self, doc: dict[str, Any], degrees: int) -> dict[str, Any]:
        for _ in range(TURN_ATTEMPTS):
            current = self._info(doc).rotation  # a damaged stored value counts as 0
            rotation = (current + degrees) % 360
            assert rotation in ROTATIONS  # check() allows quarter turns only
            updated = self._images.update_if_unchanged(doc, {"rotation": rotation})
            if updated is not None:
                return updated
            doc = self._images.get(doc["_id"])  # turned meanwhile: add to that
        raise ImageRepoError(f"image {doc['_id']} is being turned elsewhere; try again")


STAR = "★"
FAVORITE_MARK = "♥"


def stars(rating: int) -> str:
    """A rating as stars ("★★★"), "" for unrated: how every front end shows it."""
    return STAR * max(0, min(rating, max(RATINGS)))
