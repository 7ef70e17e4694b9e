"""What the app remembers between runs (view mode, folders): a small JSON file, never trusted.

Kept apart from ``config.toml``, which is the user's to write: this file is the app's
own, rewritten whole and atomically on each change. A missing, unreadable or mangled
file means "nothing remembered", and a value of the wrong type reads as its default, so
what is remembered can never stop the app from starting.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import platformdirs

from imagerepo_tui.config import APP_NAME

STATE_ENV = "IMAGEREPO_STATE"
MAX_BYTES = 64 * 1024  # far above what is kept; a bigger file is not ours to read


def state_path() -> Path:
    """``IMAGEREPO_STATE`` if set (tests use it), else the platform's state folder."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "state.json"


class Remembered:
    """Typed reads and writes of the state file; writes never raise."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_path()
        self._values = self._read()

    def _read(self) -> dict[str, object]:
        try:
            with self.path.open("rb") as file:
                raw = file.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                return {}
            loaded = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def text(self, key: str, default: str = "") -> str:
        value = self._values.get(key)
        return value if isinstance(value, str) else default

    def texts(self, key: str) -> list[str]:
        value = self._values.get(key)
        if not isinstance(value, list):
            return []
        return [item for item in value if isinstance(item, str)]

    def number(self, key: str, default: int) -> int:
        value = self._values.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return default
        return value

    def set(self, key: str, value: str | int | list[str]) -> None:
        """Remember ``value``; a file that cannot be written only forgets it. The file
        is read again first: another part of the app (or another instance) may have
        remembered something else since this one was read."""
        self._values = {**self._read(), key: value}
        temporary: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(self._values, file, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
        except OSError:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
