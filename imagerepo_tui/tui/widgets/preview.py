"""The preview pane: the highlighted image, drawn with textual-image.

Decoding and shrinking run in a thread worker at the pane's pixel size, debounced
while the selection moves; the stored thumbnail paints first, the full preview
follows. Results are cached (LRU) and stale ones dropped.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PIL import Image as PILImage
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from imagerepo_tui import imaging
from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host
from imagerepo_tui.tui.optional_imports import hidden_module
from imagerepo_tui.tui.reporting import report_error_from_thread

# textual-image asks the terminal about graphics support and cell size on import,
# which is only possible before Textual takes the terminal over: import it early.
# Without numpy, which it only uses to encode Sixel faster (46 instead of 79 ms for
# a 600x450 preview): importing numpy took 80 ms of every start, a third of a
# minimal Textual app's time to its first frame. Nothing else here uses numpy.
with hidden_module("numpy"):
    from textual_image._terminal import get_cell_size as get_cell_size  # for the picker too
    from textual_image.widget import HalfcellImage, TGPImage
    from textual_image.widget import Image as AutoImage
    from textual_image.widget import SixelImage as SixelImage
    from textual_image.widget._base import Image as ImageWidget

DEBOUNCE_S = 0.1
CACHE_SIZE = 24
# Larger previews cost decode time and terminal bandwidth for no visible gain.
MAX_BOX = (2400, 1600)

GRAPHICS_CHOICES = ("auto", "kitty", "sixel", "halfcell", "none")


def image_widget_class(graphics: str) -> type[ImageWidget] | None:
    """The textual-image widget for a ``--graphics`` choice (None: images off)."""
    if graphics == "kitty":
        return TGPImage
    if graphics == "sixel":
        return SixelImage
    if graphics == "halfcell":
        return HalfcellImage
    if graphics == "none":
        return None
    # AutoImage is whichever class the terminal supports, found on import.
    if os.environ.get("TMUX") and issubclass(AutoImage, TGPImage):
        # Kitty's placeholders do not survive tmux; half cells always do.
        return HalfcellImage
    return AutoImage


class PreviewCache:
    """A small thread-safe LRU of shrunk previews, keyed by content and pixel box."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[Any, PILImage.Image] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> PILImage.Image | None:
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: Any, image: PILImage.Image) -> None:
        with self._lock:
            self._items[key] = image
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


CACHE = PreviewCache()


class PreviewPane(Widget):
    """Shows one image; ``show(info)`` may be called as often as the cursor moves."""

    DEFAULT_CSS = """
    PreviewPane { height: 1fr; }
    PreviewPane > Middle > Center > .preview-image { width: auto; height: auto; }
    PreviewPane > #preview-message { dock: bottom; height: auto; color: $text-muted;
        padding: 0 1; }
    PreviewPane > #preview-message.error { color: $error; }
    """

    def __init__(self, graphics: str = "auto", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_widget_class(graphics)
        self._wanted: ImageInfo | None = None
        self._timer: Timer | None = None
        self.shown: tuple[str, str] | None = None  # (image id, "thumbnail"|"full")

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            if self._image_class is not None:
                yield self._image_class(None, classes="preview-image")
        yield Static("", id="preview-message", markup=False)

    def _image_widget(self) -> ImageWidget | None:
        if self._image_class is None:
            return None
        return self.query_one(".preview-image", ImageWidget)

    def _say(self, message: str, *, error: bool = False) -> None:
        label = self.query_one("#preview-message", Static)
        label.update(Text(message))
        label.set_class(error, "error")

    def pixel_box(self) -> tuple[int, int]:
        cell = get_cell_size()
        width = max(1, self.size.width) * cell.width
        height = max(1, self.size.height - 1) * cell.height
        return min(width, MAX_BOX[0]), min(height, MAX_BOX[1])

    # -- asking for an image ------------------------------------------------------------

    def show(self, info: ImageInfo | None) -> None:
        """Show ``info`` soon: the newest request wins, earlier ones are dropped."""
        self._wanted = info
        if self._timer is not None:
            self._timer.stop()
        if info is None:
            self._set_image(None)
            self.shown = None
            self._say("")
            return
        if self._image_class is None:
            self._say(visible(f"{info.width}×{info.height} {info.format} (image display is off)"))
            return
        self._timer = self.set_timer(DEBOUNCE_S, self._start)

    def _start(self) -> None:
        info = self._wanted
        repository = getattr(self.app, "repository", None)
        if info is None or repository is None:
            return
        self._say("loading…")
        self._load(info, self.pixel_box(), repository)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _load(self, info: ImageInfo, box: tuple[int, int], repository: Any) -> None:
        """Thumbnail first (instant), then the original shrunk to the pane."""
        key = (info.id, info.sha256, info.rotation, box)
        cached = CACHE.get(key)
        if cached is not None:
            self._post(info, cached, "full")
            return
        worker = get_current_worker()
        try:
            self._show_thumbnail(info, box, repository)
            if worker.is_cancelled:
                return
            _, data = repository.original_bytes(info.id)
            if worker.is_cancelled:
                return
            image = imaging.render_preview(data, box, info.rotation)
            image.load()
            if box[0] <= MAX_BOX[0] and box[1] <= MAX_BOX[1]:  # not a zoomed render
                CACHE.put(key, image)
            self._post(info, image, "full")
        except DatabaseUnavailableError as error:
            self._post_error(info, "database unreachable")
            report_error_from_thread(host(self), error)
        except ImageRepoError as error:
            self._post_error(info, str(error))
        except Exception as error:  # a preview must never take the app down
            self._post_error(info, f"cannot show this image: {error}")

    def _show_thumbnail(self, info: ImageInfo, box: tuple[int, int], repository: Any) -> None:
        """The stored thumbnail, if it decodes: one another client wrote may be any
        bytes at all, and then the original (loaded next anyway) is all there is. Read
        as the grid reads tiles: one round trip, where ``thumbnail(id)`` first looks
        the (possibly abbreviated) id up."""
        thumbnail = repository.thumbnails([info.id]).get(info.id, b"")
        if not thumbnail or get_current_worker().is_cancelled:
            return
        try:
            # Stored upright (EXIF orientation applied); turned as the image is.
            image = imaging.render_preview(thumbnail, box, info.rotation)
        except ImageRepoError:  # garbage in the thumbnail field: try the original
            return
        self._post(info, image, "thumbnail")

    def _post(self, info: ImageInfo, image: PILImage.Image, stage: str) -> None:
        self._call(self._apply, info, image, stage)

    def _post_error(self, info: ImageInfo, message: str) -> None:
        self._call(self._apply_error, info, message)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(callback, *args)

    # -- painting (UI thread) -----------------------------------------------------------

    def _is_current(self, info: ImageInfo) -> bool:
        wanted = self._wanted
        return wanted is not None and (wanted.id, wanted.sha256, wanted.rotation) == (
            info.id,
            info.sha256,
            info.rotation,
        )

    def _apply(self, info: ImageInfo, image: PILImage.Image, stage: str) -> None:
        if not self._is_current(info):
            return
        if stage == "thumbnail" and self.shown == (info.id, "full"):
            return
        self._set_image(image)
        self.shown = (info.id, stage)
        self._say("" if stage == "full" else "loading full preview…")

    def _apply_error(self, info: ImageInfo, message: str) -> None:
        if not self._is_current(info):
            return
        self._set_image(None)
        self.shown = (info.id, "error")
        # The message may quote the file or the database: escaped like the name.
        self._say(visible(f"{info.filename or info.id}: {message}"), error=True)

    def _set_image(self, image: PILImage.Image | None) -> None:
        widget = self._image_widget()
        if widget is not None:
            widget.image = image

    def on_resize(self) -> None:
        # A new pane size needs a new pixel box: ask again for what is shown.
        if self._wanted is not None:
            self.show(self._wanted)
