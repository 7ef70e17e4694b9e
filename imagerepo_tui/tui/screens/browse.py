"""The main screen: gallery, preview and metadata panes, status line and keys.

Search, collections, marks, bulk actions and the trash view are its ``Organiser``
(``organise.py``); their bindings are here, with the rest. Uploads start here and are
heard of through the messages of their ``UploadJob``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from imagerepo_tui.errors import PermissionDeniedError
from imagerepo_tui.records import FileEntry, ImageInfo, NewMetadata
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, repository_or_warn, require_repository
from imagerepo_tui.tui.paths import parse_pasted_paths
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.screens.judging import JudgingScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen, EditScreen, ExportScreen
from imagerepo_tui.tui.screens.organise import Organiser, applies
from imagerepo_tui.tui.screens.preview import FullPreviewScreen
from imagerepo_tui.tui.upload_job import (
    ImagesLanded,
    UploadFinished,
    UploadJob,
    Uploads,
    find_images,
)
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.keys import KeysFooter
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from imagerepo_tui.tui.widgets.preview import PreviewPane
from imagerepo_tui.tui.widgets.rows import header_text
from imagerepo_tui.tui.widgets.search import SearchBar, SearchInput
from imagerepo_tui.tui.widgets.status import StatusLine
from imagerepo_tui.units import human_size

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository
    from imagerepo_tui.tui.screens.upload import UploadRequest


class GalleryHeader(Static):
    """Column titles above the gallery, sized like its rows (with an owner column in a
    library with accounts)."""

    accounts = False

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        self.update(header_text(self.size.width, self.accounts))


class BrowseScreen(JudgingScreen):
    """Browse the library; every change goes through a modal and a worker (ratings,
    favourites and turns: the keys of ``JudgingScreen``)."""

    # Keys shared by two bindings (r, u, D) do one thing in the library and another
    # in the trash view: ``check_action`` turns off the one that does not apply.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_preview", "View", id="browse.view"),
        Binding("slash", "search", "Search", id="browse.search"),
        Binding("c", "collections", "Collections", id="browse.collections"),
        Binding("t", "toggle_trash", "Trash view", id="browse.trash_view"),
        Binding("u", "upload", "Upload", id="browse.upload"),
        Binding("r,u", "restore", "Restore", id="browse.restore"),
        Binding("e", "edit", "Edit", id="browse.edit", show=False),
        Binding("r", "replace", "Replace", id="browse.replace", show=False),
        Binding("x", "export", "Export", id="browse.export", show=False),
        Binding("d,delete", "delete", "Trash", id="browse.delete"),
        Binding("D,shift+delete", "purge", "Delete for good", id="browse.purge", show=False),
        Binding("E", "empty_trash", "Empty trash", id="browse.empty_trash"),
        Binding("space", "mark", "Mark", id="browse.mark", show=False),
        Binding("a", "mark_all", "Mark all", id="browse.mark_all", show=False),
        Binding("escape", "clear_marks", "Clear marks", id="browse.clear_marks", show=False),
        Binding("T", "tag", "Tag / untag", id="browse.tag", show=False),
        Binding("plus", "collect", "Add to collection", id="browse.collect", show=False),
        Binding("minus", "uncollect", "Remove from collection", id="browse.uncollect", show=False),
        Binding("p", "share", "Public / private", id="browse.share", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="browse.refresh", show=False),
        Binding("tab", "app.focus_next", "Next pane", id="browse.next_pane", show=False),
    ]

    AUTO_FOCUS = "#gallery"  # one focus change as it opens: each rebuilds the footer

    def __init__(self, graphics: str, uploads: Uploads) -> None:
        super().__init__()
        self.graphics = graphics
        self.uploads = uploads  # the app's: a batch outlives its dialog
        self.organiser = Organiser(self)

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="panes"):
            with Vertical(id="gallery-pane"):
                yield SearchBar(id="search")
                yield GalleryHeader(id="gallery-header", markup=False)
                yield Gallery(self.graphics, id="gallery")
            with Vertical(id="side"):
                yield PreviewPane(self.graphics, id="preview")
                with VerticalScroll(id="metadata-scroll"):
                    yield MetadataPane(id="metadata")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#gallery-pane").border_title = "Images"
        self.preview.border_title = "Preview"
        self.query_one("#metadata-scroll").border_title = "Details"
        self.metadata.show(None)

    @property
    def gallery(self) -> Gallery:
        return self.query_one(Gallery)

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one(SearchBar)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def metadata(self) -> MetadataPane:
        return self.query_one(MetadataPane)

    @property
    def preview(self) -> PreviewPane:
        return self.query_one(PreviewPane)

    # -- which actions apply, and what the status line says -------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        gallery = self.gallery
        return applies(action, trash=gallery.trash, accounts=gallery.viewer is not None)

    def update_view(self) -> None:
        self.organiser.update_view()

    # -- search, collections, marks, trash: the organiser's -----------------------------

    def action_search(self) -> None:
        self.organiser.open_search()

    def action_collections(self) -> None:
        self.organiser.choose_collection()

    def action_collect(self) -> None:
        self.organiser.collect(remove=False)

    def action_uncollect(self) -> None:
        self.organiser.collect(remove=True)

    def action_mark(self) -> None:
        self.organiser.mark()

    def action_mark_all(self) -> None:
        self.organiser.mark_all()

    def action_clear_marks(self) -> None:
        self.organiser.clear_marks()

    def action_tag(self) -> None:
        self.organiser.tag()

    def action_toggle_trash(self) -> None:
        self.organiser.toggle_trash()

    def action_restore(self) -> None:
        self.organiser.restore()

    def action_empty_trash(self) -> None:
        self.organiser.empty_trash()

    # -- the library -----------------------------------------------------------------------

    def on_repository(self, repository: ImageRepository) -> None:
        """Connected, reconnected or logged in: read the list again, showing owners and
        public/private markers when the library has accounts."""
        user = repository.current_user if repository.has_accounts else None
        viewer = user.id if user is not None else None
        if viewer != self.gallery.viewer:
            self.gallery.marks.clear()  # another user's marks mean nothing here
            self.gallery.viewer = self.metadata.viewer = viewer
            header = self.query_one(GalleryHeader)
            header.accounts = viewer is not None
            header.redraw()
            self.update_view()
            self.app.refresh_bindings()
        self.gallery.reload(repository)

    # -- what the gallery says ----------------------------------------------------------

    @on(Gallery.Highlighted)
    def _highlighted(self, event: Gallery.Highlighted) -> None:
        self.metadata.show(event.info)
        self.preview.show(event.info)
        screen = self.app.screen
        if isinstance(screen, FullPreviewScreen):
            screen.show(event.info)

    @on(Gallery.Counted)
    def _counted(self, event: Gallery.Counted) -> None:
        if not self.gallery.filtered:
            host(self).image_count = event.total
        self.update_view()

    @on(Input.Submitted, "#search-input")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.organiser.apply_search(event.value)

    @on(SearchInput.Cleared)
    def _search_cleared(self) -> None:
        self.organiser.clear_search()

    @on(SearchInput.SaveRequested)
    def _search_saved(self, event: SearchInput.SaveRequested) -> None:
        self.organiser.save_search(event.text)

    def _selected(self) -> ImageInfo | None:
        info = self.gallery.current
        if info is None:
            self.notify("No image selected.", severity="warning")
        return info

    def _repository(self) -> ImageRepository | None:
        return repository_or_warn(self)

    # -- viewing ------------------------------------------------------------------------

    def action_open_preview(self) -> None:
        info = self._selected()
        if info is not None:
            self.app.push_screen(FullPreviewScreen(self.gallery, self.graphics, info))

    def action_refresh(self) -> None:
        repository = self._repository()
        if repository is not None:
            self.gallery.reload(repository)

    # -- uploading ----------------------------------------------------------------------

    def action_upload(self) -> None:
        # The upload screens are imported when first used, here and below: they and
        # what they import cost the first frame 9 ms, and many sessions never upload.
        from imagerepo_tui.tui.screens.upload import UploadPickerScreen, UploadScreen

        job = self.uploads.running()
        if job is not None:  # one at a time: show the one under way
            self.app.push_screen(UploadScreen(job))
        elif self._repository() is not None:
            self.app.push_screen(UploadPickerScreen(self.graphics), self._upload_chosen)

    def _upload_chosen(self, request: UploadRequest | None) -> None:
        if request is None:
            return
        if request.recursive:
            self.confirm_paths(list(request.paths))  # says how many images first
        else:
            self.start_upload(list(request.paths), recursive=False)

    def start_upload(
        self, paths: list[Path], *, recursive: bool, entries: list[FileEntry] | None = None
    ) -> None:
        """Upload what ``paths`` name (``entries``, when already scanned), in its dialog."""
        from imagerepo_tui.tui.screens.upload import UploadScreen

        if self._upload_under_way():
            return
        # Browsing a collection: what is uploaded goes into it.
        collection = None if self.gallery.trash else self.organiser.collection_name
        job = UploadJob(
            host(self),
            paths,
            recursive=recursive,
            listener=self,
            metadata=NewMetadata(collection=collection),
            entries=entries,
        )
        self.uploads.job = job
        job.start()
        self.app.push_screen(UploadScreen(job))

    @on(ImagesLanded)
    def _images_landed(self, event: ImagesLanded) -> None:
        for info in event.images:
            self.gallery.add_new(info)

    @on(UploadFinished)
    def _upload_finished(self) -> None:
        if self.gallery.stale:  # a filtered list: which uploads match is the database's call
            self.gallery.reload(host(self).repository)

    def _upload_under_way(self) -> bool:
        job = self.uploads.running()
        if job is None:
            return False
        self.notify(
            f"An upload is under way ({job.done_files:,} of {job.files:,} files): "
            "u shows it. Start the next one when it is done.",
            severity="warning",
            markup=False,
        )
        return True

    def on_paste(self, event: events.Paste) -> None:
        """Paths pasted or dropped into the terminal: confirm, then upload."""
        paths = parse_pasted_paths(event.text)
        if not paths:
            if event.text.strip():
                self.notify("The paste names no existing file or folder.", severity="warning")
            return
        event.stop()
        if self._repository() is not None and not self._upload_under_way():
            self.confirm_paths(paths)

    @work(thread=True, exclusive=True, group="count-files", exit_on_error=False)
    def confirm_paths(self, paths: list[Path]) -> None:
        """Find what the paths hold (folders recursively) and ask; the files found are
        the ones uploaded, not looked for again."""
        with report_errors(host(self)):
            entries = find_images(paths, recursive=True)
            self.app.call_from_thread(self._ask_upload, paths, entries)

    def _ask_upload(self, paths: list[Path], entries: list[FileEntry]) -> None:
        readable = [entry for entry in entries if not entry.error]
        count, total = len(readable), sum(entry.size for entry in readable)
        if count == 0:
            self.notify("No image files there.", severity="warning")
            return
        names = ", ".join(visible(str(p)) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        question = Text(
            f"Upload {count} image{'s' if count != 1 else ''} ({human_size(total)}) from {names}?"
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self.start_upload(paths, recursive=True, entries=entries)

        self.app.push_screen(ConfirmScreen(question, yes_label="Upload"), answer)

    # -- changing -----------------------------------------------------------------------

    def action_delete(self, purge: bool = False) -> None:
        """Move to the trash (restorable), or with ``purge`` delete for good, bytes too."""
        if self.gallery.marks.active:
            if self._repository() is not None:
                self.organiser.bulk_delete(purge=purge)
            return
        info = self._selected()
        if info is None or self._repository() is None or not self._may_change(info):
            return
        name = (visible(info.title or info.filename), "bold")
        if purge:
            question = Text.assemble(
                "Delete ",
                name,
                f" ({info.id}) for good, its stored bytes too? ",
                ("This cannot be undone.", "bold red"),
            )
        else:
            question = Text.assemble("Move ", name, f" ({info.id}) to the trash?")

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete(info, purge)

        label = "Delete for good" if purge else "Move to trash"
        self.app.push_screen(ConfirmScreen(question, yes_label=label, danger=True), answer)

    def action_purge(self) -> None:
        self.action_delete(purge=True)

    @work(thread=True, group="change", exit_on_error=False)
    def _delete(self, info: ImageInfo, purge: bool) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            repository = require_repository(app)
            repository.delete(info.id)
            if purge:
                repository.purge(info.id)
            self.app.call_from_thread(self._deleted, info, purge)

    def _deleted(self, info: ImageInfo, purge: bool) -> None:
        self.gallery.remove_image(info.id)
        where = "for good" if purge else "to the trash (t shows it, r restores)"
        verb = "Deleted" if purge else "Moved"
        self.notify(f"{verb} {visible(info.filename)} {where}", markup=False)

    def action_edit(self) -> None:
        info = self._selected()
        if info is None or self._repository() is None or not self._may_change(info):
            return

        def answer(changes: dict[str, Any] | None) -> None:
            if changes:
                self._edit(info, changes)

        self.app.push_screen(EditScreen(info), answer)

    @work(thread=True, group="change", exit_on_error=False)
    def _edit(self, info: ImageInfo, changes: dict[str, Any]) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            updated = require_repository(app).edit(info.id, **changes)
            self.app.call_from_thread(self._changed, updated, "Saved")

    def action_share(self) -> None:
        """Make the highlighted image public (every user sees it) or private again;
        with marks, choose which for all of them."""
        if self.gallery.marks.active:
            if self._repository() is not None:
                self.organiser.bulk_share()
            return
        info = self._selected()
        if info is not None and self._repository() is not None and self._may_change(info):
            self._share(info, not info.public)

    @work(thread=True, group="change", exit_on_error=False)
    def _share(self, info: ImageInfo, public: bool) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            repository = require_repository(app)
            try:
                updated = repository.set_public(info.id, public)
            except PermissionDeniedError:
                self.app.call_from_thread(self._not_yours, info)
                return
            self.app.call_from_thread(self._shared, updated)

    def _shared(self, info: ImageInfo) -> None:
        self.gallery.update_info(info)
        name = visible(info.title or info.filename)
        if info.public:
            self.notify(f"{name} is public now: every user can see it", markup=False)
        else:
            self.notify(f"{name} is private now: only you can see it", markup=False)

    def _may_change(self, info: ImageInfo) -> bool:
        """Only an image's owner may change it. The core refuses anything else anyway;
        asking first spares a dialog (an edit form filled in) that can only fail."""
        if self.gallery.viewer is None or info.owner == self.gallery.viewer:
            return True
        self._not_yours(info)
        return False

    def _not_yours(self, info: ImageInfo) -> None:
        owner = visible(info.owner_name or "another user")
        self.notify(
            f"{visible(info.title or info.filename)} belongs to {owner}: only its owner "
            "can change it.",
            title="Not allowed",
            severity="warning",
            markup=False,
        )

    def _changed(self, info: ImageInfo, verb: str) -> None:
        self.gallery.update_info(info)
        self.notify(f"{verb} {visible(info.filename)}", markup=False)

    def action_replace(self) -> None:
        from imagerepo_tui.tui.screens.upload import PickFileScreen

        info = self._selected()
        if info is None or self._repository() is None or not self._may_change(info):
            return

        def chosen(request: UploadRequest | None) -> None:
            if request is not None:
                self._replace(info, request.paths[0])

        self.app.push_screen(PickFileScreen(self.graphics), chosen)

    @work(thread=True, group="change", exit_on_error=False)
    def _replace(self, info: ImageInfo, path: Path) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            updated = require_repository(app).replace_content(info.id, path)
            self.app.call_from_thread(self._changed, updated, "Replaced the content of")

    def action_export(self) -> None:
        if self.gallery.marks.active:
            if self._repository() is not None:
                self.organiser.bulk_export()
            return
        info = self._selected()
        if info is not None and self._repository() is not None:
            self.app.push_screen(ExportScreen(visible(info.filename), info.id))
