"""Modal screens that return a result: confirm, edit metadata, export to a folder (one
image or the marked ones)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from imagerepo_tui.errors import ExportError
from imagerepo_tui.records import ImageInfo, normalise_tags
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, require_repository
from imagerepo_tui.tui.reporting import report_errors


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; the text is a rich Text, never markup."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: Text, *, yes_label: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(
                    f"{self.yes_label} (y)",
                    variant="error" if self.danger else "primary",
                    id="yes",
                )
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EditScreen(ModalScreen[dict[str, Any] | None]):
    """Title, description and tags (comma-separated); returns the changes to save."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="edit.save"),
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
    ]

    def __init__(self, info: ImageInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        info = self.info
        with Vertical(classes="dialog"):
            yield Static(Text(f"Edit {visible(info.filename)}", style="bold"), markup=False)
            yield Label("Title")
            yield Input(info.title, id="title")
            yield Label("Description")
            yield Input(info.description, id="description")
            yield Label("Tags (comma-separated)")
            yield Input(", ".join(info.tags), id="tags")
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def _changes(self) -> dict[str, Any]:
        def value(name: str) -> str:
            return self.query_one(f"#{name}", Input).value

        changes: dict[str, Any] = {}
        if value("title") != self.info.title:
            changes["title"] = value("title")
        if value("description") != self.info.description:
            changes["description"] = value("description")
        tags = normalise_tags(value("tags").split(","))
        if tuple(tags) != self.info.tags:
            changes["tags"] = tags
        return changes

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        self.dismiss(self._changes() or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def default_export_folder() -> Path:
    home = Path.home()
    return home if home.is_dir() else Path.cwd()


@dataclass(frozen=True)
class ExportChoice:
    folder: Path
    force: bool  # replace files that exist


class ExportScreen(ModalScreen[ExportChoice | None]):
    """The folder to export to, for one image or many; Overwrite replaces files there.

    Given ``image_id`` (one image), the export runs here: a name already taken is
    answered in place, by offering Overwrite. Without it (marked images) the choice is
    returned, for a bulk job to export.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel")
    ]

    def __init__(self, what: str, image_id: str | None = None, folder: Path | None = None) -> None:
        super().__init__()
        self.what = what  # shown as text: a filename, or "3 images (marked)"
        self.image_id = image_id
        self.folder = folder or default_export_folder()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Export {self.what} to folder:", style="bold"), markup=False)
            yield Input(str(self.folder), id="folder")
            yield Static("", id="export-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Export (enter)", variant="primary", id="export")
                # One image: offered once its name is found taken.
                single = self.image_id is not None
                yield Button("Overwrite", variant="warning", id="overwrite", disabled=single)
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#folder", Input).focus()

    def _say(self, message: str, *, error: bool = False) -> None:
        label = self.query_one("#export-message", Static)
        label.update(Text(message, style="bold red" if error else ""))

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def _export_pressed(self) -> None:
        self._start(force=False)

    @on(Button.Pressed, "#overwrite")
    def _overwrite_pressed(self) -> None:
        self._start(force=True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _start(self, *, force: bool) -> None:
        folder = Path(self.query_one("#folder", Input).value.strip()).expanduser()
        if self.image_id is not None:
            self._say("exporting…")
            self._export(self.image_id, ExportChoice(folder, force))
        elif not folder.is_dir():
            self._say(f"{visible(str(folder))} is not a folder", error=True)
        else:
            self.dismiss(ExportChoice(folder, force))

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self, image_id: str, choice: ExportChoice) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app, on_error=lambda: self._say("")):
            try:
                repository = require_repository(app)
                target = repository.export(image_id, choice.folder, force=choice.force)
            except ExportError as error:  # shown here, with the way out it offers
                self.app.call_from_thread(self._failed, str(error))
                return
            self.app.call_from_thread(self._done, target, choice)

    def _done(self, target: Path, choice: ExportChoice) -> None:
        self.notify(f"Exported to {visible(str(target))}", title="Export", markup=False)
        self.dismiss(choice)

    def _failed(self, message: str) -> None:
        exists = "already exists" in message
        text = message.replace(" (use --force to overwrite)", "")
        if exists:
            text += " — choose Overwrite to replace it, or another folder."
        self._say(text, error=True)
        self.query_one("#overwrite", Button).disabled = not exists
