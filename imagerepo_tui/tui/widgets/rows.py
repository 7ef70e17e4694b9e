"""What the gallery knows of the list: two keyset-paged chains and a total.

``head`` runs from the newest image down, ``tail`` from the oldest up, so the End
key does not have to walk every page. When the chains meet, the list is complete
and the count exact (the first count is only an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imagerepo_tui.records import ImageInfo, Page


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
