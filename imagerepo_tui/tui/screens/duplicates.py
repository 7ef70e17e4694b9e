"""The duplicates view: groups of near-duplicate images side by side (thumbnail, name,
size, dates), moving between groups, and keeping one image of a group."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from imagerepo_tui.records import ImageInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, require_repository
from imagerepo_tui.tui.reporting import report_errors
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.keys import KeysFooter
from imagerepo_tui.tui.widgets.preview import PreviewPane
from imagerepo_tui.units import human_size

# Images of a group shown side by side at once; more are reached with left/right.
SHOWN = 4


def card_text(image: ImageInfo, chosen: bool) -> Text:
    """Name, pixels, size and dates under a thumbnail."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(("▶ " if chosen else "  ") + visible(image.filename), style="bold")
    text.append(f"\n{image.width}x{image.height}  {human_size(image.size)}  {image.format}")
    added = image.created_at.strftime("%Y-%m-%d %H:%M") if image.created_at else "?"
    text.append(f"\nadded {added}", style="dim")
    if image.taken_at:
        text.append(f"\ntaken {image.taken_at.strftime('%Y-%m-%d')}", style="dim")
    text.append(f"\n{image.id}", style="cyan dim")
    return text


class DuplicatesScreen(Screen[bool]):
    """Dismissed with True when something was merged (the gallery then reloads)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "group(1)", "Next group", id="duplicates.next_group"),
        Binding("k,up", "group(-1)", "Previous group", id="duplicates.previous_group"),
        Binding("l,right", "image(1)", "Next image", id="duplicates.next_image"),
        Binding("h,left", "image(-1)", "Previous image", id="duplicates.previous_image"),
        Binding("enter,K", "keep", "Keep this one", id="duplicates.keep"),
        Binding("escape", "close", "Close", id="duplicates.close"),
    ]
    DEFAULT_CSS = """
    DuplicatesScreen #dupes-title { height: 1; padding: 0 1; text-style: bold; }
    DuplicatesScreen #dupes-cards { height: 1fr; }
    DuplicatesScreen .dupes-card { width: 1fr; border: round $panel; padding: 0 1; }
    DuplicatesScreen .dupes-card.chosen { border: round $accent; }
    DuplicatesScreen .dupes-card PreviewPane { height: 1fr; }
    DuplicatesScreen .dupes-card Static { height: auto; }
    """

    def __init__(self, graphics: str) -> None:
        super().__init__()
        self.graphics = graphics
        self.groups: list[list[ImageInfo]] = []
        self.group = 0
        self.chosen = 0
        self.merged = False

    def compose(self) -> ComposeResult:
        yield Static("Looking for near-duplicates…", id="dupes-title", markup=False)
        with Horizontal(id="dupes-cards"):
            for index in range(SHOWN):
                with Vertical(classes="dupes-card", id=f"dupes-card-{index}"):
                    yield PreviewPane(self.graphics, id=f"dupes-preview-{index}")
                    yield Static("", id=f"dupes-text-{index}", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="duplicates", exit_on_error=False)
    def _load(self) -> None:
        app = host(self)
        with report_errors(app):
            duplicates = require_repository(app).duplicates
            pending = duplicates.unindexed()
            if pending:
                app.call_from_thread(self._title, f"Hashing older images (once): {pending:,}…")

                def progress(done: int, total: int) -> None:
                    app.call_from_thread(self._title, f"Hashing older images: {done:,}/{total:,}")

                duplicates.index(progress, max_pixels=app.settings.max_pixels)
            found = duplicates.groups()
            app.call_from_thread(self._show, found.groups)

    def _title(self, text: str) -> None:
        self.query_one("#dupes-title", Static).update(Text(text))

    def _show(self, groups: list[list[ImageInfo]]) -> None:
        self.groups = groups
        self.group = min(self.group, max(0, len(groups) - 1))
        self.chosen = 0
        self._draw()

    def _draw(self) -> None:
        if not self.groups:
            self._title("No near-duplicates found · esc closes")
        else:
            members = self.groups[self.group]
            self._title(
                f"Group {self.group + 1} of {len(self.groups)} · {len(members)} images · "
                f"keeping {self.chosen + 1} · enter keeps it and trashes the others"
            )
        members = self.groups[self.group] if self.groups else []
        first = max(0, min(self.chosen - SHOWN + 1, len(members) - SHOWN))
        for slot in range(SHOWN):
            card = self.query_one(f"#dupes-card-{slot}", Vertical)
            index = first + slot
            image = members[index] if index < len(members) else None
            card.display = image is not None
            card.set_class(index == self.chosen, "chosen")
            if image is not None:
                text = card_text(image, index == self.chosen)
                self.query_one(f"#dupes-text-{slot}", Static).update(text)
                self.query_one(f"#dupes-preview-{slot}", PreviewPane).show(image)

    def action_group(self, step: int) -> None:
        if self.groups:
            self.group = (self.group + step) % len(self.groups)
            self.chosen = 0
            self._draw()

    def action_image(self, step: int) -> None:
        if self.groups:
            self.chosen = (self.chosen + step) % len(self.groups[self.group])
            self._draw()

    def action_keep(self) -> None:
        if not self.groups:
            return
        members = self.groups[self.group]
        keep = members[self.chosen]
        others = [image.id for image in members if image.id != keep.id]
        question = Text.assemble(
            "Keep ",
            (visible(keep.filename), "bold"),
            f" and move the other {len(others)} to the trash? Their tags, collections and "
            "custom fields are added to it (its own custom fields win).",
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._merge(keep.id, others)

        self.app.push_screen(ConfirmScreen(question, yes_label="Keep"), answer)

    @work(thread=True, group="duplicates-merge", exit_on_error=False)
    def _merge(self, keep: str, others: list[str]) -> None:
        app = host(self)
        with app.writes.writing(), report_errors(app):
            require_repository(app).duplicates.merge(keep, others)
            self.merged = True
            app.call_from_thread(self.notify, f"Kept {keep}", markup=False)
            app.call_from_thread(self._load)

    def action_close(self) -> None:
        self.dismiss(self.merged)
