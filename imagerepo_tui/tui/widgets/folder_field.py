"""The upload picker's path field (ctrl+l): type or paste a folder, ``tab`` completes
it like a shell, ``enter`` goes there, ``escape`` closes it. The disk is read in
thread workers; what it finds is shown escaped."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.paths import Completion, complete_folder, folder_problem, typed_folder

SHOWN_CANDIDATES = 12


class FolderInput(Input):
    """The input line; its own ``tab`` and ``escape`` win over the screen's."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", id="picker.path_complete"),
        Binding("escape", "close", "Close path", id="picker.path_close"),
    ]

    def action_complete(self) -> None:
        field = self.parent
        if isinstance(field, FolderField):
            field.complete()

    def action_close(self) -> None:
        field = self.parent
        if isinstance(field, FolderField):
            field.close()


class FolderField(Vertical):
    """Hidden until ``open(base)``; posts ``Chosen`` with a readable folder."""

    DEFAULT_CSS = """
    FolderField { height: auto; display: none; padding: 0 1; }
    FolderField.open { display: block; }
    FolderField > #folder-hint { height: auto; max-height: 3; color: $text-muted; }
    FolderField > #folder-hint.error { color: $error; }
    """

    class Chosen(Message):
        def __init__(self, path: Path) -> None:
            self.path = path
            super().__init__()

    class Closed(Message):
        """The field was closed without choosing."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.base = Path(".")  # where a relative path starts: set by open()
        self.candidates: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield FolderInput(placeholder="a folder: ~/Pictures, /media/card, ../other")
        yield Static("", id="folder-hint", markup=False)

    @property
    def input(self) -> FolderInput:
        return self.query_one(FolderInput)

    def open(self, base: Path) -> None:
        self.base = base
        self.add_class("open")
        self.input.value = ""
        self.say(f"in {visible(str(base))}: tab completes, enter goes there, escape closes")
        self.input.focus()

    def close(self) -> None:
        self.remove_class("open")
        self.post_message(self.Closed())

    def say(self, message: str, *, error: bool = False) -> None:
        hint = self.query_one("#folder-hint", Static)
        hint.update(Text(message))
        hint.set_class(error, "error")

    # -- completion ------------------------------------------------------------------------

    def complete(self) -> None:
        self._complete(self.input.value, self.base)

    @work(thread=True, exclusive=True, group="folder-field", exit_on_error=False)
    def _complete(self, text: str, base: Path) -> None:
        found = complete_folder(text, base)
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._completed, text, found)

    def _completed(self, typed: str, found: Completion) -> None:
        if self.input.value != typed:
            return  # typed on meanwhile
        self.candidates = found.candidates
        if not found.candidates:
            self.say("no folder here starts with that", error=True)
            return
        self.input.value = found.text
        self.input.cursor_position = len(found.text)
        if len(found.candidates) == 1:
            self.say("")
            return
        shown = "  ".join(visible(name) + "/" for name in found.candidates[:SHOWN_CANDIDATES])
        more = len(found.candidates) - SHOWN_CANDIDATES
        self.say(shown + (f"  … and {more} more" if more > 0 else ""))

    # -- going there -------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._check(event.value, self.base)

    @work(thread=True, exclusive=True, group="folder-field", exit_on_error=False)
    def _check(self, text: str, base: Path) -> None:
        path = typed_folder(text, base)
        problem = folder_problem(path)
        if problem is None:
            path = path.resolve()  # "..", symlinks: the folder itself, as the tree shows it
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(self._checked, text, path, problem)

    def _checked(self, typed: str, path: Path, problem: str | None) -> None:
        if self.input.value != typed:
            return
        if problem is not None:
            self.say(f"{visible(typed.strip())}: {problem}", error=True)
            return
        self.remove_class("open")
        self.post_message(self.Chosen(path))
