"""What the gallery knows of the list (two keyset-paged chains and a total) and how
one row of it is drawn.

``head`` runs from the newest image down, ``tail`` from the oldest up, so the End
key does not have to walk every page. When the chains meet, the list is complete
and the count exact (the first count is only an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text

from imagerepo_tui.ratings import FAVORITE_MARK, stars
from imagerepo_tui.records import ImageInfo, Page
from imagerepo_tui.textsafe import visible
from imagerepo_tui.units import human_size


@dataclass
class Rows:
    """What is known of the list: two loaded chains and the (estimated) total."""

    total: int = 0
    head: list[ImageInfo] = field(default_factory=list)
    tail: list[ImageInfo] = field(default_factory=list)  # tail[0] is the oldest
    head_cursor: int | None = None
    tail_cursor: int | None = None
    complete: bool = False

    def get(self, row: int) -> ImageInfo | None:
        if row < len(self.head):
            return self.head[row]
        from_end = self.total - 1 - row
        if 0 <= from_end < len(self.tail):
            return self.tail[from_end]
        return None

    def find(self, image_id: str) -> int | None:
        for index, info in enumerate(self.head):
            if info.id == image_id:
                return index
        for index, info in enumerate(self.tail):
            if info.id == image_id:
                return self.total - 1 - index
        return None

    def add_head(self, page: Page) -> None:
        # Stop where the tail begins: whatever overlaps is already loaded. By id, not
        # by seq: a search may sort by name, size or date, and the trash by deletion.
        fresh = _until(page.items, self.tail)
        self.head.extend(fresh)
        self.head_cursor = page.next_before
        if len(fresh) < len(page.items) or page.next_before is None:
            self._finish()

    def add_tail(self, page: Page) -> None:
        fresh = _until(page.items, self.head)
        self.tail.extend(fresh)
        self.tail_cursor = page.next_before
        if len(fresh) < len(page.items) or page.next_before is None:
            self._finish()

    def _finish(self) -> None:
        self.complete = True
        self.total = len(self.head) + len(self.tail)

    def fix_total(self) -> None:
        """An estimated count must still leave room for what is known to exist."""
        if not self.complete:
            self.total = max(self.total, len(self.head) + len(self.tail) + 1)

    def remove(self, image_id: str) -> bool:
        for chain in (self.head, self.tail):
            for index, info in enumerate(chain):
                if info.id == image_id:
                    del chain[index]
                    self.total -= 1
                    return True
        return False

    def replace(self, new: ImageInfo) -> bool:
        for chain in (self.head, self.tail):
            for index, info in enumerate(chain):
                if info.id == new.id:
                    chain[index] = new
                    return True
        return False


def _until(items: list[ImageInfo], other: list[ImageInfo]) -> list[ImageInfo]:
    """``items`` up to the first one the other chain already holds."""
    known = {info.id for info in other}
    fresh: list[ImageInfo] = []
    for info in items:
        if info.id in known:
            break
        fresh.append(info)
    return fresh


# -- drawing one row ------------------------------------------------------------------

# Marker of an image every user of the library can see (private ones get PRIVATE).
PUBLIC_MARK = "●"
PRIVATE_MARK = "○"
PUBLIC_STYLE = Style(color="green", bold=True)


# Marks a row whose stored document is damaged (the details pane says how).
DAMAGED_MARK = "⚠"
DAMAGED_STYLE = Style(color="red", bold=True)


# A favourite and a rating lead the name: ♥ ★★★ Harbour (nothing for unrated ones).
FAVORITE_STYLE = Style(color="red", bold=True)
STARS_STYLE = Style(color="yellow")


def _head(text: str, width: int) -> str:
    """Enough of ``text`` to fill ``width`` cells (and an ellipsis after them)."""
    return text[: width + 1]


def _columns(width: int, accounts: bool = False) -> tuple[int, int, int]:
    """Widths of the name, owner and tags columns. The fixed ones take 39 cells, 41
    with accounts (the public/private marker). The owner column exists only with
    accounts, and only when the name keeps 10 cells beside it (the details pane
    names the owner in any case)."""
    flexible = max(10, width - (41 if accounts else 39))
    tags = min(24, flexible // 3)
    rest = flexible - tags
    owner = min(12, rest * 2 // 5) if accounts and rest >= 18 else 0
    return rest - owner, owner, tags


def format_row(info: ImageInfo, width: int, dim: Style, viewer: str | None = None) -> Text:
    """One gallery row; untrusted strings made visible and never parsed as markup.

    ``viewer`` is the logged-in user's id in a library with accounts (None in
    personal mode): rows then start with a public/private marker and name the owner
    of someone else's image, in its column or, when the gallery is too narrow for
    one, before the image's name ("alice: Harbour")."""
    accounts = viewer is not None
    name_width, owner_width, tags_width = _columns(width, accounts)
    owner = visible(info.owner_name or "?") if accounts and info.owner != viewer else ""
    name = Text(no_wrap=True)
    if info.damaged:
        name.append(f"{DAMAGED_MARK} ", style=DAMAGED_STYLE)
    if info.favorite:
        name.append(f"{FAVORITE_MARK} ", style=FAVORITE_STYLE)
    if info.rating:
        name.append(f"{stars(info.rating)} ", style=STARS_STYLE)
    if owner and not owner_width:
        name.append(f"{owner}: ", style="italic")
    # Cut before escaping: a megabyte title (another client wrote it) would be
    # escaped whole on every repaint of the row.
    name.append(visible(_head(info.title or info.filename or f"(no name) {info.id}", width)))
    # With an owner column, a cell of the name's width keeps the two apart.
    name.truncate(name_width - (2 if owner_width else 1), overflow="ellipsis", pad=True)
    dims = f"{info.width}×{info.height}"
    date = info.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if info.created_at else "?"
    tags = Text(visible(_head(", ".join(info.tags[:width]), width)), style=dim, no_wrap=True)
    tags.truncate(tags_width, overflow="ellipsis")
    parts: list[Text | str | tuple[str, Style | str]] = [" "]
    if accounts:
        parts.append((PUBLIC_MARK, PUBLIC_STYLE) if info.public else (PRIVATE_MARK, dim))
        parts.append(" ")
    parts.append(name)
    if owner_width:
        owner_text = Text(owner, no_wrap=True)
        owner_text.truncate(owner_width - 1, overflow="ellipsis", pad=True)
        parts.extend((" ", owner_text, " "))
    parts.extend(
        (
            (f"{dims:>11} ", ""),
            (f"{human_size(info.size):>9} ", ""),
            (f"{date:<16} ", dim),
            tags,
        )
    )
    return Text.assemble(*parts, no_wrap=True)


def header_text(width: int, accounts: bool = False) -> Text:
    name_width, owner_width, _ = _columns(width, accounts)
    return Text.assemble(
        "   " if accounts else " ",
        "Name".ljust(name_width - 1),
        "Owner".ljust(owner_width) if owner_width else "",
        f"{'Pixels':>11} ",
        f"{'Size':>9} ",
        f"{'Uploaded':<16} ",
        "Tags",
        no_wrap=True,
    )
