"""Full-screen preview: one image as large as the terminal, left/right to move on."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from imagerepo_tui.records import ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.preview import PreviewPane
from imagerepo_tui.units import human_size


class FullPreviewScreen(Screen[None]):
    """Follows the gallery's cursor: moving here moves it there too."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "app.pop_screen", "Back", id="preview.back"),
        Binding("right,l,j,space", "move(1)", "Next", id="preview.next"),
        Binding("left,h,k", "move(-1)", "Previous", id="preview.previous"),
    ]

    def __init__(self, gallery: Gallery, graphics: str, info: ImageInfo) -> None:
        super().__init__()
        self.gallery = gallery
        self.graphics = graphics
        self.info = info

    def compose(self) -> ComposeResult:
        yield Static("", id="caption", markup=False)
        yield PreviewPane(self.graphics, id="full-preview")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.info)

    def show(self, info: ImageInfo | None) -> None:
        if info is None:
            return
        self.info = info
        position = f"{self.gallery.cursor + 1}/{self.gallery.rows.total}"
        caption = Text.assemble(
            (visible(info.title or info.filename), "bold"),
            f"  {info.width}×{info.height}  {human_size(info.size)}  {position}",
        )
        self.query_one("#caption", Static).update(caption)
        self.query_one(PreviewPane).show(info)

    def action_move(self, delta: int) -> None:
        # The gallery announces the new image; the browse screen passes it back here.
        self.gallery.action_cursor(delta)
