"""The login screen, shown before browsing when the library has accounts.

The password is checked in a thread worker (Argon2 takes tens of milliseconds, and a
throttled name longer); the core's message is shown inline as plain text, and the
password field is emptied after a failure. Escape or ctrl+q quits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from imagerepo_tui.accounts import MAX_PASSWORD_LENGTH
from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.records import UserInfo
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.host import host, require_repository
from imagerepo_tui.tui.reporting import report_error_from_thread
from imagerepo_tui.tui.widgets.keys import KeysFooter
from imagerepo_tui.tui.widgets.status import StatusLine


class LoginScreen(Screen[UserInfo]):
    """User name and password; dismissed with the user once the core accepts them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.quit", "Quit", id="login.quit"),
        Binding("ctrl+q", "app.quit", "Quit", id="login.quit_ctrl", show=False),
    ]

    def __init__(self, user: str | None = None, notice: str = "") -> None:
        super().__init__()
        self.user = user or ""
        self.notice = notice  # why it is asked again, e.g. after a reconnect
        self.busy = False

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Vertical(classes="dialog", id="login-dialog"):
            yield Static(self._title(), id="login-title", markup=False)
            yield Label("User name")
            yield Input(self.user, id="login-name", max_length=64)
            yield Label("Password")
            yield Input(id="login-password", password=True, max_length=MAX_PASSWORD_LENGTH)
            yield Static(Text(self.notice), id="login-message", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Log in (enter)", variant="primary", id="login")
                yield Button("Quit (esc)", id="quit")
        yield KeysFooter()

    def _title(self) -> Text:
        return Text.assemble(
            ("Log in", "bold"), " to ", (visible(host(self).db_description), "bold")
        )

    def on_mount(self) -> None:
        self.query_one("#login-password" if self.user else "#login-name", Input).focus()

    @property
    def name_input(self) -> Input:
        return self.query_one("#login-name", Input)

    @property
    def password_input(self) -> Input:
        return self.query_one("#login-password", Input)

    def say(self, message: str, *, error: bool = False) -> None:
        """One line under the fields; the core's messages are plain text, never markup."""
        style = "bold red" if error else "italic"
        self.query_one("#login-message", Static).update(Text(visible(message), style=style))

    @on(Input.Submitted, "#login-name")
    def _name_submitted(self) -> None:
        if not self.password_input.value:
            self.password_input.focus()
        else:
            self.submit()

    @on(Input.Submitted, "#login-password")
    @on(Button.Pressed, "#login")
    def submit(self) -> None:
        if self.busy:
            return
        name = self.name_input.value.strip()
        password = self.password_input.value
        if not name:
            self.say("Type your user name.", error=True)
            self.name_input.focus()
            return
        if not password:
            self.say("Type your password.", error=True)
            self.password_input.focus()
            return
        self.busy = True
        self.say("Logging in…")
        self._login(name, password)

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.app.exit()

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def _login(self, name: str, password: str) -> None:
        """The core checks the password (Argon2), off the UI thread."""
        app = host(self)
        try:
            user = require_repository(app).login(name, password)
        except ImageRepoError as error:
            self._call(self._failed, str(error))
            if isinstance(error, DatabaseUnavailableError):
                report_error_from_thread(app, error)  # shown and retried by the app
        except Exception as error:  # never a traceback: the app's handler says what broke
            self._call(self._failed, "Logging in failed unexpectedly.")
            report_error_from_thread(app, error)
        else:
            self._call(self._succeeded, user)

    def _call(self, callback: Callable[..., None], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.app.call_from_thread(callback, *args)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.password_input.value = ""
        self.password_input.focus()
        self.say(message, error=True)

    def _succeeded(self, user: UserInfo) -> None:
        self.busy = False
        self.password_input.value = ""
        self.dismiss(user)

    def reconnected(self) -> None:
        """The database came back (and with it a fresh repository): say so."""
        self.query_one("#login-title", Static).update(self._title())
        if not self.busy:
            self.say("Connected.")
