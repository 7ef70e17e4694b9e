"""Full-screen preview: one image as large as the terminal, left/right to move on,
``s`` a slideshow, ``+``/``-`` zoom (the arrows then pan)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from imagerepo_tui.records import ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.keys import KeysFooter
from imagerepo_tui.tui.widgets.zoom import ZoomPane
from imagerepo_tui.units import human_size

MIN_SLIDESHOW_SECONDS = 0.1  # a typo of 0.001 must not flood the app with repaints


class FullPreviewScreen(Screen[None]):
    """Follows the gallery's cursor: moving here moves it there too.

    Zoomed in, the arrows (and h/j/k/l) pan instead of moving to the next or previous
    image: the pan bindings come first and are switched off at 1x (``check_action``),
    so then the same keys fall through to next/previous. ``space`` is always next."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="preview.back"),
        Binding("left,h", "pan(-1,0)", "Pan left", id="preview.pan_left", show=False),
        Binding("right,l", "pan(1,0)", "Pan right", id="preview.pan_right", show=False),
        Binding("up,k", "pan(0,-1)", "Pan up", id="preview.pan_up", show=False),
        Binding("down,j", "pan(0,1)", "Pan down", id="preview.pan_down", show=False),
        Binding("right,l,j,space", "move(1)", "Next", id="preview.next"),
        Binding("left,h,k", "move(-1)", "Previous", id="preview.previous"),
        Binding("s", "slideshow", "Slideshow", id="preview.slideshow"),
        Binding("plus", "zoom(1)", "Zoom in", id="preview.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", id="preview.zoom_out"),
    ]

    def __init__(self, gallery: Gallery, graphics: str, info: ImageInfo) -> None:
        super().__init__()
        self.gallery = gallery
        self.graphics = graphics
        self.info = info
        self.slideshow: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="caption", markup=False)
        yield ZoomPane(self.graphics, id="full-preview")
        yield KeysFooter()

    @property
    def pane(self) -> ZoomPane:
        return self.query_one(ZoomPane)

    def on_mount(self) -> None:
        self.show(self.info)

    def on_unmount(self) -> None:
        self._stop_slideshow(quietly=True)

    def show(self, info: ImageInfo | None) -> None:
        if info is None:
            return
        self.info = info
        self.pane.show(info)
        self._caption()
        self.refresh_bindings()

    def _caption(self) -> None:
        info = self.info
        position = f"{self.gallery.cursor + 1}/{self.gallery.rows.total}"
        state = []
        if self.pane.zoomed:
            state.append(f"{self.pane.zoom}x, arrows pan, - zooms out")
        if self.slideshow is not None:
            state.append(f"▶ slideshow every {self._interval():g} s, s stops")
        caption = Text.assemble(
            (visible(info.title or info.filename), "bold"),
            f"  {info.width}×{info.height}  {human_size(info.size)}  {position}",
            ("  · " + " · ".join(state) if state else "", "italic"),
        )
        self.query_one("#caption", Static).update(caption)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pan":
            return self.pane.zoomed
        return True

    # -- keys --------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self._stop_slideshow()
        # The gallery announces the new image; the browse screen passes it back here.
        self.gallery.action_cursor(delta)

    def action_back(self) -> None:
        self._stop_slideshow(quietly=True)
        self.app.pop_screen()

    def action_pan(self, dx: int, dy: int) -> None:
        self._stop_slideshow()
        self.pane.pan(dx, dy)

    def action_zoom(self, step: int) -> None:
        self._stop_slideshow()
        self.pane.zoom_by(step)
        self._caption()
        self.refresh_bindings()

    def action_slideshow(self) -> None:
        if self.slideshow is not None:
            self._stop_slideshow()
            return
        interval = self._interval()
        self.slideshow = self.set_interval(interval, self._next_slide)
        self.notify(f"Slideshow: a new image every {interval:g} s; s or any key stops it.")
        self._caption()

    # -- the slideshow -------------------------------------------------------------------------

    def _interval(self) -> float:
        return max(MIN_SLIDESHOW_SECONDS, host(self).settings.slideshow_seconds)

    def _next_slide(self) -> None:
        gallery = self.gallery
        if gallery.cursor + 1 >= gallery.rows.total:
            gallery.action_first()  # round again from the newest
        else:
            gallery.action_cursor(1)

    def _stop_slideshow(self, *, quietly: bool = False) -> None:
        if self.slideshow is None:
            return
        self.slideshow.stop()
        self.slideshow = None
        if not quietly:
            self.notify("Slideshow stopped.")
            self._caption()
