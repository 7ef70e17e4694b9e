"""The gallery: a virtual list of every image, fetched a page at a time as rows show.

Built on the Line API (``ScrollView.render_line``) so 100,000 rows cost what the
screen shows. Rows come from two keyset-paged chains: ``head`` from the newest
image down, ``tail`` from the oldest up (so End does not walk every page). When
the chains meet the list is complete and the count exact.
"""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from imagerepo_tui.records import PAGE_SIZE, ImageInfo, Page
from imagerepo_tui.tui.host import host
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.selection import Marks
from imagerepo_tui.tui.widgets import tile_pixels
from imagerepo_tui.tui.widgets.grid import TileGrid, TilesReady
from imagerepo_tui.tui.widgets.rows import Rows, format_row

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository

PAGE_ROWS = PAGE_SIZE  # the core's page
# Rows fetched ahead of the screen, both ways: a page, so a held PgDn (a screenful a
# key) has several keys' time to get the next page before it shows an unloaded row.
# With 40 rows (barely one PgDn ahead) any slow answer from the server showed as
# "loading…" rows.
LOOKAHEAD = PAGE_ROWS
# The count and the pages ahead wait for the first page to be drawn, or this long.
FIRST_PAGE_GRACE_S = 0.5


class Gallery(ScrollView, can_focus=True):
    """Keyboard-driven list of images; posts ``Highlighted`` as the cursor moves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "vertical(1)", "Down", id="gallery.down", show=False),
        Binding("k,up", "vertical(-1)", "Up", id="gallery.up", show=False),
        Binding("l,right", "cursor(1)", "Right", id="gallery.right", show=False),
        Binding("h,left", "cursor(-1)", "Left", id="gallery.left", show=False),
        Binding("pagedown", "page(1)", "Page down", id="gallery.page_down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="gallery.page_up", show=False),
        Binding("home,g", "first", "First", id="gallery.first", show=False),
        Binding("end,G", "last", "Last", id="gallery.last", show=False),
        Binding("v", "toggle_grid", "Grid / list", id="gallery.view"),
        Binding("z", "tile_size(1)", "Larger tiles", id="gallery.larger", show=False),
        Binding("Z", "tile_size(-1)", "Smaller tiles", id="gallery.smaller", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "gallery--cursor",
        "gallery--loading",
        "gallery--dim",
        "gallery--mark",
        "gallery--placeholder",
    }
    DEFAULT_CSS = """
    Gallery { scrollbar-gutter: stable; overflow-x: hidden; }
    Gallery > .gallery--cursor { background: $accent 40%; }
    Gallery:focus > .gallery--cursor { background: $accent; color: $text; }
    Gallery > .gallery--loading { color: $text-muted; }
    Gallery > .gallery--dim { color: $text-muted; }
    Gallery > .gallery--mark { color: $success; text-style: bold; }
    Gallery > .gallery--placeholder { background: $panel; color: $text-muted; }
    """

    # Repainted by ``watch_cursor``: all of it, or with Sixel tiles the rows it changes.
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        """The image under the cursor (None when the list is empty or not loaded)."""

        def __init__(self, info: ImageInfo | None) -> None:
            self.info = info
            super().__init__()

    class FirstPageShown(Message):
        """The first page of the list (read anew) is on screen."""

    class Counted(Message):
        """The gallery learnt how many images there are."""

        def __init__(self, total: int) -> None:
            self.total = total
            super().__init__()

    def __init__(self, graphics: str = "halfcell", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = Rows()
        self.repository: ImageRepository | None = None
        self._generation = 0
        self._loading = False
        self._exact = False
        # End pressed before the count arrived: the last row is not known yet.
        self._end_wanted = False
        self._announced: ImageInfo | bool | None = False  # False: nothing said yet
        self.loaded_once = False
        # The first page of a reload, read but not yet drawn: (generation, page).
        self._first_page: tuple[int, Page] | None = None
        # What is listed: a parsed search (None: everything), from the trash or not.
        self.query: Any = None
        self.query_text = ""
        self.trash = False
        self.marks = Marks()
        # Uploads met a filtered list: it is read again when they are done.
        self.stale = False
        # The logged-in user's id in a library with accounts (rows show owners).
        self.viewer: str | None = None
        # The grid view (``v``): the same rows, cursor and marks drawn as tiles.
        self.grid = TileGrid(self, pixels=tile_pixels.sixel_tiles(graphics))

    # -- data -------------------------------------------------------------------------

    @property
    def filtered(self) -> bool:
        return self.query is not None or self.trash

    def set_view(self, query_text: str, query: Any, *, trash: bool) -> None:
        """List the matches of ``query`` (parsed; None for all), in the trash or not."""
        self.query_text, self.query, self.trash = query_text, query, trash
        keep = self.current  # stays highlighted if the first page of the new list has it
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self.reload(self.repository)
        self._keep_id = keep.id if keep else None

    def reload(self, repository: ImageRepository | None) -> None:
        """Start over from the database (connected, reconnected, refresh)."""
        keep = self.current
        self.stale = False
        self.repository = repository
        self._generation += 1
        self._loading = False
        self._first_page = None
        self._announced = False  # say it again: the panes may show an error meanwhile
        self.rows = Rows()
        self._exact = False  # the count arrives after the first page
        self._end_wanted = False
        self._keep_id = keep.id if keep else None
        self._resize()
        if repository is not None:
            self._load(self._generation, "start", None, self.query, self.trash)

    @property
    def current(self) -> ImageInfo | None:
        return self.rows.get(self.cursor)

    def _resize(self) -> None:
        total = self.rows.total
        lines = self.grid.lines(total) if self.grid.on else total
        self.virtual_size = Size(self.scrollable_content_region.width, lines)
        self.refresh()

    def _on_screen(self) -> range:
        """The rows (images) the screen shows, in either view."""
        top, height = int(self.scroll_y), self.size.height
        return self.grid.items(top, height) if self.grid.on else range(top, top + height)

    def _span(self, row: int) -> tuple[int, int]:
        """The first screen line of ``row`` and how many lines it takes."""
        return self.grid.span(row) if self.grid.on else (row, 1)

    @work(thread=True, group="gallery", exit_on_error=False)
    def _load(self, generation: int, which: str, cursor: Any, query: Any, trash: bool) -> None:
        """One page from the database."""
        repository = self.repository
        if repository is None:
            return
        with report_errors(host(self), on_error=lambda: self._load_failed(generation)):
            page = repository.list_page(
                query, before=cursor, limit=PAGE_ROWS, oldest_first=which == "tail", trash=trash
            )
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._loaded, generation, which, page)

    @work(thread=True, group="gallery", exit_on_error=False)
    def _count(self, generation: int, query: Any, trash: bool) -> None:
        """How many images the list has, asked once its first page shows: it reads
        every match (seconds at 100,000 images on the embedded server), so until it
        arrives the list is as long as what is loaded, plus a row that says more is
        coming."""
        repository = self.repository
        if repository is None:
            return
        with report_errors(host(self)):
            total = repository.count(query, trash=trash)
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._counted, generation, total)

    def _load_failed(self, generation: int) -> None:
        if generation == self._generation:
            self._loading = False

    def _counted(self, generation: int, total: int) -> None:
        if generation != self._generation or self.rows.complete:
            return
        self.rows.total = total
        self.rows.fix_total()
        self._exact = True
        self._post_count()
        self._resize()
        if self._end_wanted:
            self.action_last()
        self._request_rows()

    def _post_count(self) -> None:
        """Tell the status line the count, once it is known (not the estimate)."""
        if self._exact or self.rows.complete:
            self.post_message(self.Counted(self.rows.total))

    def _loaded(self, generation: int, which: str, page: Page) -> None:
        if generation != self._generation:
            return  # a reload happened meanwhile: this page belongs to the old list
        self._loading = False
        if which == "tail":
            self.rows.add_tail(page)
        else:
            self.rows.add_head(page)
        self.rows.fix_total()
        if which == "start":
            # Drawn first: the count and the pages ahead would hold the GIL (and the
            # server) while the first rows are being drawn. Once drawn (render_lines),
            # or after a grace time if the gallery is not drawn (under a dialog).
            self._first_page = generation, page
            self.set_timer(FIRST_PAGE_GRACE_S, self._after_first_page)
            self.loaded_once = True
            self._restore_selection()
        self._post_count()
        self._resize()
        self.cursor = min(self.cursor, max(0, self.rows.total - 1))
        if self._end_wanted and self.rows.complete:  # every row came before the count
            self.action_last()
        self._request_rows()

    def _after_first_page(self) -> None:
        pending, self._first_page = self._first_page, None
        if pending is None or pending[0] != self._generation:
            return
        self.post_message(self.FirstPageShown())
        if pending[1].next_before is not None:
            self._count(self._generation, self.query, self.trash)
        self._request_rows()

    def _restore_selection(self) -> None:
        row = self.rows.find(self._keep_id) if self._keep_id else None
        if row is not None:
            self.cursor = row

    def _request_rows(self) -> None:
        """Fetch the page the cursor, the screen or the rows ahead need next, one at a
        time."""
        self.grid.want()
        busy = self._loading or self._first_page is not None  # (see _loaded)
        if busy or self.repository is None or self.rows.complete:
            self._announce()
            return
        screen = self._on_screen()
        top = screen.start
        bottom = min(self.rows.total, screen.stop + LOOKAHEAD)
        # The cursor, the screen and the rows below it, then those above (End starts
        # the tail chain; whichever chain is nearer a missing row fetches it).
        wanted = chain(
            (self.cursor,), range(top, bottom), range(top - 1, max(-1, top - 1 - LOOKAHEAD), -1)
        )
        missing = next((row for row in wanted if self.rows.get(row) is None), None)
        self._announce()
        if missing is None or missing >= self.rows.total:
            return
        rows = self.rows
        from_head = missing - len(rows.head)
        from_tail = (rows.total - 1 - len(rows.tail)) - missing
        self._loading = True
        if rows.head and from_tail < from_head:
            self._load(self._generation, "tail", rows.tail_cursor, self.query, self.trash)
        else:
            self._load(self._generation, "head", rows.head_cursor, self.query, self.trash)

    def _announce(self) -> None:
        info = self.current
        if self._announced is False or info != self._announced:
            if info is None and not self.rows.complete and self.rows.total:
                return  # still loading the row: say nothing until it arrives
            self._announced = info
            self.post_message(self.Highlighted(info))

    # -- changes made elsewhere (uploads, deletes, edits) -------------------------------

    def add_new(self, info: ImageInfo) -> None:
        """A freshly uploaded image: it is the newest, so it goes on top."""
        if self.filtered:
            self.stale = True  # whether it matches is the database's to say
            return
        if self.rows.find(info.id) is not None:
            return
        self.rows.head.insert(0, info)
        self.rows.total += 1
        if self.rows.total > 1:
            self.cursor += 1  # the selection stays on the same image
        self._post_count()
        self._resize()
        self._request_rows()

    def remove_image(self, image_id: str) -> None:
        """An image is gone: its older neighbour takes its row (or the newer, at the end)."""
        if self.rows.remove(image_id):
            self._post_count()
            self._resize()
            self.cursor = min(self.cursor, max(0, self.rows.total - 1))
            self._request_rows()

    def update_info(self, info: ImageInfo) -> None:
        if self.rows.replace(info):
            self.refresh()
            self._announce()

    # -- cursor -----------------------------------------------------------------------

    def watch_cursor(self, old: int, row: int) -> None:
        top = self.scroll_y
        self._show_cursor()
        if self.grid.pixels and self.grid.on and self.scroll_y == top:
            # Sixel tiles cost bytes: only the tile rows the cursor left and reached.
            for item in {old, row}:
                self.refresh_lines(*self._span(item))
        else:
            self.refresh()
        self._request_rows()

    def _show_cursor(self) -> None:
        """Scroll just enough for the cursor's row (or tile) to show."""
        height = max(1, self.size.height)
        top, lines = self._span(self.cursor)
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif top + lines > self.scroll_y + height:
            self.scroll_to(y=max(top, top + lines - height), animate=False, immediate=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._request_rows()

    def on_resize(self) -> None:
        self._resize()  # the grid reflows: as many tiles a row as the width holds
        self.call_after_refresh(self._show_cursor)  # once the new height is laid out
        self._request_rows()

    def on_tiles_ready(self, _: TilesReady) -> None:
        self.refresh()

    # -- the grid view ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cursor", "tile_size"):
            return self.grid.on  # left/right and z/Z mean something in the grid only
        return True

    def on_mount(self) -> None:
        if self.grid.on:  # remembered from the last run
            self._redraw_view()

    def action_toggle_grid(self) -> None:
        """Switch between the list and the grid; the cursor stays on its image."""
        self.grid.toggle()
        self._redraw_view()

    def action_tile_size(self, step: int) -> None:
        if self.grid.resize_tiles(step):
            self._redraw_view()

    def _redraw_view(self) -> None:
        if self.parent is not None:  # the list's column titles mean nothing over tiles
            self.parent.set_class(self.grid.on, "grid-view")
        self.refresh_bindings()
        self._resize()
        self._show_cursor()
        self._request_rows()

    def _move_to(self, row: int) -> None:
        self._end_wanted = False  # a key pressed since End: that is where the user is
        self.cursor = max(0, min(row, self.rows.total - 1))

    def action_cursor(self, delta: int) -> None:
        """The next (previous) image: the row below, or in the grid the tile beside."""
        self._move_to(self.cursor + delta)

    def action_vertical(self, delta: int) -> None:
        """The row below (above); in the grid, the tile below (above)."""
        if self.grid.on:
            self._move_to(self.grid.vertical(self.cursor, delta, self.rows.total))
        else:
            self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        height = self.size.height
        step = self.grid.page_step(height) if self.grid.on else max(1, height - 1)
        self._move_to(self.cursor + direction * step)

    def action_first(self) -> None:
        self._move_to(0)

    def action_last(self) -> None:
        if self._exact or self.rows.complete:
            self._move_to(self.rows.total - 1)
            return
        # Until the count arrives the last row's number is unknown (counting reads
        # every match: seconds at 100,000 images): go there as soon as it is known.
        if not self._end_wanted:
            self.notify("Counting the images: End goes to the oldest once they are counted.")
        self._end_wanted = True

    # -- drawing ----------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._first_page is not None:
            self.call_later(self._after_first_page)  # after this frame is displayed
        if not self.grid.pixels:
            return super().render_lines(crop)
        # Sixel tiles: whole lines, cut here (Textual's own cut would split a slice).
        width = self.region.width
        lines = super().render_lines(Region(0, crop.y, width, crop.height))
        return tile_pixels.settle(lines, crop, width, self.screen.is_active)

    def render_line(self, y: int) -> Strip:
        if self.grid.on and self.rows.total:
            return self.grid.render_line(y)
        row = int(self.scroll_y) + y
        width = self.scrollable_content_region.width
        if row >= self.rows.total:
            if row == 0 and self.rows.total == 0:
                return self._message_line(width)
            return Strip.blank(width, self.rich_style)
        info = self.rows.get(row)
        if info is None:
            text = Text("  loading…", style=self.get_component_rich_style("gallery--loading"))
        else:
            # Dim columns on the cursor's background would be unreadable: plain there.
            dim = Style(color=self.get_component_rich_style("gallery--dim").color)
            text = format_row(info, width, Style() if row == self.cursor else dim, self.viewer)
            if self.marks.active and self.marks.is_marked(info.id):
                text = Text.assemble(
                    ("✓", self.get_component_rich_style("gallery--mark")), text[1:]
                )
        style = self.rich_style
        if row == self.cursor:
            style = style + self.get_component_rich_style("gallery--cursor")
        text.truncate(width, overflow="ellipsis", pad=True)
        segments = list(text.render(self.app.console, end=""))
        return Strip(Segment.apply_style(segments, style), width).crop(0, width)

    def _message_line(self, width: int) -> Strip:
        if self.repository is None:
            message = "  waiting for the database…"
        elif not self.loaded_once:
            message = "  loading…"
        elif self.query is not None:
            message = "  No matches. Escape clears the search."
        elif self.trash:
            message = "  The trash is empty. Press t to go back to the library."
        else:
            message = "  No images yet: press u to upload, or paste file paths here."
        text = Text(message, style=self.get_component_rich_style("gallery--loading"))
        text.truncate(width, pad=True)
        return Strip(list(text.render(self.app.console, end="")), width)
