"""The main screen's search, collections, marks, bulk actions and trash view.

``Organiser`` is a part of ``BrowseScreen``, which holds the bindings and message
handlers and hands their work to it: every database call runs in a thread worker of
the screen, every bulk action walks a ``Selection`` in a ``BulkScreen`` after one
question, and the gallery is read again afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.screen import Screen

from imagerepo_tui.files import ExportNames  # not via repository: that loads pymongo
from imagerepo_tui.query import QueryError
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import AppHost, host, repository_or_warn, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.screens.bulk import BulkJob, BulkOutcome, BulkScreen
from imagerepo_tui.tui.screens.collections import (
    CollectionChoice,
    CollectionsScreen,
    collection_query,
)
from imagerepo_tui.tui.screens.forms import (
    PromptScreen,
    TagChange,
    TagsScreen,
    VisibilityScreen,
)
from imagerepo_tui.tui.screens.modals import ConfirmScreen, ExportChoice, ExportScreen
from imagerepo_tui.tui.selection import Selection
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.search import SearchBar
from imagerepo_tui.tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository

# Actions that only make sense in one of the two views (their keys do other things).
TRASH_ONLY = frozenset({"restore", "empty_trash"})
LIBRARY_ONLY = frozenset(
    {
        *("upload", "replace", "edit", "delete", "tag", "collect", "uncollect", "collections"),
        *("share", "rate", "favorite", "rotate", "similar", "duplicates"),
    }
)
# Actions that only mean something in a library with accounts.
ACCOUNTS_ONLY = frozenset({"share"})


def applies(action: str, *, trash: bool, accounts: bool) -> bool:
    """Whether ``action`` means something in the view shown (``BrowseScreen.check_action``)."""
    if action in ACCOUNTS_ONLY and not accounts:
        return False
    if action in TRASH_ONLY:
        return trash
    if action in LIBRARY_ONLY:
        return not trash
    return True


def _plural(count: int, word: str = "image", words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


class Organiser:
    """Search, collections, marks, bulk actions and the trash of one ``BrowseScreen``
    (``screen``): its workers run there, its dialogs are pushed from there."""

    def __init__(self, screen: Screen[Any]) -> None:
        self.screen = screen
        # The collection being browsed (chosen with c), which uploads then go into.
        self.collection_name: str | None = None

    @property
    def gallery(self) -> Gallery:
        return self.screen.query_one(Gallery)

    @property
    def search_bar(self) -> SearchBar:
        return self.screen.query_one(SearchBar)

    @property
    def status(self) -> StatusLine:
        return self.screen.query_one(StatusLine)

    @property
    def host(self) -> AppHost:
        return host(self.screen)

    def notify(self, message: str, **kwargs: Any) -> None:
        self.screen.notify(message, **kwargs)

    def _repository(self) -> ImageRepository | None:
        return repository_or_warn(self.screen)

    def _in_thread(self, group: str, work: Callable[[], None]) -> None:
        """Run ``work`` in a thread worker of the screen, one at a time per group."""
        self.screen.run_worker(work, thread=True, exclusive=True, group=group, exit_on_error=False)

    def _from_thread(self, callback: Callable[..., None], *args: Any) -> None:
        self.screen.app.call_from_thread(callback, *args)

    # -- the status line ------------------------------------------------------------------

    def update_view(self) -> None:
        """Tell the status line what the gallery lists and what is marked."""
        gallery = self.gallery
        parts: list[Text] = []
        if gallery.trash:
            parts.append(Text("TRASH", style="bold yellow"))
        if gallery.query is not None and self.collection_name is not None:
            parts.append(Text.assemble("collection ", (visible(self.collection_name), "bold")))
        elif gallery.query is not None:
            parts.append(Text.assemble("search ", (visible(gallery.query_text), "bold")))
        if gallery.filtered and gallery.loaded_once:
            total = gallery.rows.total
            if gallery.query is not None:
                parts.append(Text(_plural(total, "match", "matches")))
            else:
                parts.append(Text(_plural(total)))
        if gallery.marks.active:
            parts.append(Text(gallery.marks.describe(), style="bold green"))
        self.status.show_view(Text("  ").join(parts) if parts else None)
        pane = self.screen.query_one("#gallery-pane")
        pane.border_title = "Trash" if gallery.trash else "Images"

    # -- search ---------------------------------------------------------------------------

    def open_search(self) -> None:
        """Open the search box (enter applies, escape clears)."""
        self.search_bar.open()

    def apply_search(self, text: str, collection: str | None = None) -> None:
        if not text.strip():  # not stripped otherwise: error columns count from its start
            self.clear_search()
        elif self._repository() is not None:
            self._in_thread("search", partial(self._check_search, text, collection))

    def _check_search(self, text: str, collection: str | None) -> None:
        """Parse in a worker (collection names are looked up): a bad query is shown,
        the list stays."""
        with report_errors(self.host):
            try:
                query = require_repository(self.host).parse_query(text)
            except QueryError as error:
                self._from_thread(self._search_failed, str(error), error.column)
                return
            self._from_thread(self._search_ok, text, query, collection)

    def _search_failed(self, message: str, column: int) -> None:
        self.search_bar.open()
        self.search_bar.show_error(message, column)

    def _search_ok(self, text: str, query: Any, collection: str | None) -> None:
        bar = self.search_bar
        bar.show_error(None)
        bar.input.value = text
        bar.add_class("shown")
        self.collection_name = collection
        self._drop_search_marks()
        self.gallery.set_view(text.strip(), query, trash=self.gallery.trash)
        self.gallery.focus()
        self.update_view()

    def clear_search(self) -> None:
        self.search_bar.close()
        self.collection_name = None
        if self.gallery.query is not None:
            self._drop_search_marks()
            self.gallery.set_view("", None, trash=self.gallery.trash)
        self.gallery.focus()
        self.update_view()

    def _drop_search_marks(self) -> None:
        """ "All matches" belongs to the search it was made in; hand marks stay."""
        if self.gallery.marks.everything:
            self.gallery.marks.clear()
            self.gallery.refresh()

    def save_search(self, text: str) -> None:
        """Save the search box's text as a smart collection (its name asked for)."""
        if not text.strip():
            self.notify("Type a search first, then ctrl+s saves it.", severity="warning")
            return
        if self._repository() is None:
            return

        def named(name: str | None) -> None:
            if name and name.strip():
                self._in_thread("save-search", partial(self._save_search, name, text))

        question = Text.assemble("Save ", (visible(text), "bold"), " as a smart collection named:")
        self.screen.app.push_screen(PromptScreen(question, ok_label="Save"), named)

    def _save_search(self, name: str, text: str) -> None:
        with self.host.writes.writing(), report_errors(self.host):
            try:
                saved = require_repository(self.host).create_collection(name, query=text)
            except QueryError as error:
                self._from_thread(self._search_failed, str(error), error.column)
                return
            message = f"Saved as the smart collection {saved.name} ({saved.count:,} now)"
            self._from_thread(partial(self.notify, visible(message), markup=False))

    # -- near-duplicates ------------------------------------------------------------------

    def search_similar(self) -> None:
        """Search for images like the highlighted one: ``similar:ID``, in the search box
        for the user to see (and edit)."""
        image = self.gallery.current
        if image is not None:
            self.search_bar.input.value = f"similar:{image.id}"
            self.search_bar.add_class("shown")
            self.apply_search(f"similar:{image.id}")

    def open_duplicates(self, graphics: str) -> None:
        """The duplicates view; the list is read again if something was merged there."""
        from imagerepo_tui.tui.screens.duplicates import DuplicatesScreen

        def closed(merged: bool | None) -> None:
            repository = self._repository()
            if merged and repository is not None:
                self.gallery.reload(repository)

        self.screen.app.push_screen(DuplicatesScreen(graphics), closed)

    # -- collections ----------------------------------------------------------------------

    def choose_collection(self) -> None:
        """Browse a collection (or all images); create, rename, delete collections."""
        if self._repository() is None:
            return

        def chosen(choice: CollectionChoice | None) -> None:
            if choice is None:
                return
            if choice.name is None:
                self.clear_search()
            else:  # a smart one is browsed as the search it is: uploads stay out of it
                collection = None if choice.smart else choice.name
                self.apply_search(collection_query(choice.name), collection)

        screen = CollectionsScreen("Collections", with_all=True, current=self.collection_name)
        self.screen.app.push_screen(screen, chosen)

    def collect(self, *, remove: bool) -> None:
        """Add the marked (or highlighted) images to a collection, or remove them."""
        target = self._target()
        if target is None:
            return
        selection, what = target

        def chosen(choice: CollectionChoice | None) -> None:
            if choice is None or choice.name is None:
                return
            name = choice.name
            if remove:
                job = BulkJob(
                    f"Removing from {visible(name)}",
                    f"removed from {visible(name)}",
                    selection,
                    lambda repo, image_id: repo.remove_from_collection(name, [image_id]),
                )
            else:
                job = BulkJob(
                    f"Adding to {visible(name)}",
                    f"added to {visible(name)}",
                    selection,
                    lambda repo, image_id: repo.add_to_collection(name, [image_id]),
                )
            self.run_bulk(job, clear_marks=False)

        title = f"{'Remove' if remove else 'Add'} {what} {'from' if remove else 'to'} collection:"
        screen = CollectionsScreen(title, with_all=False, current=self.collection_name)
        self.screen.app.push_screen(screen, chosen)

    # -- marks ----------------------------------------------------------------------------

    def mark(self) -> None:
        """Mark or unmark the highlighted image, and move on."""
        info = self.gallery.current
        if info is None:
            return
        self.gallery.marks.toggle(info.id)
        self.gallery.action_cursor(1)
        self.gallery.refresh()
        self.update_view()

    def mark_all(self) -> None:
        """Mark every match of the current search (kept as the search, not as ids)."""
        if self._repository() is not None:
            work = partial(self._count_for_marks, self.gallery.query, self.gallery.trash)
            self._in_thread("mark-all", work)

    def _count_for_marks(self, query: Any, trash: bool) -> None:
        with report_errors(self.host):
            count = require_repository(self.host).count(query, trash=trash)
            self._from_thread(self._marked_all, query, trash, count)

    def _marked_all(self, query: Any, trash: bool, count: int) -> None:
        gallery = self.gallery
        if gallery.query is not query or gallery.trash != trash:
            return  # the view changed meanwhile
        gallery.marks.mark_all(query, trash=trash, matches=count)
        gallery.refresh()
        self.update_view()

    def clear_marks(self) -> None:
        """Clear the marks (or, with none, the search)."""
        if self.gallery.marks.active:
            self.gallery.marks.clear()
            self.gallery.refresh()
            self.update_view()
        elif self.gallery.query is not None:
            self.clear_search()

    def _target(self) -> tuple[Selection, str] | None:
        """The marked images, else the highlighted one, and how to name them."""
        if self._repository() is None:
            return None
        marks = self.gallery.marks
        if marks.active:
            return marks.snapshot(), f"{_plural(marks.count)} (marked)"
        info = self.gallery.current
        if info is None:
            self.notify("No image selected.", severity="warning")
            return None
        return Selection.one(info.id), visible(info.title or info.filename)

    # -- bulk actions ---------------------------------------------------------------------

    def run_bulk(self, job: BulkJob, *, clear_marks: bool) -> None:
        def finished(outcome: BulkOutcome | None) -> None:
            if clear_marks:
                self.gallery.marks.clear()
            self.gallery.reload(self.host.repository)
            self.update_view()
            if outcome is not None:
                failed = f", {outcome.failed:,} failed" if outcome.failed else ""
                stopped = " (stopped)" if outcome.stopped else ""
                self.notify(
                    f"{_plural(outcome.done)} {job.done_verb}{failed}{stopped}",
                    severity="warning" if outcome.failed else "information",
                    markup=False,
                )

        self.screen.app.push_screen(BulkScreen(job), finished)

    def _confirm_bulk(self, question: Text, label: str, job: BulkJob, *, danger: bool) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                self.run_bulk(job, clear_marks=True)

        self.screen.app.push_screen(ConfirmScreen(question, yes_label=label, danger=danger), answer)

    def bulk_delete(self, *, purge: bool) -> None:
        """Marked images to the trash, or (``purge``) deleted for good."""
        marks = self.gallery.marks
        selection = marks.snapshot()
        what = _plural(marks.count)
        if purge:
            in_trash = self.gallery.trash

            def purge_one(repo: ImageRepository, image_id: str) -> Any:
                if not in_trash:
                    repo.delete(image_id)
                return repo.purge(image_id)

            question = Text.assemble(
                f"Delete {what} (marked) for good, stored bytes too? ",
                ("This cannot be undone.", "bold red"),
            )
            job = BulkJob("Deleting for good", "deleted for good", selection, purge_one)
            self._confirm_bulk(question, "Delete for good", job, danger=True)
        else:
            question = Text(f"Move {what} (marked) to the trash?")
            job = BulkJob(
                "Moving to the trash",
                "moved to the trash",
                selection,
                lambda repo, image_id: repo.delete(image_id),
            )
            self._confirm_bulk(question, "Move to trash", job, danger=True)

    def tag(self) -> None:
        """Add and remove tags on the marked (or highlighted) images."""
        target = self._target()
        if target is None:
            return
        selection, what = target

        def chosen(change: TagChange | None) -> None:
            if change is None:
                return
            job = BulkJob(
                "Tagging",
                "tagged",
                selection,
                lambda repo, image_id: repo.edit(
                    image_id, add_tags=change.add, remove_tags=change.remove
                ),
            )
            self.run_bulk(job, clear_marks=False)

        self.screen.app.push_screen(TagsScreen(what), chosen)

    def bulk_share(self) -> None:
        """Make the marked images public or private (only the user's own can change)."""
        marks = self.gallery.marks
        selection, what = marks.snapshot(), f"{_plural(marks.count)} (marked)"

        def chosen(public: bool | None) -> None:
            if public is None:
                return
            word = "public" if public else "private"
            job = BulkJob(
                f"Making {word}",
                f"made {word}",
                selection,
                lambda repo, image_id: repo.set_public(image_id, public),
            )
            self.run_bulk(job, clear_marks=False)

        self.screen.app.push_screen(VisibilityScreen(what), chosen)

    def bulk_export(self) -> None:
        marks = self.gallery.marks
        selection, what = marks.snapshot(), f"{_plural(marks.count)} (marked)"

        def chosen(choice: ExportChoice | None) -> None:
            if choice is None:
                return
            names = ExportNames()  # one batch: same-named images get distinct files
            job = BulkJob(
                f"Exporting to {visible(str(choice.folder))}",
                "exported",
                selection,
                lambda repo, image_id: repo.export(
                    image_id, choice.folder, force=choice.force, names=names
                ),
            )
            self.run_bulk(job, clear_marks=False)

        self.screen.app.push_screen(ExportScreen(what), chosen)

    # -- the trash ------------------------------------------------------------------------

    def toggle_trash(self) -> None:
        """Show the trash instead of the library, or back."""
        gallery = self.gallery
        gallery.marks.clear()
        gallery.set_view(gallery.query_text, gallery.query, trash=not gallery.trash)
        self.update_view()
        self.screen.app.refresh_bindings()

    def restore(self) -> None:
        """Bring the marked (or highlighted) images back from the trash."""
        target = self._target()
        if target is None:
            return
        selection, what = target
        job = BulkJob(
            "Restoring", "restored", selection, lambda repo, image_id: repo.restore(image_id)
        )
        if self.gallery.marks.active:
            question = Text(f"Restore {what} from the trash?")
            self._confirm_bulk(question, "Restore", job, danger=False)
        else:
            self.run_bulk(job, clear_marks=True)

    def empty_trash(self) -> None:
        """Delete every image in the trash for good."""
        if self._repository() is None:
            return
        question = Text.assemble(
            "Empty the trash: delete every image in it for good, stored bytes too? ",
            ("This cannot be undone.", "bold red"),
        )
        selection = Selection(everything=True, query=None, trash=True)
        purge: Callable[[ImageRepository, str], Any] = lambda repo, image_id: repo.purge(image_id)  # noqa: E731
        job = BulkJob("Emptying the trash", "deleted for good", selection, purge)
        self._confirm_bulk(question, "Empty trash", job, danger=True)
