"""Uploading: a file picker (DirectoryTree filtered to images, several marked with
space; ``~`` home, ``ctrl+l`` a typed path, ``r`` recent folders), a single-file picker
for replacing content, and the progress screen."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text, TextType
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DirectoryTree, ProgressBar, RichLog, Static
from textual.widgets._tree import TreeNode
from textual.widgets.directory_tree import DirEntry

from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.paths import looks_like_image
from imagerepo_tui.tui.recent_folders import current_folder, recent_folders, start_folder
from imagerepo_tui.tui.screens.recent import RecentFoldersScreen
from imagerepo_tui.tui.upload_job import LOG_LINES, UploadJob
from imagerepo_tui.tui.widgets.file_preview import FilePreview
from imagerepo_tui.tui.widgets.folder_field import FolderField
from imagerepo_tui.tui.widgets.keys import KeysFooter
from imagerepo_tui.units import human_size


@dataclass(frozen=True)
class UploadRequest:
    """What the picker chose: marked files, or one folder to import recursively."""

    paths: tuple[Path, ...]
    recursive: bool = False


class ImageTree(DirectoryTree):
    """A DirectoryTree of folders and image files, with marks."""

    # The tree's own space binding (expand) would win over the screen's: take it here.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "screen.mark", "Mark", id="picker.mark")
    ]

    def __init__(self, path: Path, *, id: str | None = None) -> None:
        self.show_all = False
        self.marked: dict[Path, int] = {}  # path -> size in bytes
        super().__init__(path, id=id)

    def filter_paths(self, paths: Any) -> list[Path]:
        shown = []
        for path in paths:
            if path.name.startswith("."):
                continue  # hidden files: caches and sidecars, never wanted here
            try:
                if path.is_dir() or self.show_all or looks_like_image(path):
                    shown.append(path)
            except OSError:
                continue
        return shown

    def process_label(self, label: TextType) -> Text:
        """Names come straight from the disk: escaped (an ESC or BEL in a file name
        would drive the terminal) and plain text, never markup. Whole, too: a newline
        in a name is escaped rather than cutting the label short."""
        return Text(visible(label if isinstance(label, str) else label.plain))

    def render_label(self, node: TreeNode[DirEntry], base_style: Any, style: Any) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is not None and node.data.path in self.marked:
            return Text.assemble(("✓ ", "bold green"), label)
        return label


class UploadPickerScreen(Screen[UploadRequest | None]):
    """Pick images to upload: space marks files, f imports the highlighted folder."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,U", "upload", "Upload", id="picker.upload"),
        Binding("f", "folder", "Upload folder", id="picker.folder"),
        Binding("a", "toggle_all", "All files", id="picker.all_files"),
        Binding("backspace", "parent", "Parent", id="picker.parent"),
        Binding("tilde", "home", "Home", id="picker.home"),
        Binding("ctrl+l", "path", "Path", id="picker.path"),
        Binding("r,ctrl+o", "recent", "Recent", id="picker.recent"),
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
    ]
    TITLE_TEXT = "Upload images: space marks files, ctrl+s uploads, f imports a whole folder"

    def __init__(self, graphics: str, start: Path | None = None) -> None:
        super().__init__()
        self.graphics = graphics
        # Where the last upload came from is looked up after the first frame, off the
        # UI thread: it reads the state file and checks the folder is there, which a
        # hung network share could make wait for minutes. Meanwhile: the current folder.
        self.start = start or current_folder()
        self._look_up_start = start is None

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, id="picker-title", markup=False)
        with Horizontal(id="picker-panes"):
            yield ImageTree(self.start, id="tree")
            yield FilePreview(self.graphics, id="file-preview")
        yield FolderField(id="folder-field")
        with Horizontal(id="picker-actions"):
            yield Static("", id="picker-summary", markup=False)
            yield Button("Upload 0 files", variant="primary", id="upload", disabled=True)
        yield KeysFooter(compact=True)  # compact: its eleven keys and Quit fit in 120 columns

    def on_mount(self) -> None:
        self.image_tree.focus()
        self._summarise()
        self.query_one(FilePreview).show(self.start)
        if self._look_up_start:
            self._find_start()

    @work(thread=True, exclusive=True, group="start-folder", exit_on_error=False)
    def _find_start(self) -> None:
        folder = start_folder()
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._open_start, folder)

    def _open_start(self, folder: Path) -> None:
        # Not once the user has gone somewhere else themselves.
        if folder != self.start and Path(self.image_tree.path) == self.start:
            self.go_to(folder)

    @property
    def image_tree(self) -> ImageTree:
        return self.query_one(ImageTree)

    def _highlighted_path(self) -> Path | None:
        node = self.image_tree.cursor_node
        return node.data.path if node is not None and node.data is not None else None

    @on(DirectoryTree.NodeHighlighted)
    def _highlight(self, event: DirectoryTree.NodeHighlighted[DirEntry]) -> None:
        data = event.node.data
        self.query_one(FilePreview).show(data.path if data is not None else None)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._toggle(event.path)

    def _toggle(self, path: Path) -> None:
        tree = self.image_tree
        if path in tree.marked:
            del tree.marked[path]
        else:
            try:
                tree.marked[path] = path.stat().st_size
            except OSError as error:
                self.notify(f"cannot read {visible(str(path))}: {error.strerror}", markup=False)
                return
        tree.refresh()
        self._summarise()

    def _summarise(self) -> None:
        marked = self.image_tree.marked
        count, size = len(marked), sum(marked.values())
        label = f"Upload {count} file{'s' if count != 1 else ''} ({human_size(size)})"
        button = self.query_one("#upload", Button)
        button.label = label
        button.disabled = count == 0
        where = visible(str(self.image_tree.path))
        shown = "all files" if self.image_tree.show_all else "image files"
        self.query_one("#picker-summary", Static).update(Text(f"{where}  ·  showing {shown}"))

    def action_mark(self) -> None:
        path = self._highlighted_path()
        if path is not None and not path.is_dir():
            self._toggle(path)
            self.image_tree.action_cursor_down()

    @on(Button.Pressed, "#upload")
    def action_upload(self) -> None:
        marked = tuple(self.image_tree.marked)
        if not marked:
            path = self._highlighted_path()
            if path is None or path.is_dir():
                self.notify("Mark files with space first (or f for a whole folder).")
                return
            marked = (path,)
        self.dismiss(UploadRequest(marked))

    def action_folder(self) -> None:
        path = self._highlighted_path()
        if path is not None and not path.is_dir():
            path = path.parent
        if path is not None:
            self.dismiss(UploadRequest((path,), recursive=True))

    def action_toggle_all(self) -> None:
        self.image_tree.show_all = not self.image_tree.show_all
        self.image_tree.reload()
        self._summarise()

    def action_parent(self) -> None:
        self.go_to(Path(self.image_tree.path).resolve().parent)

    def go_to(self, folder: Path) -> None:
        """Show ``folder`` (already known to be one) in the tree."""
        self.image_tree.path = folder
        self.image_tree.focus()
        self._summarise()
        self.query_one(FilePreview).show(folder)  # the tree's cursor is on it

    def action_home(self) -> None:
        self.go_to(Path(os.path.expanduser("~")))

    def action_path(self) -> None:
        self.query_one(FolderField).open(Path(self.image_tree.path))

    @on(FolderField.Chosen)
    def _path_chosen(self, event: FolderField.Chosen) -> None:
        self.go_to(event.path)

    @on(FolderField.Closed)
    def _path_closed(self) -> None:
        self.image_tree.focus()

    @work(thread=True, exclusive=True, group="recent-folders", exit_on_error=False)
    def action_recent(self) -> None:
        folders = recent_folders()  # checks each is still there: not on the UI thread
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._show_recent, folders)

    def _show_recent(self, folders: list[Path]) -> None:
        if not folders:
            self.notify("No recent folders yet: they are the folders uploads came from.")
            return

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self.go_to(folder)

        self.app.push_screen(RecentFoldersScreen(folders), chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickFileScreen(UploadPickerScreen):
    """Pick one image file (to replace an image's content): enter chooses."""

    TITLE_TEXT = "Replace content: enter chooses a file, escape cancels"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#picker-actions").display = False

    def _toggle(self, path: Path) -> None:
        self.dismiss(UploadRequest((path,)))

    def action_mark(self) -> None:
        path = self._highlighted_path()
        if path is not None and not path.is_dir():
            self._toggle(path)

    def action_folder(self) -> None:
        self.notify("Choose one file to replace the content with.")


class UploadScreen(ModalScreen[None]):
    """The dialog of an upload job: progress bar, one line per file. Escape cancels
    (or closes, once done); ``b`` hides it while the upload goes on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel / close", id="upload.cancel"),
        Binding("b", "hide", "Hide, keep uploading", id="upload.hide"),
    ]

    def __init__(self, job: UploadJob) -> None:
        super().__init__()
        self.job = job

    @property
    def running(self) -> bool:
        return self.job.running

    @property
    def counts(self) -> dict[str, int]:
        return self.job.counts

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Uploading…", id="upload-title", markup=False)
            yield ProgressBar(id="upload-progress", show_eta=False)
            yield RichLog(id="upload-log", markup=False, wrap=False, max_lines=LOG_LINES)
            yield Static("", id="upload-hint", markup=False)

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.job.lines:  # what happened while the dialog was hidden
            log.write(line)
        self.job.view = self
        if self.job.files:
            self.job_started()
            self.query_one(ProgressBar).update(progress=self.job.done_bytes)
        if not self.job.running:
            self.job_finished()
        else:
            self._hint("escape cancels · b hides it, the upload goes on")

    def on_unmount(self) -> None:
        if self.job.view is self:
            self.job.view = None

    def _hint(self, text: str) -> None:
        self.query_one("#upload-hint", Static).update(Text(text))

    # -- told by the job ------------------------------------------------------------------

    def job_started(self) -> None:
        self.query_one(ProgressBar).update(total=max(1, self.job.total_bytes), progress=0)
        self.query_one("#upload-title", Static).update(Text(self.job.title()))
        if self.job.files == 0:
            self.query_one(ProgressBar).update(total=1, progress=1)

    def job_line(self, line: Text, advance: int) -> None:
        self.query_one(ProgressBar).advance(advance)
        self.query_one(RichLog).write(line)

    def job_finished(self) -> None:
        self.query_one("#upload-title", Static).update(Text(self.job.title(), style="bold"))
        self._hint("escape closes")
        if not self.job.stopped:
            bar = self.query_one(ProgressBar)
            bar.update(progress=bar.total or 1)
        self.refresh_bindings()

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide":
            return self.job.running  # once done there is nothing to keep going
        return True

    def action_cancel(self) -> None:
        if self.job.running:
            self.job.cancel()
            self._hint("cancelling…")
        else:
            self._close()

    def action_hide(self) -> None:
        if self.job.running:
            self._close()
            self.app.notify("The upload goes on; u shows it again.", title="Upload")

    def _close(self) -> None:
        # Let go of the job before the dialog goes: its widgets are taken down over
        # the next few frames, and a result arriving meanwhile must not be written
        # to a log that is no longer there (that ended the whole upload).
        if self.job.view is self:
            self.job.view = None
        self.dismiss(None)
