"""An upload batch the app runs whether or not its dialog is shown.

Importing a camera folder takes minutes; the dialog can be hidden and the library
browsed meanwhile. The job belongs to the app, not to the dialog: its worker, its
counts and its log outlive the dialog, which is only a view of them and can be
opened again. While it runs the status line shows its progress.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text
from textual.timer import Timer

from imagerepo_tui.errors import DatabaseUnavailableError
from imagerepo_tui.files import find_upload_files
from imagerepo_tui.records import FileEntry, ImageInfo, NewMetadata, UploadResult
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.paths import looks_like_image
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.units import human_size

if TYPE_CHECKING:
    from textual.app import App

    from imagerepo_tui.tui.widgets.gallery import Gallery

# New images reach the gallery, and progress the status line, once a second, not per
# file: every change under the dialog repaints the dimmed screen behind it, and
# per-file repaints of a fast batch kept keys waiting for 200-300 ms.
GALLERY_UPDATE_SECONDS = 1.0
LOG_LINES = 2000  # the dialog's log keeps the latest lines of a long import
SUMMARY_REFUSALS = 3  # refused files named in the notice that a hidden job ended


class UploadView(Protocol):
    """What the dialog showing a job is told, on the UI thread."""

    def job_started(self) -> None: ...
    def job_line(self, line: Text, advance: int) -> None: ...
    def job_finished(self) -> None: ...


class UploadJob:
    """One batch: files found under ``paths``, uploaded by a worker of ``app``."""

    def __init__(
        self,
        app: App[Any],
        paths: list[Path],
        *,
        recursive: bool,
        gallery: Gallery,
        metadata: NewMetadata | None = None,
    ) -> None:
        self.app = app
        self.paths = paths
        self.recursive = recursive
        self.gallery = gallery
        self.metadata = metadata or NewMetadata()
        self.cancel_event = threading.Event()
        self.running = True
        self.stopped = False  # cancelled, or cut short by an error
        self.counts = {"created": 0, "duplicate": 0, "error": 0}
        self.files = 0
        self.total_bytes = 0
        self.done_bytes = 0
        self.lines: deque[Text] = deque(maxlen=LOG_LINES)
        # The first few "name: why", for the summary of a hidden job.
        self.refused: list[str] = []
        self.view: UploadView | None = None
        self._landed: list[ImageInfo] = []
        self._timer: Timer | None = None

    # -- what the dialog and the status line show ---------------------------------------

    @property
    def done_files(self) -> int:
        return sum(self.counts.values())

    def title(self) -> str:
        if self.running:
            title = f"Uploading {self.files} file{'s' if self.files != 1 else ''}"
            title += f" ({human_size(self.total_bytes)})"
            if self.metadata.collection:
                title += f" into {visible(self.metadata.collection)}"
            return title + "…"
        c = self.counts
        verb = "Stopped" if self.stopped else "Done"
        return f"{verb}: {c['created']} created, {c['duplicate']} duplicate, {c['error']} refused"

    def summary(self) -> str:
        """The title, and the first few files refused with their reasons."""
        lines = [self.title(), *self.refused]
        if self.counts["error"] > len(self.refused):
            lines.append(f"… and {self.counts['error'] - len(self.refused)} more")
        return "\n".join(lines)

    def progress_text(self) -> str:
        """The status line's words for a job under way."""
        if not self.files:
            return "uploading: finding files…"
        percent = 100 * self.done_bytes // max(1, self.total_bytes)
        return f"uploading {self.done_files:,}/{self.files:,} files ({percent}%)"

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        self._timer = self.app.set_interval(GALLERY_UPDATE_SECONDS, self._tick)
        self._show_progress()
        self.app.run_worker(
            self._upload, thread=True, exclusive=True, group="upload", exit_on_error=False
        )

    def cancel(self) -> None:
        self.cancel_event.set()

    def _entries(self) -> list[FileEntry]:
        found = find_upload_files(self.paths, recursive=self.recursive)
        if not self.recursive:
            return list(found)
        # In folders only image-looking files are meant; named files are always tried.
        wanted = set(self.paths)
        return [e for e in found if e.path in wanted or looks_like_image(e.path)]

    def _upload(self) -> None:
        app = self.app
        with (
            app.writes.writing(),  # type: ignore[attr-defined]
            report_errors(app, on_error=lambda: self._finished(failed=True)),
        ):
            entries = self._entries()
            total = sum(entry.size for entry in entries)
            app.call_from_thread(self._started, len(entries), total)
            repository = app.repository  # type: ignore[attr-defined]
            if repository is None:
                raise DatabaseUnavailableError("the database is not connected")
            results = repository.upload_files(entries, self.metadata)
            try:
                for result in results:
                    app.call_from_thread(self._result, result)
                    if self.cancel_event.is_set():
                        break
            finally:
                results.close()  # stops the read-ahead of files not yet stored
            app.call_from_thread(self._finished)

    # -- on the UI thread ----------------------------------------------------------------

    def _started(self, count: int, total: int) -> None:
        self.files, self.total_bytes = count, total
        self._show_progress()
        if self.view is not None:
            self.view.job_started()

    def _result(self, result: UploadResult) -> None:
        self.counts[result.status] += 1
        advance = max(1, result.size)
        self.done_bytes += advance
        name = visible(str(result.path))
        if result.status == "created" and result.image is not None:
            line = Text.assemble(("created    ", "green"), name)
            self._landed.append(result.image)
        elif result.status == "duplicate":
            line = Text.assemble(("duplicate  ", "yellow"), name)
        else:
            line = Text.assemble(("refused    ", "red"), name, (f": {result.error}", "red"))
            if len(self.refused) < SUMMARY_REFUSALS:
                self.refused.append(f"{name}: {result.error}")
        self.lines.append(line)
        if self.view is not None:
            self.view.job_line(line, advance)

    def _finished(self, failed: bool = False) -> None:
        self._show_landed()
        if self._timer is not None:
            self._timer.stop()
        self.running = False
        self.stopped = failed or self.cancel_event.is_set()
        self.app.activity = ""  # type: ignore[attr-defined]
        if self.gallery.stale:  # a filtered list: which uploads match is the database's call
            self.gallery.reload(self.app.repository)  # type: ignore[attr-defined]
        if self.view is not None:
            self.view.job_finished()
        else:  # hidden: say how it ended, and what was refused
            self.app.notify(
                self.summary(),
                title="Upload",
                severity="warning" if self.stopped or self.counts["error"] else "information",
                markup=False,
            )

    def _show_progress(self) -> None:
        if self.running:
            self.app.activity = self.progress_text()  # type: ignore[attr-defined]

    def _tick(self) -> None:
        self._show_progress()
        self._show_landed()

    def _show_landed(self) -> None:
        for info in self._landed:
            self.gallery.add_new(info)
        self._landed.clear()
