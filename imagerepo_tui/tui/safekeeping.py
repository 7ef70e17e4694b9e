"""Checking and backing up the library from the TUI: two commands in the palette, their
progress in the status line, and a reminder when the library opens unprotected.

The work is the core's (``safekeeping.check``, ``safekeeping.jobs``), the same the CLI
runs; here it runs in a thread worker and reports on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import AppHost, host, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.units import human_size

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository
    from imagerepo_tui.safekeeping.jobs import LastRuns

PROGRESS_EVERY_S = 0.5  # status line updates: often enough to see it move
REMINDER_SECONDS = 30.0  # the reminder shows this long, once per opening
DEFAULT_BACKUP_FOLDER = Path("~/imagerepo-backup")


class Safekeeping:
    """The app's check and backup jobs (one at a time) and what the library last said
    of them."""

    def __init__(self, app: AppHost) -> None:
        self.app = app
        self.running: str | None = None  # "check" or "backup" while one runs
        self.last: LastRuns | None = None
        self._shown_at = 0.0

    # -- what the library remembers -------------------------------------------------------

    def library_opened(self, repository: ImageRepository) -> None:
        """Read the last check and backup, then remind once if they call for it."""
        self.app.run_worker(
            partial(self._read_last, repository),
            thread=True,
            group="safekeeping-state",
            exclusive=True,
            exit_on_error=False,
        )

    def _read_last(self, repository: ImageRepository, *, remind: bool = True) -> None:
        from imagerepo_tui.safekeeping.jobs import last_runs

        with report_errors(self.app):
            runs = last_runs(repository)
            self.app.call_from_thread(self._learned, runs, remind)

    def _learned(self, runs: LastRuns | None, remind: bool) -> None:
        from imagerepo_tui.safekeeping.jobs import backup_reminder, describe_check

        self.last = runs
        if runs is None or not remind:
            return
        now = datetime.now(UTC)
        reminder = backup_reminder(runs, now)
        if reminder is not None:
            self._remind(f"{reminder}: ctrl+p, Back up the library")
        if runs.check is not None and runs.check.unrepaired:
            self.app.notify(
                f"The library was {describe_check(runs.check, now)}. "
                "Run `imagerepo-tui check` for the list, or ctrl+p, Check the library.",
                title="Check",
                severity="warning",
                markup=False,
                timeout=15,
            )

    def _remind(self, text: str) -> None:
        self.app.reminder = text
        self.app.set_timer(REMINDER_SECONDS, self._forget_reminder)

    def _forget_reminder(self) -> None:
        self.app.reminder = ""

    def describe(self, what: str) -> str:
        """The palette's help line for a command: what the library last said."""
        from imagerepo_tui.safekeeping.jobs import describe_backup, describe_check

        if self.last is None:
            return "the whole library; admins only where there are accounts"
        now = datetime.now(UTC)
        if what == "check":
            return visible(describe_check(self.last.check, now))
        return visible(describe_backup(self.last.backup, now))

    # -- running ----------------------------------------------------------------------

    def _refused(self) -> bool:
        """Whether a job cannot start now (and the user has been told why)."""
        app = self.app
        reason = None
        if app.repository is None or app.repository.needs_login:
            reason = "The library is not open yet."
        elif self.running is not None:
            reason = f"A {self.running} is under way."
        elif app.upload_under_way():
            reason = "An upload is under way: start this when it is done."
        if reason is not None:
            app.notify(reason, severity="warning", markup=False)
        return reason is not None

    def start_check(self) -> None:
        if self._refused():
            return
        self._begin("check")
        self.app.run_worker(
            self._check, thread=True, group="safekeeping", exclusive=True, exit_on_error=False
        )

    def start_backup(self) -> None:
        if self._refused():
            return
        from imagerepo_tui.tui.screens.forms import PromptScreen

        folder = self.last.backup.folder if self.last and self.last.backup else ""
        question = Text("Back up the whole library into this folder (created if needed):")
        self.app.push_screen(
            PromptScreen(question, folder or str(DEFAULT_BACKUP_FOLDER), ok_label="Back up"),
            self._backup_folder_chosen,
        )

    def _backup_folder_chosen(self, folder: str | None) -> None:
        if folder is None or self._refused():
            return
        self._begin("backup")
        self.app.run_worker(
            partial(self._backup, Path(folder).expanduser()),
            thread=True,
            group="safekeeping",
            exclusive=True,
            exit_on_error=False,
        )

    def _begin(self, what: str) -> None:
        self.running = what
        self.app.activity = f"{what}: starting…"

    def _end(self, title: str, message: str, *, problems: bool) -> None:
        self.running = None
        self.app.activity = ""
        if title == "Backup":
            self.app.reminder = ""  # it was about the backup just made
        self.app.notify(
            visible(message),
            title=title,
            severity="warning" if problems else "information",
            markup=False,
            timeout=15,
        )
        repository = self.app.repository
        if repository is not None:
            self.app.run_worker(
                partial(self._read_last, repository, remind=False),
                thread=True,
                group="safekeeping-state",
                exclusive=True,
                exit_on_error=False,
            )

    def _failed(self) -> None:
        self.running = None
        self.app.activity = ""

    def _progress(self, what: str) -> Callable[[str, float, float, bool], None]:
        """A reporter that updates the status line at most every PROGRESS_EVERY_S."""

        def report(stage: str, done: float, total: float, in_bytes: bool) -> None:
            now = time.monotonic()
            if now - self._shown_at < PROGRESS_EVERY_S:
                return
            self._shown_at = now
            amount = human_size(done) if in_bytes else f"{int(done):,}"
            whole = human_size(total) if in_bytes else f"{int(total):,}"
            percent = f" ({100 * done // max(1, total):.0f}%)" if total else ""
            text = f"{what}: {stage} {amount}/{whole}{percent}"
            self.app.call_from_thread(setattr, self.app, "activity", text)

        return report

    def _check(self) -> None:
        from imagerepo_tui.safekeeping.check import LibraryCheck
        from imagerepo_tui.safekeeping.check_results import Advance, Stage

        app = self.app
        with report_errors(app, on_error=self._failed):
            repository = require_repository(app)
            check = LibraryCheck(repository.whole_library("check the library"))
            show = self._progress("checking")
            stage, done, total, in_bytes = "", 0.0, 0.0, False
            for event in check.run():
                if isinstance(event, Stage):
                    stage, done, total, in_bytes = event.name, 0.0, event.total, event.in_bytes
                elif isinstance(event, Advance):
                    done += event.amount
                    show(stage, done, total, in_bytes)
            summary = check.summary
            message = summary.describe().replace("checked", "Library checked", 1)
            if summary.unrepaired:
                message += ". `imagerepo-tui check` lists them; `check --repair` removes leftovers."
            app.call_from_thread(self._end, "Check", message, problems=bool(summary.unrepaired))

    def _backup(self, folder: Path) -> None:
        from imagerepo_tui.safekeeping.jobs import LibraryBackup

        app = self.app
        with report_errors(app, on_error=self._failed):
            backup = LibraryBackup(require_repository(app), folder)
            images, size = backup.totals()
            show = self._progress("backing up")
            done = [0.0]
            failures: list[str] = []

            def advance(amount: float) -> None:
                done[0] += amount if size else 1
                show("", done[0], size or images, bool(size))

            summary = backup.run(advance=advance, report=failures.append, note=lambda _: None)
            message = (
                f"Backed up {summary.images:,} images to {folder}: {summary.written:,} written, "
                f"{summary.skipped:,} already there, {human_size(summary.bytes_written)} "
                f"in {summary.seconds:.1f} s"
            )
            if failures:
                message += f"; {len(failures):,} failed, first: {failures[0]}"
            app.call_from_thread(self._end, "Backup", message, problems=bool(failures))


COMMANDS: tuple[tuple[str, str], ...] = (
    ("Check the library", "check"),
    ("Back up the library…", "backup"),
)


class SafekeepingCommands(Provider):
    """Check and back up, in the command palette (they have no keys)."""

    def _run(self, what: str) -> None:
        safekeeping = host(self.app).safekeeping
        if what == "check":
            safekeeping.start_check()
        else:
            safekeeping.start_backup()

    def _hits(self) -> list[tuple[str, str, Any]]:
        safekeeping = host(self.app).safekeeping
        return [
            (name, safekeeping.describe(what), partial(self._run, what)) for name, what in COMMANDS
        ]

    async def discover(self) -> Hits:
        for name, help_text, run in self._hits():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, run in self._hits():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)
