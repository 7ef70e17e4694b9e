"""The folders uploads came from, most recent first: where the upload picker opens,
and its list of recent folders. Kept in ``remembered.py``'s state file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from imagerepo_tui.remembered import Remembered

KEY = "upload.recent_folders"
LIMIT = 8


def _folder_of(path: Path) -> Path:
    """A folder uploaded (recursively) is itself the place; a file's is its folder."""
    absolute = Path(os.path.abspath(path))
    return absolute if absolute.is_dir() else absolute.parent


def _storable(text: str) -> bool:
    # A name that is not valid UTF-8 on disk (kept by Python as lone surrogates)
    # cannot go into the JSON file: it is not remembered rather than breaking it.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def recent_folders(remembered: Remembered | None = None) -> list[Path]:
    """The remembered folders that are still folders, most recent first."""
    remembered = remembered or Remembered()
    found: list[Path] = []
    for text in remembered.texts(KEY):
        path = Path(text)
        if path.is_absolute() and path not in found and _is_folder(path):
            found.append(path)
    return found[:LIMIT]


def remember_upload(paths: Sequence[Path], remembered: Remembered | None = None) -> None:
    """An upload of ``paths`` started: their folders go first in the list, the first
    path's first; repeats and folders that are gone are dropped."""
    remembered = remembered or Remembered()
    new = [_folder_of(path) for path in paths[:LIMIT]]
    folders: list[str] = []
    for path in [*new, *(Path(text) for text in remembered.texts(KEY))]:
        text = str(path)
        if text not in folders and _storable(text) and _is_folder(path):
            folders.append(text)
    remembered.set(KEY, folders[:LIMIT])


def start_folder(remembered: Remembered | None = None) -> Path:
    """Where the picker opens: the folder of the last upload, or the current folder."""
    recent = recent_folders(remembered)
    return recent[0] if recent else current_folder()


def current_folder() -> Path:
    """The current folder, or home if it was deleted under us."""
    try:
        return Path.cwd()
    except OSError:  # the current folder was deleted under us
        return Path(os.path.expanduser("~"))


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False
