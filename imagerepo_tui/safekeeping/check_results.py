"""What ``check`` reports, for any front end: the kinds of problem, each problem found,
the progress events between them, and the totals at the end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from imagerepo_tui.units import human_size, plural


class Kind(StrEnum):
    """What can be wrong; the value is how a line names it."""

    MISSING = "missing"
    SHORT = "short"
    DAMAGED = "damaged"
    IMPOSSIBLE = "impossible fields"
    ORPHAN_FILE = "orphan file"
    ORPHAN_CHUNKS = "orphan chunks"
    HALF_FINISHED = "half-finished write"
    WRONG_COUNT = "wrong count"

    @property
    def key(self) -> str:
        """The name in JSON: ``orphan_file``."""
        return self.value.replace(" ", "_").replace("-", "_")

    def counted(self, count: int) -> str:
        """``2 orphan files``, ``2 damaged``."""
        plural = count != 1 and self in (Kind.ORPHAN_FILE, Kind.HALF_FINISHED, Kind.WRONG_COUNT)
        return f"{count:,} {self.value}{'s' if plural else ''}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong: an image's id (a GridFS id for orphans and abandoned writes),
    what is wrong, the image's filename if any, and whether ``repair`` removed it.
    Texts are as stored: a front end escapes them."""

    kind: Kind
    id: str
    detail: str
    name: str = ""
    repaired: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.key,
            "id": self.id,
            "detail": self.detail,
            "name": self.name,
            "repaired": self.repaired,
        }


@dataclass(frozen=True)
class Stage:
    """A stage of the check begins; ``Advance`` amounts count toward ``total``."""

    name: str
    total: int
    in_bytes: bool


@dataclass(frozen=True)
class Advance:
    amount: int


Event = Problem | Stage | Advance


@dataclass
class Summary:
    images: int = 0
    trashed: int = 0
    originals: int = 0
    bytes_read: int = 0
    problems: Counter[Kind] = field(default_factory=Counter)
    repaired: int = 0
    # Claims of writers still running: their files are theirs, not orphans.
    writes_in_progress: int = 0
    # Files in the bucket that another application wrote (no SHA-256 of ours): theirs.
    foreign_files: int = 0

    @property
    def found(self) -> int:
        return sum(self.problems.values())

    @property
    def unrepaired(self) -> int:
        return self.found - self.repaired

    def describe(self) -> str:
        """One line: what was read, what was found, what was left alone."""
        trashed = f" ({self.trashed:,} in the trash)" if self.trashed else ""
        checked = (
            f"checked {plural(self.images, 'image')}{trashed}, "
            f"{plural(self.originals, 'original')}, {human_size(self.bytes_read)} read"
        )
        verdict = "no problems"
        if self.found:
            kinds = ", ".join(
                kind.counted(self.problems[kind]) for kind in Kind if self.problems[kind]
            )
            verdict = f"{plural(self.found, 'problem')} ({kinds})"
            verdict += f", {self.repaired:,} removed" if self.repaired else ""
        if self.writes_in_progress:
            verdict += f"; {plural(self.writes_in_progress, 'write')} in progress left alone"
        if self.foreign_files:
            verdict += f"; {plural(self.foreign_files, 'file')} of other applications left alone"
        return f"{checked}: {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "trashed": self.trashed,
            "originals": self.originals,
            "bytes_read": self.bytes_read,
            "problems": self.found,
            "by_kind": {kind.key: self.problems[kind] for kind in Kind if self.problems[kind]},
            "repaired": self.repaired,
            "writes_in_progress": self.writes_in_progress,
            "foreign_files": self.foreign_files,
        }
