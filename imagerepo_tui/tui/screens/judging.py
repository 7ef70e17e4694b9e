"""The keys that judge images: rate, favourite and turn them (``0``-``5``, ``*``, ``[``,
``]``), find the ones that look alike (``=``) and keep one of each group (``S``).

A base of the main screen (``BrowseScreen``), which holds the ``Organiser`` whose bulk
actions they use: with marks, a key acts on every marked image (one ``BulkJob``);
without, on the highlighted one, in a thread worker, and its row, details and
preview change when the database has answered.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from imagerepo_tui.ratings import FAVORITE_MARK, Adjustment, stars
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.tui.host import host, repository_or_warn, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.screens.bulk import BulkJob
from imagerepo_tui.tui.widgets.gallery import Gallery

if TYPE_CHECKING:
    from imagerepo_tui.tui.screens.organise import Organiser


def _rating_binding(rating: int) -> Binding:
    what = f"Rate {stars(rating)}" if rating else "Unrated"
    return Binding(str(rating), f"rate({rating})", what, id=f"browse.rate_{rating}", show=False)


class JudgingScreen(Screen[None]):
    """Ratings, favourites and rotation for the screen that lists images."""

    organiser: Organiser
    graphics: str

    BINDINGS: ClassVar[list[BindingType]] = [
        *(_rating_binding(rating) for rating in range(6)),
        Binding("asterisk", "favorite", "Favourite on / off", id="browse.favorite", show=False),
        Binding(
            "left_square_bracket", "rotate(270)", "Turn left", id="browse.rotate_left", show=False
        ),
        Binding(
            "right_square_bracket", "rotate(90)", "Turn right", id="browse.rotate_right", show=False
        ),
        Binding("equals_sign", "similar", "Similar", id="browse.similar", show=False),
        Binding("S", "duplicates", "Duplicates", id="browse.duplicates", show=False),
    ]

    def action_similar(self) -> None:
        self.organiser.search_similar()

    def action_duplicates(self) -> None:
        self.organiser.open_duplicates(self.graphics)

    def action_rate(self, rating: int) -> None:
        """Rate the highlighted (or marked) images 1-5 stars; 0 makes them unrated."""
        word = f"rated {stars(rating)}" if rating else "made unrated"
        self._adjust(Adjustment(rating=rating), "Rating", word)

    def action_favorite(self) -> None:
        """Favourite on / off for the highlighted image; with marks, every marked image
        becomes what the highlighted one was not."""
        current = self.query_one(Gallery).current
        favorite = current is None or not current.favorite
        word = f"made favourites {FAVORITE_MARK}" if favorite else "no longer favourites"
        self._adjust(Adjustment(favorite=favorite), "Changing favourites", word)

    def action_rotate(self, degrees: int) -> None:
        """Turn the highlighted (or marked) images 90° right (``degrees`` 90) or left
        (270): drawn turned, the original bytes unchanged."""
        side = "right" if degrees == 90 else "left"
        self._adjust(Adjustment(turn=degrees), f"Turning {side}", f"turned {side}")

    def _adjust(self, change: Adjustment, title: str, done: str) -> None:
        gallery = self.query_one(Gallery)
        if repository_or_warn(self) is None:
            return
        if gallery.marks.active:
            job = BulkJob(
                title,
                done,
                gallery.marks.snapshot(),
                lambda repository, image_id: repository.adjust(image_id, change),
            )
            self.organiser.run_bulk(job, clear_marks=False)
            return
        info = gallery.current
        if info is None:
            self.notify("No image selected.", severity="warning")
            return
        work = partial(self._adjust_one, info, change)
        self.run_worker(work, thread=True, group="judge", exit_on_error=False)

    def _adjust_one(self, info: ImageInfo, change: Adjustment) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            updated = require_repository(app).adjust(info.id, change)
            self.app.call_from_thread(self._adjusted, updated)

    def _adjusted(self, info: ImageInfo) -> None:
        """Show the image's new state, unless a later change of it is shown already
        (keys pressed quickly run in several workers, which may answer out of order)."""
        gallery = self.query_one(Gallery)
        row = gallery.rows.find(info.id)
        shown = gallery.rows.get(row) if row is not None else None
        if shown is not None and shown.updated_at and info.updated_at:
            stale = info.updated_at < shown.updated_at
            if stale:
                return
        gallery.update_info(info)
