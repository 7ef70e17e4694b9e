"""The search box above the gallery: the query language of ``query.py``.

Enter applies (the screen checks the text in a worker first), escape clears. A bad
query is shown under the box with its column, and the cursor goes there; the list
stays as it was.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from imagerepo_tui.textsafe import visible

PLACEHOLDER = 'search: words  tag:cat  -tag:dog  collection:"Name"  size:>2mb  sort:-size'


class SearchInput(Input):
    """The search text; escape asks the screen to clear the search, ctrl+s to save it
    as a smart collection."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_search", "Clear search", id="search.clear"),
        Binding("ctrl+s", "save_search", "Save as smart collection", id="search.save"),
    ]

    class Cleared(Message):
        """The user pressed escape in the search box."""

    class SaveRequested(Message):
        """The user asked to keep this search as a smart collection."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def action_clear_search(self) -> None:
        self.post_message(self.Cleared())

    def action_save_search(self) -> None:
        self.post_message(self.SaveRequested(self.value))


class SearchBar(Vertical):
    """Search box and its error line; hidden while no search is active or typed."""

    DEFAULT_CSS = """
    SearchBar { height: auto; display: none; }
    SearchBar.shown { display: block; }
    SearchBar SearchInput, SearchBar SearchInput:focus { border: none; height: 1; padding: 0 1; }
    SearchBar #search-error { height: auto; color: $error; padding: 0 1; display: none; }
    SearchBar #search-error.shown { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield SearchInput(placeholder=PLACEHOLDER, id="search-input")
        yield Static("", id="search-error", markup=False)

    @property
    def input(self) -> SearchInput:
        return self.query_one(SearchInput)

    def open(self) -> None:
        self.add_class("shown")
        self.input.focus()

    def close(self) -> None:
        self.input.value = ""
        self.show_error(None)
        self.remove_class("shown")

    def show_error(self, message: str | None, column: int | None = None) -> None:
        error = self.query_one("#search-error", Static)
        if message is None:
            error.update("")
            error.remove_class("shown")
            return
        error.update(Text(f"✖ {visible(message)}"))
        error.add_class("shown")
        if column is not None:
            self.input.cursor_position = max(0, column - 1)
