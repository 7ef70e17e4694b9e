"""Marks: the images a bulk action works on.

Either ids marked one by one (what a user marks by hand is small), or "every match
of a search" kept as the search itself, with the ids unmarked since: a bulk action
walks ``repository.iter_ids`` then, so marking 100,000 images holds no 100,000 ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository


@dataclass
class Marks:
    ids: set[str] = field(default_factory=set)
    # "All matches of a search": the parsed query (None: the whole library or trash).
    everything: bool = False
    query: Any = None
    trash: bool = False
    excluded: set[str] = field(default_factory=set)
    matches: int = 0  # how many the search matched when marked (for display)

    @property
    def active(self) -> bool:
        return self.everything or bool(self.ids)

    @property
    def count(self) -> int:
        if self.everything:
            return max(0, self.matches - len(self.excluded))
        return len(self.ids)

    def is_marked(self, image_id: str) -> bool:
        if self.everything:
            return image_id not in self.excluded
        return image_id in self.ids

    def toggle(self, image_id: str) -> None:
        chosen = self.excluded if self.everything else self.ids
        if image_id in chosen:
            chosen.discard(image_id)
        else:
            chosen.add(image_id)

    def mark_all(self, query: Any, *, trash: bool, matches: int) -> None:
        self.clear()
        self.everything, self.query, self.trash, self.matches = True, query, trash, matches

    def clear(self) -> None:
        self.ids.clear()
        self.excluded.clear()
        self.everything, self.query, self.matches = False, None, 0

    def describe(self) -> str:
        if self.everything:
            but = f" but {len(self.excluded)}" if self.excluded else ""
            return f"all {self.matches:,}{but} marked"
        return f"{len(self.ids):,} marked" if self.ids else ""

    def snapshot(self) -> Selection:
        """A frozen copy for a worker: later marking does not change a running action."""
        return Selection(
            ids=tuple(sorted(self.ids)),
            everything=self.everything,
            query=self.query,
            trash=self.trash,
            excluded=frozenset(self.excluded),
            estimate=self.count,
        )


@dataclass(frozen=True)
class Selection:
    """What one bulk action works on; ``ids(repository)`` streams them."""

    ids: tuple[str, ...] = ()
    everything: bool = False
    query: Any = None
    trash: bool = False
    excluded: frozenset[str] = frozenset()
    estimate: int = 0

    @classmethod
    def one(cls, image_id: str) -> Selection:
        return cls(ids=(image_id,), estimate=1)

    def count(self, repository: ImageRepository) -> int:
        """How many to expect (from the database for a search: it may have changed)."""
        if not self.everything:
            return len(self.ids)
        return max(0, repository.count(self.query, trash=self.trash) - len(self.excluded))

    def walk(self, repository: ImageRepository) -> Iterator[str]:
        if not self.everything:
            yield from self.ids
            return
        for image_id in repository.iter_ids(self.query, trash=self.trash):
            if image_id not in self.excluded:
                yield image_id
