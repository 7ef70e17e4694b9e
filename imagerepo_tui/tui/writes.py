"""Writes in flight in worker threads, so quitting can tell them from reads.

Quitting abandons reads: a count or a full-scan search can take seconds on a large
library, and nobody should wait for an answer they will never see. Writes are waited
for, briefly: once the app is gone every batch stops at its next item, so only the
files or changes already under way finish. The repository closes after the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WritesInFlight:
    def __init__(self) -> None:
        self._running = 0
        self._changed = threading.Condition()
        self._when_idle: list[Callable[[], None]] = []

    @property
    def running(self) -> int:
        with self._changed:
            return self._running

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Wrap a worker's body that changes the library or writes files."""
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                idle = self._running == 0
                callbacks, self._when_idle = (self._when_idle, []) if idle else ([], [])
                self._changed.notify_all()
            for callback in callbacks:
                callback()

    def when_idle(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` now if nothing is being written, else after the last write."""
        with self._changed:
            if self._running:
                self._when_idle.append(callback)
                return
        callback()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no write is running; False if ``timeout`` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._running == 0, timeout)
