"""The one road for worker errors: from any thread to ``App.handle_error`` on the
UI thread, where they become a status change or a notification, never a traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from imagerepo_tui.tui.host import AppHost


def report_error_from_thread(app: AppHost, error: BaseException) -> None:
    """Hand an error from a worker thread to the app's one handler."""
    with contextlib.suppress(RuntimeError):  # the app is closing
        app.call_from_thread(app.handle_error, error)


@contextmanager
def report_errors(app: AppHost, on_error: Callable[[], None] | None = None) -> Iterator[None]:
    """Wrap a worker's body: any exception goes to ``handle_error`` on the UI thread."""
    try:
        yield
    except Exception as error:
        if on_error is not None:
            try:
                app.call_from_thread(on_error)
            except RuntimeError:
                return
        report_error_from_thread(app, error)
