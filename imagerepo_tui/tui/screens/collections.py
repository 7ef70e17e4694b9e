"""The collections modal: a list with counts to browse one (or all images), to pick
one for adding or removing images, and to create, rename or delete collections.
Smart collections (saved searches, ``ctrl+s`` in the search box) are marked with
their query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from imagerepo_tui.records import CollectionInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.screens.forms import PromptScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen

if TYPE_CHECKING:
    from imagerepo_tui.repository import ImageRepository

ALL_IMAGES = "all"


@dataclass(frozen=True)
class CollectionChoice:
    """A chosen collection's name, or None for "All images"."""

    name: str | None
    smart: bool = False  # a saved search: uploads cannot go into it


def quoted(value: str) -> str:
    """``value`` as one quoted query value: quotes and backslashes in it stay text."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def collection_query(name: str) -> str:
    return f"collection:{quoted(name)}"


class CollectionsScreen(ModalScreen[CollectionChoice | None]):
    """Enter chooses; n creates, R renames, d deletes (its images stay)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "create", "New", id="collections.create"),
        Binding("R,f2", "rename", "Rename", id="collections.rename"),
        Binding("d,delete", "delete", "Delete", id="collections.delete"),
        Binding("escape", "cancel", "Close", id="collections.cancel"),
    ]

    def __init__(self, title: str, *, with_all: bool = True, current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.with_all = with_all
        self.current = current
        self.collections: list[CollectionInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="collections-dialog"):
            yield Static(Text(self.title_text, style="bold"), markup=False)
            yield OptionList(id="collections")
            yield Static(
                Text("enter chooses · n new · R rename · d delete · esc closes", style="dim"),
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self._load(self.current)

    @property
    def options(self) -> OptionList:
        return self.query_one(OptionList)

    @work(thread=True, exclusive=True, group="collections", exit_on_error=False)
    def _load(self, highlight: str | None = None) -> None:
        with report_errors(host(self)):
            collections = require_repository(host(self)).list_collections()
            self.app.call_from_thread(self._show, collections, highlight)

    def _show(self, collections: list[CollectionInfo], highlight: str | None) -> None:
        self.collections = collections
        options = self.options
        options.clear_options()
        if self.with_all:
            options.add_option(Option(Text("All images", style="bold"), id=ALL_IMAGES))
        for index, info in enumerate(collections):
            label = Text.assemble(
                visible(info.name),
                (f"  {info.count:,} image{'s' if info.count != 1 else ''}", "dim"),
            )
            if info.smart:
                label.append("  [smart] ", style="bold magenta")
                label.append(visible(info.query or ""), style="magenta")
            if info.description:
                label.append(f"  {visible(info.description)}", style="italic dim")
            if info.damaged:
                label.append(f"  damaged: {visible(info.damaged[-1])}", style="bold red")
            options.add_option(Option(label, id=str(index)))
        if not collections and not self.with_all:
            empty = Text("No collections yet: press n", style="dim")
            options.add_option(Option(empty, id="none", disabled=True))
        key = highlight.casefold() if highlight else None
        wanted = next((str(i) for i, c in enumerate(collections) if c.name.casefold() == key), None)
        if wanted is not None:
            options.highlighted = options.get_option_index(wanted)
        elif options.option_count:
            options.highlighted = 0

    def _highlighted(self) -> CollectionInfo | None:
        index = self.options.highlighted
        if index is None:
            return None
        option_id = self.options.get_option_at_index(index).id
        if option_id is None or not option_id.isdigit():
            return None
        return self.collections[int(option_id)]

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == ALL_IMAGES:
            self.dismiss(CollectionChoice(None))
        elif event.option.id is not None and event.option.id.isdigit():
            chosen = self.collections[int(event.option.id)]
            self.dismiss(CollectionChoice(chosen.name, chosen.smart))

    def action_cancel(self) -> None:
        self.dismiss(None)

    # -- managing -------------------------------------------------------------------------

    def action_create(self) -> None:
        def named(name: str | None) -> None:
            if name:
                self._change(lambda repo: repo.create_collection(name), name, f"Created {name}")

        self.app.push_screen(PromptScreen(Text("New collection's name:"), ok_label="Create"), named)

    def action_rename(self) -> None:
        info = self._highlighted()
        if info is None:
            return

        def named(new: str | None) -> None:
            if new and new != info.name:
                self._change(
                    lambda repo: repo.rename_collection(info.name, new), new, f"Renamed to {new}"
                )

        question = Text.assemble("Rename ", (visible(info.name), "bold"), " to:")
        self.app.push_screen(PromptScreen(question, info.name, ok_label="Rename"), named)

    def action_delete(self) -> None:
        info = self._highlighted()
        if info is None:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._change(
                    lambda repo: repo.delete_collection(info.name), None, f"Deleted {info.name}"
                )

        question = Text.assemble(
            "Delete the collection ",
            (visible(info.name), "bold"),
            f"? Its {info.count:,} image(s) stay in the library.",
        )
        self.app.push_screen(ConfirmScreen(question, yes_label="Delete", danger=True), answer)

    @work(thread=True, group="collections-change", exit_on_error=False)
    def _change(
        self, change: Callable[[ImageRepository], Any], highlight: str | None, message: str
    ) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            change(require_repository(app))
            self.app.call_from_thread(self.notify, visible(message), markup=False)
            self.app.call_from_thread(self._load, highlight)
