"""The status line: who is logged in (in a library with accounts), which database, how
many images, whether it answers, and what the gallery shows (the library or the
trash, the active search and its matches, marks)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host

STATE_STYLES = {
    "connecting": ("◌ connecting…", "yellow"),
    "connected": ("● connected", "green"),
    "unreachable": ("✖ unreachable (retrying)", "bold red"),
}


class StatusLine(Static):
    """One line at the top; it follows the app's ``connection`` and ``image_count``."""

    DEFAULT_CSS = """
    StatusLine { dock: top; height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.view: Text | None = None

    def show_view(self, view: Text | None) -> None:
        """What the gallery lists, when it is not simply the whole library."""
        self.view = view
        self._redraw()

    def on_mount(self) -> None:
        watched = ("connection", "image_count", "db_description", "activity", "user_name")
        for name in (*watched, "reminder"):
            self.watch(self.app, name, self._redraw, init=False)
        self._redraw()

    def _redraw(self, _value: object = None) -> None:
        app = host(self)
        state, style = STATE_STYLES.get(app.connection, (app.connection, ""))
        count = app.image_count
        images = "" if count is None else f"{count:,} image{'s' if count != 1 else ''}"
        browsing = app.repository is not None and not app.repository.needs_login
        if count is None and browsing and app.connection == "connected":
            images = "counting…"  # seconds at 100,000 images; the gallery works meanwhile
        text = Text.assemble(("imagerepo-tui", "bold"), "  ")
        if app.activity:  # work under way (an upload) before what may be cut off
            text.append(visible(app.activity), style="italic")
            text.append("  │  ", style="dim")
        if self.view is not None:
            # What is listed comes before the database's name, which may be long.
            text.append_text(self.view)
            text.append("  │  ", style="dim")
        if app.user_name:  # "alice@mongodb://…": only in a library with accounts
            text.append(visible(app.user_name), style="bold")
            text.append("@", style="dim")
        text.append_text(
            Text.assemble((visible(app.db_description), "dim"), "  ", images, "  ", (state, style))
        )
        if app.reminder:  # said for a while when the library opens; last, as it can wait
            text.append("  │  ", style="dim")
            text.append(f"⚠ {visible(app.reminder)}", style="bold yellow")
        text.no_wrap, text.overflow = True, "ellipsis"  # one line: cut, never wrapped away
        self.update(text)
