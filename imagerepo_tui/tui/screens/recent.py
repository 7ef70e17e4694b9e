"""The upload picker's recent folders: the folders the last uploads came from, most
recent first; ``enter`` goes to one, ``escape`` closes the list."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from imagerepo_tui.textsafe import visible


class RecentFoldersScreen(ModalScreen[Path | None]):
    """Choose one of ``folders`` (already checked to exist), or none."""

    DEFAULT_CSS = """
    RecentFoldersScreen #recent-list { height: auto; max-height: 12; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="recent.cancel"),
    ]

    def __init__(self, folders: list[Path]) -> None:
        super().__init__()
        self.folders = folders

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Recent folders: enter goes there, escape closes", markup=False)
            yield OptionList(
                *(
                    Option(Text(f"{n}  {visible(str(path))}"), id=str(n))
                    for n, path in enumerate(self.folders, start=1)
                ),
                id="recent-list",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.folders[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
