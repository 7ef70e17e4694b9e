"""The full-screen preview's picture: the preview pane with zoom (1x, 2x, 4x of the
fitted size) and panning. A zoomed image is rendered larger by the pane's own worker,
and the part on screen is cut from it (and scaled to the pane) in another worker:
the UI thread never decodes, crops or scales."""

from __future__ import annotations

import contextlib

from PIL import Image as PILImage
from textual import work
from textual.worker import get_current_worker

from imagerepo_tui import picture_views
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.tui.widgets.preview import PreviewPane

ZOOMS = (1, 2, 4)
# One zoomed render at most this big (17 megapixels, ~50 MB as RGB): it is never cached.
MAX_ZOOM_BOX = (4800, 3600)
PAN_STEP = 0.25  # of the part on screen, per key


class ZoomPane(PreviewPane):
    """``zoom_in``/``zoom_out`` change the zoom, ``pan`` moves the part shown."""

    def __init__(self, graphics: str = "auto", *, id: str | None = None) -> None:
        super().__init__(graphics, id=id)
        self.zoom = 1
        self.centre = (0.5, 0.5)  # of the image's width and height
        self._source: PILImage.Image | None = None  # the latest render, uncut
        self._view = 0  # bumped on each change: a cut made for an older view is dropped

    @property
    def zoomed(self) -> bool:
        return self.zoom > 1

    def pixel_box(self) -> tuple[int, int]:
        base = super().pixel_box()
        if self.zoom == 1:
            return base
        return (
            min(base[0] * self.zoom, MAX_ZOOM_BOX[0]),
            min(base[1] * self.zoom, MAX_ZOOM_BOX[1]),
        )

    def view_box(self) -> tuple[int, int]:
        """The pixels the pane shows: what a zoomed render is cut down to."""
        return super().pixel_box()

    # -- changing the view -----------------------------------------------------------------

    def show(self, info: ImageInfo | None) -> None:
        if info is None or self._wanted is None or info.id != self._wanted.id:
            self.zoom, self.centre = 1, (0.5, 0.5)  # another image starts fitted
        super().show(info)

    def zoom_by(self, step: int) -> None:
        """One step in (1) or out (-1) through ``ZOOMS``."""
        index = ZOOMS.index(self.zoom) + step
        if not 0 <= index < len(ZOOMS):
            return
        self.zoom = ZOOMS[index]
        if self.zoom == 1:
            self.centre = (0.5, 0.5)
        self._recut()  # at once, from the render there is; a sharper one follows
        super().show(self._wanted)

    def pan(self, dx: int, dy: int) -> None:
        if self._source is None or not self.zoomed:
            return
        fraction_x, fraction_y = picture_views.zoom_window(
            self._source.size, self.view_box(), self.zoom
        )
        x = self.centre[0] + dx * PAN_STEP * fraction_x
        y = self.centre[1] + dy * PAN_STEP * fraction_y
        self.centre = (
            min(max(x, fraction_x / 2), 1 - fraction_x / 2),
            min(max(y, fraction_y / 2), 1 - fraction_y / 2),
        )
        self._recut()

    # -- painting ----------------------------------------------------------------------------

    def _set_image(self, image: PILImage.Image | None) -> None:
        self._source = image
        self._recut()

    def _recut(self) -> None:
        self._view += 1
        image = self._source
        box = self.view_box()
        if image is None or (
            not self.zoomed and image.width <= box[0] and image.height <= box[1]
        ):  # nothing, or a render made for 1x: as it is
            super()._set_image(image)
            return
        self._cut(image, box, self.zoom, self.centre, self._view)

    @work(thread=True, exclusive=True, group="zoom", exit_on_error=False)
    def _cut(
        self,
        image: PILImage.Image,
        box: tuple[int, int],
        zoom: int,
        centre: tuple[float, float],
        view: int,
    ) -> None:
        part = picture_views.zoomed_view(image, box, zoom, centre)
        if get_current_worker().is_cancelled:
            return
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._show_cut, part, view)

    def _show_cut(self, part: PILImage.Image, view: int) -> None:
        if view == self._view:
            super()._set_image(part)
