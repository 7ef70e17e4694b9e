"""ImageRepoApp and its one factory, shared by the CLI, the tests and the screenshots.

The app paints first and connects in a thread worker; the connection state is on
the status line. When the library has accounts, the login screen comes first and
browsing starts once it returns. Every worker reports errors through
``report_errors`` to one handler, ``ImageRepoApp.handle_error``: a lost database is
shown and retried, any other error becomes a notification — never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import platformdirs
from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer

from imagerepo_tui.config import APP_NAME, Settings, redact_uri
from imagerepo_tui.errors import (
    DatabaseUnavailableError,
    ImageRepoError,
    PermissionDeniedError,
)
from imagerepo_tui.stderr_capture import divert_fd2
from imagerepo_tui.textsafe import visible_lines
from imagerepo_tui.tui.commands import ActionsProvider
from imagerepo_tui.tui.keymap import keymap_problems, merged_keymap
from imagerepo_tui.tui.safekeeping import Safekeeping, SafekeepingCommands
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.upload_job import Uploads
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.preview import GRAPHICS_CHOICES
from imagerepo_tui.tui.writes import WritesInFlight

if TYPE_CHECKING:
    from imagerepo_tui.config import ConfigFile
    from imagerepo_tui.records import UserInfo
    from imagerepo_tui.repository import ImageRepository
    from imagerepo_tui.tui.upload_job import UploadJob

log = logging.getLogger(__name__)
RETRY_SECONDS = 3.0
# While connected, a periodic ping notices a database that went away while idle.
HEALTH_SECONDS = 15.0
# How long quitting waits for writes under way (a file or two of an upload, say)
# before leaving them to the next start's cleanup of abandoned uploads.
WRITES_GRACE_SECONDS = 30.0
RepositoryFactory = Callable[[Settings], "ImageRepository"]


def stderr_log() -> Path:
    """Where what C libraries print while the TUI runs goes (the last run's only). Not
    in the data directory: a folder with files the library does not know is refused."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)) / "tui-stderr.log"


def describe_database(settings: Settings) -> str:
    """What the status line says before the store can (never a password)."""
    if settings.db_uri:
        return redact_uri(settings.db_uri)
    return f"embedded {settings.data_dir}"


def open_repository(
    settings: Settings, on_upgrade: Callable[[str], None] | None = None
) -> ImageRepository:
    """Imported here, in the connecting worker: the database driver and ODM take a
    few hundred milliseconds to import, and the first frame should not wait for them."""
    from imagerepo_tui.repository import ImageRepository

    return ImageRepository.open(settings, on_upgrade)


class ImageRepoApp(App[int]):
    """The image library's TUI."""

    CSS_PATH = "app.tcss"
    TITLE = "imagerepo-tui"
    COMMANDS = App.COMMANDS | {ActionsProvider, SafekeepingCommands}
    # The main screen is the app's first (installed in __init__): composed with the
    # app, its first frame is the first one shown. Pushed in on_mount over Textual's
    # empty default screen, it came a frame later, after one drawn and thrown away.
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {"browse": "browse"}
    DEFAULT_MODE = "browse"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "toggle_keys", "Keys", id="app.keys"),
        Binding("ctrl+p", "command_palette", "Commands", id="app.command_palette", show=False),
    ]

    connection: reactive[str] = reactive("connecting")
    image_count: reactive[int | None] = reactive(None)
    db_description: reactive[str] = reactive("")
    activity: reactive[str] = reactive("")
    # Who is logged in; "" in personal mode (a library without accounts) and before.
    user_name: reactive[str] = reactive("")
    # Said once when the library opens (never backed up, or not for a month).
    reminder: reactive[str] = reactive("")

    def __init__(
        self,
        settings: Settings,
        graphics: str = "auto",
        repository_factory: RepositoryFactory | None = None,
    ) -> None:
        super().__init__()
        if graphics not in GRAPHICS_CHOICES:
            raise ValueError(f"graphics must be one of {', '.join(GRAPHICS_CHOICES)}")
        self.settings = settings
        self.graphics = graphics
        self.repository: ImageRepository | None = None
        self.writes = WritesInFlight()
        self.uploads = Uploads()
        self.safekeeping = Safekeeping(self)
        self.install_screen(BrowseScreen(graphics, self.uploads), name="browse")
        self._factory = repository_factory or self._open_with_notices
        self._connecting = False
        self._retry_timer: Timer | None = None
        # Opened, its safekeeping state not read yet: that waits for the first page.
        self._opened: ImageRepository | None = None
        self.db_description = describe_database(settings)

    # -- start-up -----------------------------------------------------------------------

    def on_mount(self) -> None:
        keymap, files = merged_keymap(self.settings)
        if keymap:
            self.set_keymap(keymap)
        # After the first paint: checking the ids may import the screens not yet shown.
        self.call_after_refresh(self._report_settings, files)
        # After the first paint: connecting imports the driver in a worker, and that
        # import would hold the GIL while the first frame is being drawn.
        self.call_after_refresh(self._connect)
        self.set_interval(HEALTH_SECONDS, self._health_check)

    def _report_settings(self, files: list[ConfigFile]) -> None:
        problems = keymap_problems(self.settings, files)
        if problems:
            self.notify(
                visible_lines("\n".join(problems)),
                title="Settings",
                severity="warning",
                markup=False,
                timeout=20,
            )

    def _health_check(self) -> None:
        # Not while the login screen waits: reopening would swap its repository.
        if self.connection == "connected" and not self._awaiting_login():
            self._connect()

    def _awaiting_login(self) -> bool:
        return self.repository is not None and self.repository.needs_login

    @property
    def browse(self) -> BrowseScreen:
        return self.get_screen("browse", BrowseScreen)

    def _connect(self) -> None:
        if self._connecting:
            return  # an attempt is still waiting on its timeout
        self._connecting = True
        if self.repository is None:
            self.connection = "connecting" if self.connection != "unreachable" else "unreachable"
        self._open_repository()

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def _open_repository(self) -> None:
        """Open (or, when already open, ping) the database, off the UI thread. Nothing
        is counted here: the gallery counts once its first page shows."""
        current = self.repository
        # A repository waiting for a login is opened again instead.
        if current is not None and not current.needs_login:
            try:
                current.ping()
                self._call(self._connected, current)
                return
            except DatabaseUnavailableError:
                pass  # reopen: an embedded server that died must be started again
        try:
            repository = self._factory(self.settings)
        except Exception as error:
            self._call(self._connect_failed, error)
        else:
            self._call(self._connected, repository)

    def _open_with_notices(self, settings: Settings) -> ImageRepository:
        return open_repository(settings, lambda message: self._call(self._upgrading, message))

    def _upgrading(self, message: str) -> None:
        self.notify(message[:1].upper() + message[1:] + ".", title="Upgrading", timeout=60)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(callback, *args)

    def _connected(self, repository: ImageRepository) -> None:
        self._connecting = False
        fresh = repository is not self.repository or self.connection != "connected"
        self.repository = repository
        self.db_description = repository.database_description
        was_down = self.connection == "unreachable"
        self.connection = "connected"
        self._stop_retrying()
        if was_down:
            self.notify("The database is back.", title="Connected")
        if repository.needs_login:  # nothing is shown before a login
            self._ask_login(relogin=was_down and bool(self.user_name))
            return
        if fresh:
            self._browse_library(repository)

    def _browse_library(self, repository: ImageRepository) -> None:
        self._opened = repository
        self.browse.on_repository(repository)

    @on(Gallery.FirstPageShown)
    def _first_page_shown(self) -> None:
        """The library's first rows are on screen: now the rest of opening it, which
        would have competed with them (the last check and backup, for the reminder)."""
        opened, self._opened = self._opened, None
        if opened is not None and opened is self.repository:
            self.safekeeping.library_opened(opened)

    # -- logging in ---------------------------------------------------------------------

    def _ask_login(self, *, relogin: bool) -> None:
        """Show the login screen (once); browsing starts when it returns."""
        # Imported here: a library without accounts never needs it, and the first
        # frame should not wait for it.
        from imagerepo_tui.tui.screens.login import LoginScreen

        screen = next((s for s in self.screen_stack if isinstance(s, LoginScreen)), None)
        if screen is not None:
            screen.reconnected()
            return
        name = self.user_name or self.settings.user
        self.user_name = ""
        self.image_count = None
        # A reopened database is a new session: the gallery waits for the new login.
        self.browse.gallery.reload(None)
        notice = "The database was reconnected: log in again." if relogin else ""
        self.push_screen(LoginScreen(name, notice), self._logged_in)

    def _logged_in(self, user: UserInfo | None) -> None:
        if user is None or self.repository is None:
            return
        self.user_name = user.name
        self._browse_library(self.repository)

    def _connect_failed(self, error: BaseException) -> None:
        self._connecting = False
        # Opening again closed any earlier client: forget it, the next try opens anew.
        self.repository = None
        if isinstance(error, ImageRepoError) and not isinstance(error, DatabaseUnavailableError):
            error = DatabaseUnavailableError(str(error))  # e.g. a bad URI: still "unreachable"
        self.handle_error(error)

    # -- the one error handler ----------------------------------------------------------

    def handle_error(self, error: BaseException) -> None:
        """Every worker's failure ends here, on the UI thread."""
        if isinstance(error, DatabaseUnavailableError):
            self._database_lost(str(error))
        elif isinstance(error, PermissionDeniedError):
            self.notify(
                visible_lines(str(error)), title="Not allowed", severity="warning", markup=False
            )
        elif isinstance(error, ImageRepoError):
            self.notify(visible_lines(str(error)), title="Error", severity="error", markup=False)
        else:
            log.exception("unexpected error in a worker", exc_info=error)
            self.notify(
                visible_lines(f"Unexpected error: {type(error).__name__}: {error}"),
                title="Error",
                severity="error",
                markup=False,
            )

    def _database_lost(self, message: str) -> None:
        if self.connection != "unreachable":
            self.notify(
                visible_lines(f"{message}. Retrying every {RETRY_SECONDS:.0f} s."),
                title="Database unreachable",
                severity="error",
                timeout=8,
                markup=False,
            )
        self.connection = "unreachable"
        if self._retry_timer is None:
            self._retry_timer = self.set_interval(RETRY_SECONDS, self._connect)

    def _stop_retrying(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.stop()
            self._retry_timer = None

    # -- actions ------------------------------------------------------------------------

    @property
    def upload_job(self) -> UploadJob | None:
        """The latest upload batch, running or done; its dialog may be hidden."""
        return self.uploads.job

    def running_upload(self) -> UploadJob | None:
        """The upload batch under way, if any (one at a time)."""
        return self.uploads.running()

    def upload_under_way(self) -> bool:
        return self.uploads.running() is not None

    async def action_quit(self) -> None:
        """Quit; an upload under way (its dialog perhaps hidden) is stopped only
        once the user says so."""
        job = self.running_upload()
        if job is None:
            self.exit()
            return
        question = Text(
            f"An upload is under way ({job.done_files:,} of {job.files:,} files). "
            "Stop it and quit? The files being written are finished first."
        )

        def answer(yes: bool | None) -> None:
            if yes:
                job.cancel()
                self.exit()

        self.push_screen(ConfirmScreen(question, yes_label="Stop and quit", danger=True), answer)

    def action_toggle_keys(self) -> None:
        """Show or hide the keys of the focused pane."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def on_unmount(self) -> None:
        if self.upload_job is not None:  # the files under way finish; no more start
            self.upload_job.cancel()
        # Writes still running use the repository until they finish.
        self.writes.when_idle(self._close_repository)

    def _close_repository(self) -> None:
        repository, self.repository = self.repository, None
        if repository is not None:
            try:
                repository.close()
            except Exception:  # closing a dead connection must not turn into a traceback
                log.debug("closing the repository failed", exc_info=True)


def make_app(
    settings: Settings,
    graphics: str = "auto",
    repository_factory: RepositoryFactory | None = None,
) -> ImageRepoApp:
    """The one way to build the app: the CLI, the tests and the screenshot script."""
    return ImageRepoApp(settings, graphics=graphics, repository_factory=repository_factory)


def run_app(settings: Settings, graphics: str = "auto") -> int:
    """Run the TUI until it quits, then wait only for writes under way.

    The app gets a loop of its own: ``asyncio.run`` would wait at the end for every
    worker thread, reads included, and a count of a large library can take seconds
    after the screen is gone. Such reads die with the process (``cli.run`` exits
    without joining threads).
    """
    # C libraries print straight to fd 2, which would draw over the screen: it goes
    # to a log for the app's life, while the app draws on its own copy of the
    # terminal (divert_fd2 makes it before the app is built: Textual keeps
    # sys.__stderr__ then).
    with divert_fd2(stderr_log()):
        app = make_app(settings, graphics=graphics)
        loop = asyncio.new_event_loop()
        result = _run(app, loop)
    if isinstance(result, int):
        return result
    # An app that died of an error (Textual printed it) must not exit 0 to a script.
    return app.return_code or 0


def _run(app: ImageRepoApp, loop: asyncio.AbstractEventLoop) -> object:
    try:
        result = app.run(loop=loop)
        if app.writes.running:
            sys.stderr.write("finishing the changes under way…\n")
            sys.stderr.flush()
        if not app.writes.wait_idle(WRITES_GRACE_SECONDS):
            sys.stderr.write("gave up waiting; the next start cleans up what was cut short\n")
    finally:
        loop.close()
    return result
