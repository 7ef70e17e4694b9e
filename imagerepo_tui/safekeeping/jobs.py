"""Whole-library jobs as a front end starts them (a backup into a folder), and what the
last check and backup said, for reminders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from imagerepo_tui.errors import PermissionDeniedError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.backup import BackupWriter
from imagerepo_tui.safekeeping.transfer import Summary, transfer
from imagerepo_tui.store.integrity import Integrity
from imagerepo_tui.store.transfer import Library, LibraryReader, last_backup, record_last_backup

# A library not backed up for this long says so when it opens.
BACKUP_OVERDUE = timedelta(days=30)


class LibraryBackup:
    """One backup of the whole library into ``folder``: ask ``totals`` for a progress
    bar, then ``run``. The library remembers it once it is complete."""

    def __init__(self, repo: ImageRepository, folder: Path) -> None:
        self.library = Library.of(repo.whole_library("back up the whole library"))
        self.folder = folder
        self.source = LibraryReader(self.library)

    def totals(self) -> tuple[int, int]:
        """(images, bytes of their originals)."""
        return self.source.totals()

    def run(
        self,
        *,
        advance: Callable[[float], None],
        report: Callable[[str], None],
        note: Callable[[str], None],
    ) -> Summary:
        """``advance`` hears of each image's bytes; ``report`` of an image that failed
        (the rest go on); ``note`` of anything else worth saying."""
        writer = BackupWriter(self.folder, self.library.description)
        try:
            summary = transfer(self.source, writer, advance=advance, report=report, note=note)
        finally:
            writer.close()
        record_last_backup(self.library, str(self.folder.resolve()), datetime.now(UTC))
        return summary


@dataclass(frozen=True)
class LastCheck:
    at: datetime
    images: int
    problems: int
    repaired: int

    @property
    def unrepaired(self) -> int:
        return max(0, self.problems - self.repaired)


@dataclass(frozen=True)
class LastBackup:
    at: datetime
    folder: str


@dataclass(frozen=True)
class LastRuns:
    """What the library remembers of its last check and backup (either may be None)."""

    check: LastCheck | None
    backup: LastBackup | None


def last_runs(repo: ImageRepository) -> LastRuns | None:
    """None for a user who may not check or back up the library (not an admin)."""
    try:
        store = repo.whole_library("read the library's safekeeping state")
    except PermissionDeniedError:
        return None
    library = Library.of(store)
    return LastRuns(
        _check_record(Integrity(store).last_check()), _backup_record(last_backup(library))
    )


def _when(doc: dict[str, Any]) -> datetime | None:
    at = doc.get("at")
    if not isinstance(at, datetime):
        return None  # written by someone else, or damaged: as good as none
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _count(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _check_record(doc: dict[str, Any] | None) -> LastCheck | None:
    at = _when(doc) if isinstance(doc, dict) else None
    if doc is None or at is None:
        return None
    return LastCheck(at, _count(doc, "images"), _count(doc, "problems"), _count(doc, "repaired"))


def _backup_record(doc: dict[str, Any] | None) -> LastBackup | None:
    at = _when(doc) if isinstance(doc, dict) else None
    if doc is None or at is None:
        return None
    folder = doc.get("folder")
    return LastBackup(at, folder if isinstance(folder, str) else "")


def ago(moment: datetime, now: datetime) -> str:
    """'today', 'yesterday', '12 days ago'."""
    days = (now - moment).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days:,} days ago"


def backup_reminder(runs: LastRuns, now: datetime) -> str | None:
    """What to say when the library opens, if its last backup is missing or old."""
    if runs.backup is None:
        return "never backed up"
    if now - runs.backup.at >= BACKUP_OVERDUE:
        return f"last backed up {ago(runs.backup.at, now)}"
    return None


def describe_check(check: LastCheck | None, now: datetime) -> str:
    if check is None:
        return "never checked"
    found = check.unrepaired
    verdict = "no problems" if not found else f"{found:,} problem{'s' if found != 1 else ''}"
    return f"last checked {ago(check.at, now)}: {verdict}"


def describe_backup(backup: LastBackup | None, now: datetime) -> str:
    if backup is None:
        return "never backed up"
    return f"last backed up {ago(backup.at, now)}" + (
        f" to {backup.folder}" if backup.folder else ""
    )
