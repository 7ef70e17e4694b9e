"""Small forms that return a value: one line of text, tags to add and remove, public or
private. Pressing the form's button is the confirmation of its bulk action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from imagerepo_tui.records import normalise_tags


class PromptScreen(ModalScreen[str | None]):
    """One line of text (a collection's name); enter accepts, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel")
    ]

    def __init__(self, question: Text, value: str = "", *, ok_label: str = "OK") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.ok_label = ok_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            yield Input(self.value, id="prompt-value")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.ok_label} (enter)", variant="primary", id="ok")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _accept(self) -> None:
        value = self.query_one(Input).value.strip()
        if value:
            self.dismiss(value)
        else:
            self.notify("Type a name first.", severity="warning")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class TagChange:
    add: tuple[str, ...]
    remove: tuple[str, ...]


class TagsScreen(ModalScreen[TagChange | None]):
    """Tags to add and tags to remove (comma-separated), for one image or many."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="tags.apply"),
        Binding("escape", "cancel", "Cancel", id="tags.cancel"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Tag {self.what}", style="bold"), markup=False)
            yield Label("Add tags (comma-separated)")
            yield Input(id="add-tags")
            yield Label("Remove tags (comma-separated)")
            yield Input(id="remove-tags")
            with Horizontal(classes="buttons"):
                yield Button("Apply (ctrl+s)", variant="primary", id="apply")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#add-tags", Input).focus()

    def _tags(self, name: str) -> tuple[str, ...]:
        return tuple(normalise_tags(self.query_one(f"#{name}", Input).value.split(",")))

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        change = TagChange(self._tags("add-tags"), self._tags("remove-tags"))
        if change.add or change.remove:
            self.dismiss(change)
        else:
            self.notify("Type a tag to add or to remove.", severity="warning")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class VisibilityScreen(ModalScreen[bool | None]):
    """Public or private, for the marked images: True, False, or None to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "choose(True)", "Public", id="visibility.public"),
        Binding("v", "choose(False)", "Private", id="visibility.private"),
        Binding("escape", "cancel", "Cancel", id="visibility.cancel"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Make {self.what}:", style="bold"), markup=False)
            yield Static(
                Text(
                    "Public images are seen by every user of the library; private ones "
                    "only by their owner. Only your own images change."
                ),
                classes="question",
                markup=False,
            )
            with Horizontal(classes="buttons"):
                yield Button("Public (p)", variant="primary", id="public")
                yield Button("Private (v)", variant="primary", id="private")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#public", Button).focus()

    @on(Button.Pressed, "#public")
    def _public(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#private")
    def _private(self) -> None:
        self.dismiss(False)

    def action_choose(self, public: bool) -> None:
        self.dismiss(public)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
