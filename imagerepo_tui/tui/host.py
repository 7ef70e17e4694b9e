"""What screens, widgets and jobs need from the app: the ``AppHost`` protocol, and the
one way to the open repository.

Screens and helpers type against ``AppHost`` instead of importing ``ImageRepoApp``:
``tui.app`` imports the screens, so their importing it back (even for type checking)
would make a circle. ``ImageRepoApp`` satisfies the protocol structurally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from textual.dom import DOMNode

from imagerepo_tui.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer

    from imagerepo_tui.config import Settings
    from imagerepo_tui.repository import ImageRepository
    from imagerepo_tui.tui.writes import WritesInFlight

ResultT = TypeVar("ResultT")
Severity = Literal["information", "warning", "error"]


class SafekeepingActions(Protocol):
    """The check and backup the command palette offers."""

    def start_check(self) -> None: ...
    def start_backup(self) -> None: ...
    def describe(self, what: str) -> str: ...


@runtime_checkable
class AppHost(Protocol):
    """The app, as the rest of the TUI sees it (``ImageRepoApp`` is the one)."""

    # None until connected, and again while the database is unreachable.
    repository: ImageRepository | None
    # The app's reactive state, which the status line shows.
    connection: str
    image_count: int | None
    db_description: str
    activity: str
    user_name: str
    reminder: str

    @property
    def settings(self) -> Settings: ...
    @property
    def writes(self) -> WritesInFlight: ...
    @property
    def safekeeping(self) -> SafekeepingActions: ...

    def handle_error(self, error: BaseException) -> None: ...
    def upload_under_way(self) -> bool: ...

    # Textual's own, spelled out for the helpers that are not widgets.
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Severity = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None: ...
    def call_from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...
    def run_worker(
        self,
        work: Callable[[], None],
        name: str | None = "",
        group: str = "default",
        description: str = "",
        exit_on_error: bool = True,
        start: bool = True,
        exclusive: bool = False,
        thread: bool = False,
    ) -> object: ...
    def set_interval(self, interval: float, callback: Callable[[], None]) -> Timer: ...
    def set_timer(self, delay: float, callback: Callable[[], None]) -> Timer: ...
    def push_screen(
        self, screen: Screen[ResultT], callback: Callable[[ResultT | None], None] | None = None
    ) -> object: ...


def host(node: DOMNode) -> AppHost:
    """The app ``node`` belongs to, as an ``AppHost``."""
    app = node.app
    if not isinstance(app, AppHost):  # only a test harness app could miss something
        raise TypeError(f"{type(app).__name__} is not an AppHost")
    return app


def require_repository(app: AppHost) -> ImageRepository:
    """The open repository, for a worker: a lost database is the app's to show and retry."""
    repository = app.repository
    if repository is None:
        raise DatabaseUnavailableError("the database is not connected")
    return repository


def repository_or_warn(node: DOMNode) -> ImageRepository | None:
    """The open repository, for a key pressed on the UI thread; None (and the user told)
    while there is none."""
    app = host(node)
    if app.repository is None:
        app.notify("The database is not connected yet.", severity="warning")
    return app.repository
