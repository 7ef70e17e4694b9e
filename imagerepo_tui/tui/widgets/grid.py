"""The gallery's grid view: thumbnail tiles laid out over the gallery's own rows.

Not a second list: the ``Gallery`` keeps its loaded rows, cursor, marks and paging,
and asks ``TileGrid`` only where an image sits on screen (``span``), which images
the screen shows (``items``) and how one screen line of tiles is drawn
(``render_line``). Tiles are half-block pictures of the STORED thumbnails (or, on a
Sixel terminal, real pixels: ``tile_pixels``), drawn in a thread worker for the tiles
on screen only (stale work is cancelled), kept in a small LRU; a tile without its
picture yet is a plain placeholder block.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.worker import get_current_worker

from imagerepo_tui import imaging
from imagerepo_tui.errors import DatabaseUnavailableError
from imagerepo_tui.records import ImageInfo
from imagerepo_tui.remembered import Remembered
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.selection import Marks
from imagerepo_tui.tui.widgets.rows import DAMAGED_MARK, DAMAGED_STYLE, Rows
from imagerepo_tui.tui.widgets.tile_pixels import SixelTile, cell_pixels, sixel_tile

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository

# Picture sizes in cells (columns, rows): a half-block cell is two square-ish pixels
# stacked, so 16×6 cells hold a 16×12-pixel (4:3) picture. ``z``/``Z`` step through.
SIZES: tuple[tuple[int, int], ...] = ((10, 4), (14, 5), (18, 7), (24, 9), (32, 12))
DEFAULT_SIZE = 2
# A tile is its picture, a name line under it and a blank line, one cell either side.
PAD_X, NAME_LINES, GAP_LINES = 1, 1, 1
# Tile rows drawn ahead of the screen, both ways, so a scroll rarely shows placeholders.
MARGIN_ROWS = 1
# Rendered pictures kept (a screen of the smallest tiles at 200×60 is ~100 of them).
CACHE_SIZE = 300

Lines = list[list[Segment]]
# Thumbnails fetched per round trip: about a screen row or two of tiles.
FETCH_BATCH = 12
TileKey = tuple[str, str, int, int]
NO_PICTURE: Lines = []  # the thumbnail was missing or did not decode
# A drawn tile: half-block lines, or Sixel slices a line each.
Picture = Lines | SixelTile
_Drawn = TypeVar("_Drawn", Lines, SixelTile)


class TileCache:
    """A thread-safe LRU of rendered tile pictures, keyed by content and size."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[TileKey, Picture] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: TileKey) -> Picture | None:
        with self._lock:
            lines = self._items.get(key)
            if lines is not None:
                self._items.move_to_end(key)
            return lines

    def put(self, key: TileKey, lines: Picture) -> None:
        with self._lock:
            self._items[key] = lines
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def half_blocks(image: Any) -> Lines:
    """A small PIL image as lines of ``▀`` cells: the upper pixel is the foreground,
    the lower the background (an odd last row gets the terminal's background)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    data = rgb.tobytes()

    def colour(x: int, y: int) -> Color:
        at = (y * width + x) * 3
        return Color.from_rgb(data[at], data[at + 1], data[at + 2])

    lines: Lines = []
    for top in range(0, height, 2):
        line = []
        for x in range(width):
            lower = colour(x, top + 1) if top + 1 < height else None
            line.append(Segment("▀", Style(color=colour(x, top), bgcolor=lower)))
        lines.append(line)
    return lines


class TilesReady(Message):
    """Pictures for some tiles were drawn: repaint."""


class GridGallery(Protocol):
    """What the grid needs of the ``Gallery`` it draws (which imports this module)."""

    @property
    def rows(self) -> Rows: ...
    @property
    def cursor(self) -> int: ...
    @property
    def marks(self) -> Marks: ...
    @property
    def repository(self) -> ImageRepository | None: ...
    @property
    def scroll_y(self) -> float: ...
    @property
    def scrollable_content_region(self) -> Region: ...
    @property
    def size(self) -> Size: ...
    @property
    def rich_style(self) -> Style: ...
    @property
    def app(self) -> Any: ...
    def get_component_rich_style(self, *names: str, partial: bool = False) -> Style: ...
    def post_message(self, message: Message) -> bool: ...
    def run_worker(
        self,
        work: Callable[[], None],
        *,
        group: str,
        exit_on_error: bool,
        exclusive: bool,
        thread: bool,
    ) -> object: ...


class TileGrid:
    """Geometry, drawing and picture loading of the grid view of one ``Gallery``."""

    def __init__(self, gallery: GridGallery, *, pixels: bool = False) -> None:
        self.gallery = gallery
        self.pixels = pixels  # Sixel tiles (``tile_pixels``), not half-blocks
        remembered = Remembered()
        self.on = remembered.text("view") == "grid"
        self.size = max(0, min(len(SIZES) - 1, remembered.number("tile_size", DEFAULT_SIZE)))
        self.cache = TileCache()
        self._pending: set[TileKey] = set()  # asked of the running worker

    # -- switching --------------------------------------------------------------------

    def toggle(self) -> None:
        self.on = not self.on
        Remembered().set("view", "grid" if self.on else "list")

    def resize_tiles(self, step: int) -> bool:
        """One size larger (``step`` 1) or smaller (-1); False at the end of the range."""
        size = max(0, min(len(SIZES) - 1, self.size + step))
        if size == self.size:
            return False
        self.size = size
        Remembered().set("tile_size", size)
        return True

    # -- geometry ---------------------------------------------------------------------

    @property
    def picture(self) -> tuple[int, int]:
        return SIZES[self.size]

    @property
    def tile_width(self) -> int:
        return self.picture[0] + 2 * PAD_X

    @property
    def tile_height(self) -> int:
        return self.picture[1] + NAME_LINES + GAP_LINES

    @property
    def columns(self) -> int:
        return max(1, self.gallery.scrollable_content_region.width // self.tile_width)

    def lines(self, total: int) -> int:
        """Screen lines the whole grid takes."""
        return -(-total // self.columns) * self.tile_height

    def span(self, item: int) -> tuple[int, int]:
        """The first screen line of ``item``'s tile and how many lines it takes."""
        return item // self.columns * self.tile_height, self.tile_height

    def items(self, top: int, height: int) -> range:
        """The images whose tiles show on lines ``top`` to ``top + height``."""
        first_row = top // self.tile_height
        last_row = (top + max(1, height) - 1) // self.tile_height
        return range(first_row * self.columns, (last_row + 1) * self.columns)

    def page_step(self, height: int) -> int:
        """Images in a screenful of whole tile rows."""
        return self.columns * max(1, height // self.tile_height)

    def vertical(self, cursor: int, rows: int, total: int) -> int:
        """Where ``rows`` tile rows up or down from ``cursor`` goes. Down from the last
        row stays put; into a shorter last row, its last tile."""
        columns = self.columns
        target = cursor + rows * columns
        if target >= total and cursor // columns == max(0, total - 1) // columns:
            return cursor
        return target

    # -- drawing (UI thread) ------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        gallery = self.gallery
        line = int(gallery.scroll_y) + y
        width = gallery.scrollable_content_region.width
        row, within = divmod(line, self.tile_height)
        picture_width, picture_height = self.picture
        base = gallery.rich_style
        cursor_style = base + gallery.get_component_rich_style("gallery--cursor")
        columns = self.columns
        slot = max(self.tile_width, width // columns)  # the width's spare cells shared out
        left = (slot - picture_width) // 2
        right = slot - picture_width - left
        segments: list[Segment] = []
        for column in range(columns):
            item = row * columns + column
            if item >= gallery.rows.total:
                break
            info = gallery.rows.get(item)
            style = cursor_style if item == gallery.cursor else base
            if within < picture_height:
                segments.append(Segment(" " * left, style))
                segments.extend(self._picture_line(info, within, style))
                segments.append(Segment(" " * right, style))
            elif within < picture_height + NAME_LINES:
                segments.extend(self._name_line(info, style, slot))
            else:
                segments.append(Segment(" " * slot, base))
        return Strip(segments).extend_cell_length(width, base).crop(0, width)

    def _picture_line(self, info: ImageInfo | None, y: int, style: Style) -> list[Segment]:
        width, height = self.picture
        lines = self.cache.get(self._key(info)) if info is not None else None
        if not lines:  # not drawn yet, or nothing to draw: a plain block
            placeholder = style + self.gallery.get_component_rich_style("gallery--placeholder")
            text = "no preview" if lines is NO_PICTURE and y == height // 2 else ""
            return [Segment(text[:width].center(width), placeholder)]
        top = (height - len(lines)) // 2
        if not 0 <= y - top < len(lines):
            return [Segment(" " * width, style)]
        if isinstance(lines, SixelTile):
            left = (width - lines.width) // 2
            right = width - lines.width - left
            pixels = lines.line(y - top, style)
            return [Segment(" " * left, style), *pixels, Segment(" " * right, style)]
        # Under the tile's style: an odd last pixel row has no colour of its own below.
        picture = list(Segment.apply_style(lines[y - top], style))
        left = (width - len(picture)) // 2
        right = width - len(picture) - left
        return [Segment(" " * left, style), *picture, Segment(" " * right, style)]

    def _name_line(self, info: ImageInfo | None, style: Style, slot: int) -> list[Segment]:
        gallery = self.gallery
        width = slot - 2 * PAD_X
        text = Text(no_wrap=True)
        if info is None:
            text.append("loading…", gallery.get_component_rich_style("gallery--loading"))
        else:
            if gallery.marks.active and gallery.marks.is_marked(info.id):
                text.append("✓ ", gallery.get_component_rich_style("gallery--mark"))
            if info.damaged:
                text.append(f"{DAMAGED_MARK} ", DAMAGED_STYLE)
            # Cut before escaping, as the list does: a title may be a megabyte long.
            name = info.title or info.filename or f"(no name) {info.id}"
            text.append(visible(name[: width + 1]))
        text.truncate(width, overflow="ellipsis")
        text.align("center", width)  # under the picture, which is centred too
        pad = Segment(" " * PAD_X, style)
        shown = Segment.apply_style(text.render(gallery.app.console, end=""), style)
        return [pad, *shown, pad]

    def _key(self, info: ImageInfo) -> TileKey:
        return _tile_key(info, self.size)

    # -- pictures (workers) -------------------------------------------------------------

    def want(self) -> None:
        """Draw, in a worker, the pictures the screen (and a tile row beyond it) lacks.
        The new list replaces the one being drawn unless that one covers it."""
        gallery = self.gallery
        repository = gallery.repository
        if not self.on or repository is None:
            return
        # A screen either way: after the screen itself is drawn, the worker goes on to
        # the screens PgDn and PgUp show next, so paging at a reading pace finds its
        # tiles drawn.
        margin = max(MARGIN_ROWS * self.tile_height, gallery.size.height)
        shown = self.items(max(0, int(gallery.scroll_y) - margin), gallery.size.height + 2 * margin)
        # The screen first, then the margins: the order the worker draws them in.
        on_screen = self.items(int(gallery.scroll_y), gallery.size.height)
        order = [*on_screen, *(i for i in shown if i not in on_screen)]
        missing: list[ImageInfo] = []
        for item in order:
            info = gallery.rows.get(item) if item < gallery.rows.total else None
            if info is not None and self.cache.get(self._key(info)) is None:
                missing.append(info)
        keys = {self._key(info) for info in missing}
        if not keys or keys <= self._pending:
            return
        self._pending = keys
        cell = cell_pixels() if self.pixels else None
        gallery.run_worker(
            lambda: self._draw(keys, missing, self.picture, self.size, repository, cell),
            thread=True,
            exclusive=True,
            group="tiles",
            exit_on_error=False,
        )

    def _draw(
        self,
        keys: set[TileKey],
        infos: Sequence[ImageInfo],
        picture: tuple[int, int],
        size: int,
        repository: Any,
        cell: tuple[int, int] | None,
    ) -> None:
        """Fetch, decode and draw each stored thumbnail; a newer request cancels this
        one between tiles. Never the originals: a tile without a thumbnail says so.
        ``cell``: a cell's pixels for Sixel tiles, None for half-blocks."""
        try:
            self._draw_each(infos, picture, size, repository, cell)
        finally:
            if self._pending is keys:  # not replaced by a newer request meanwhile
                self._pending = set()  # what was not drawn may be asked for again

    def _draw_each(
        self,
        infos: Sequence[ImageInfo],
        picture: tuple[int, int],
        size: int,
        repository: Any,
        cell: tuple[int, int] | None,
    ) -> None:
        """A round trip per batch of tiles, not per tile: the screen's first batch is
        shown while the next is fetched."""
        worker = get_current_worker()
        for start in range(0, len(infos), FETCH_BATCH):
            batch = infos[start : start + FETCH_BATCH]
            try:
                found = repository.thumbnails([info.id for info in batch])
            except DatabaseUnavailableError:
                return  # the list says so; the tiles are asked for again on reconnecting
            except Exception:  # ImageRepoError or worse: a tile never takes the app down
                found = {}
            for info in batch:
                if worker.is_cancelled:
                    return
                data = found.get(info.id)
                if cell is None:
                    drawn: Picture = _tile(data, (picture[0], picture[1] * 2), info.rotation)
                else:
                    drawn = _sixel_tile(data, picture, cell, info.rotation)
                self.cache.put(_tile_key(info, size), drawn)
            with contextlib.suppress(RuntimeError):  # the app is closing
                self.gallery.post_message(TilesReady())


def _tile_key(info: ImageInfo, size: int) -> TileKey:
    """What a drawn tile depends on: the bytes, how they are turned, the tile size."""
    return (info.id, info.sha256, info.rotation, size)


def _tile(data: bytes | None, box: tuple[int, int], rotation: int) -> Lines:
    """A stored thumbnail as half-block lines, turned as the image is drawn (the
    thumbnail is upright already); missing or undecodable: no picture."""
    return _guarded(data, lambda data: half_blocks(imaging.render_preview(data, box, rotation)))


def _sixel_tile(
    data: bytes | None, picture: tuple[int, int], cell: tuple[int, int], rotation: int
) -> Picture:
    """The same in Sixel slices of ``picture`` (columns, rows) cells of ``cell`` pixels."""
    return _guarded(data, lambda data: sixel_tile(data, picture, cell, rotation))


def _guarded(data: bytes | None, draw: Callable[[bytes], _Drawn]) -> _Drawn | Lines:
    if not data:
        return NO_PICTURE
    try:
        return draw(data)
    except Exception:  # ImageRepoError or worse: a tile never takes the app down
        return NO_PICTURE
