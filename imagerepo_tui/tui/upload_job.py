"""An upload batch the app runs whether or not its dialog is shown, and the one scan
that says which files a batch is made of.

Importing a camera folder takes minutes; the dialog can be hidden and the library
browsed meanwhile. The job belongs to the app, not to the dialog: its worker, its
counts and its log outlive the dialog, which is only a view of them and can be
opened again. While it runs the status line shows its progress. The gallery hears of
it through messages posted to the screen that started it (``ImagesLanded``,
``UploadFinished``): the job knows no widget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Generator
from pathlib import Path
from typing import Protocol

from rich.text import Text
from textual.message import Message
from textual.message_pump import MessagePump
from textual.timer import Timer

from imagerepo_tui.files import find_upload_files
from imagerepo_tui.records import FileEntry, ImageInfo, NewMetadata, UploadResult
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import AppHost, require_repository
from imagerepo_tui.tui.paths import looks_like_image
from imagerepo_tui.tui.recent_folders import remember_upload
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.units import human_size

# New images reach the gallery, and progress the status line, once a second, not per
# file: every change under the dialog repaints the dimmed screen behind it, and
# per-file repaints of a fast batch kept keys waiting for 200-300 ms.
GALLERY_UPDATE_SECONDS = 1.0
LOG_LINES = 2000  # the dialog's log keeps the latest lines of a long import
SUMMARY_REFUSALS = 3  # refused files named in the notice that a hidden job ended


def find_images(paths: list[Path], *, recursive: bool) -> list[FileEntry]:
    """The files a batch uploads: what ``paths`` name, and in folders (``recursive``)
    only image-looking files. Entries that cannot be read stay, to be reported."""
    found = find_upload_files(paths, recursive=recursive)
    if not recursive:
        return list(found)
    wanted = set(paths)  # named files are always tried
    return [e for e in found if e.path in wanted or looks_like_image(e.path)]


class ImagesLanded(Message):
    """Images a batch has stored since it last said (at most once a second)."""

    def __init__(self, images: list[ImageInfo]) -> None:
        self.images = images
        super().__init__()


class UploadFinished(Message):
    """A batch ended: done, stopped, or cut short by an error."""


class UploadView(Protocol):
    """What the dialog showing a job is told, on the UI thread."""

    def job_started(self) -> None: ...
    def job_line(self, line: Text, advance: int) -> None: ...
    def job_finished(self) -> None: ...


class UploadJob:
    """One batch, uploaded by a worker of ``app``: ``entries`` when already scanned, else
    what ``find_images(paths)`` finds. ``listener`` hears what lands and the end."""

    def __init__(
        self,
        app: AppHost,
        paths: list[Path],
        *,
        recursive: bool,
        listener: MessagePump,
        metadata: NewMetadata | None = None,
        entries: list[FileEntry] | None = None,
    ) -> None:
        self.app = app
        self.paths = paths
        self.recursive = recursive
        self.listener = listener
        self.metadata = metadata or NewMetadata()
        self._entries = entries
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

    def _upload(self) -> None:
        app = self.app
        with (
            app.writes.writing(),
            report_errors(app, on_error=lambda: self._finished(failed=True)),
        ):
            remember_upload(self.paths)  # where the picker opens next time
            entries = self._entries
            if entries is None:
                entries = find_images(self.paths, recursive=self.recursive)
            total = sum(entry.size for entry in entries)
            app.call_from_thread(self._started, len(entries), total)
            repository = require_repository(app)
            results = repository.upload_files(entries, self.metadata)
            try:
                for result in results:
                    app.call_from_thread(self._result, result)
                    if self.cancel_event.is_set():
                        break
            finally:
                if isinstance(results, Generator):  # typed as an Iterator by the core
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
        self.app.activity = ""
        self.listener.post_message(UploadFinished())
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
            self.app.activity = self.progress_text()

    def _tick(self) -> None:
        self._show_progress()
        self._show_landed()

    def _show_landed(self) -> None:
        if self._landed:
            self.listener.post_message(ImagesLanded(self._landed))
            self._landed = []


class Uploads:
    """The app's batches, one at a time: the latest, running or done (its dialog may be
    hidden). The app owns it; the browse screen starts batches in it."""

    def __init__(self) -> None:
        self.job: UploadJob | None = None

    def running(self) -> UploadJob | None:
        """The batch under way, if any."""
        job = self.job
        return job if job is not None and job.running else None
