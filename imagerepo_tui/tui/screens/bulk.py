"""A bulk action running in a worker: a progress bar, one line per failed image,
escape to stop. The images come from a ``Selection``, streamed, never all loaded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, RichLog, Static

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.selection import Selection

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository

# The UI is told of progress at most this often (a call per image would slow the walk).
UPDATE_SECONDS = 0.1


@dataclass(frozen=True)
class BulkJob:
    """``apply(repository, image_id)`` once per selected image."""

    title: str  # "Moving to the trash"
    done_verb: str  # "moved to the trash"
    selection: Selection
    apply: Callable[[ImageRepository, str], Any]


@dataclass(frozen=True)
class BulkOutcome:
    done: int
    failed: int
    stopped: bool


class BulkScreen(ModalScreen[BulkOutcome]):
    """Runs a ``BulkJob``; closes by itself when all went well, else shows what failed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Stop / close", id="bulk.cancel")
    ]

    def __init__(self, job: BulkJob) -> None:
        super().__init__()
        self.job = job
        self.cancel_event = threading.Event()
        self.running = True
        self.done = 0
        self.failed = 0
        self.stopped = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="bulk-dialog"):
            yield Static(Text(f"{self.job.title}…"), id="bulk-title", markup=False)
            yield ProgressBar(id="bulk-progress", show_eta=False)
            yield RichLog(id="bulk-log", markup=False, wrap=False, max_lines=2000)
            yield Static("escape stops", id="bulk-hint", markup=False)

    def on_mount(self) -> None:
        self._run()

    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False)
    def _run(self) -> None:
        job = self.job
        app = host(self)
        with (
            app.writes.writing(),
            report_errors(app, on_error=lambda: self._finished(stopped=True)),
        ):
            repository = require_repository(app)
            total = job.selection.count(repository)
            self.app.call_from_thread(self._started, total)
            done = 0
            errors: list[tuple[str, str]] = []
            last = time.monotonic()
            for image_id in job.selection.walk(repository):
                if self.cancel_event.is_set():
                    break
                try:
                    job.apply(repository, image_id)
                except DatabaseUnavailableError:
                    raise
                except ImageRepoError as error:  # this image only: the rest goes on
                    errors.append((image_id, str(error)))
                done += 1
                if time.monotonic() - last >= UPDATE_SECONDS:
                    self.app.call_from_thread(self._progress, done, errors)
                    errors, last = [], time.monotonic()
            self.app.call_from_thread(self._progress, done, errors)
            self.app.call_from_thread(self._finished, self.cancel_event.is_set())

    def _started(self, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(1, total), progress=0)
        plural = "s" if total != 1 else ""
        self.query_one("#bulk-title", Static).update(
            Text(f"{self.job.title}: {total:,} image{plural}…")
        )

    def _progress(self, done: int, errors: list[tuple[str, str]]) -> None:
        self.failed += len(errors)
        self.done = done - self.failed
        bar = self.query_one(ProgressBar)
        bar.update(total=max(bar.total or 1, done), progress=done)
        log = self.query_one(RichLog)
        for image_id, message in errors:
            log.write(Text.assemble(("failed  ", "red"), image_id, "  ", visible(message)))

    def _finished(self, stopped: bool) -> None:
        self.running = False
        self.stopped = stopped
        outcome = BulkOutcome(self.done, self.failed, stopped)
        if not stopped and not self.failed:
            self.dismiss(outcome)
            return
        verb = "Stopped" if stopped else "Done"
        summary = f"{verb}: {self.done:,} {self.job.done_verb}, {self.failed:,} failed"
        self.query_one("#bulk-title", Static).update(Text(summary, style="bold"))
        self.query_one("#bulk-hint", Static).update(Text("escape closes"))

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#bulk-hint", Static).update(Text("stopping…"))
        else:
            self.dismiss(BulkOutcome(self.done, self.failed, self.stopped))
