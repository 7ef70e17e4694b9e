"""Helpers for paths: which files look like images, what a paste names, and the
typed folder path of the picker (expanding, completing, checking it)."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

# The picker's filter only: what is accepted is decided by content at upload time.
IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".mpo",
        ".png",
        ".gif",
        ".webp",
        ".tif",
        ".tiff",
        ".bmp",
        ".heic",
        ".heif",
        ".hif",
        ".avif",
    }
)


def looks_like_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _from_token(token: str) -> Path | None:
    token = token.strip()
    if not token:
        return None
    if token.startswith("file://"):
        parsed = urlparse(token)
        if parsed.netloc not in ("", "localhost"):
            return None  # a file on another host is not ours to read
        return Path(unquote(parsed.path))
    return expand(token)


def _tokens(line: str) -> list[str]:
    """Shell-like words: terminals quote or backslash-escape dropped paths."""
    try:
        return shlex.split(line, posix=True)
    except ValueError:  # unbalanced quotes: take the line as one path
        return [line.strip().strip("'\"")]


def parse_pasted_paths(text: str) -> list[Path]:
    """The existing files and folders a paste names, in order, without repeats.

    Accepts one path per line or several per line, quoted ('…', "…"),
    backslash-escaped (spaces as ``\\ ``) or as ``file://`` URLs.
    """
    found: list[Path] = []
    for line in text.replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        whole = _from_token(line)
        # A path with spaces pasted bare is one existing path, not several words.
        candidates: list[Path | None]
        if whole is not None and whole.exists():
            candidates = [whole]
        else:
            candidates = [_from_token(token) for token in _tokens(line)]
        for path in candidates:
            if path is not None and path.exists() and path not in found:
                found.append(path)
    return found


# -- a folder path typed into the picker ---------------------------------------------------

COMPLETION_SCAN_LIMIT = 5000  # entries read from one folder to complete a name


def expand(text: str, base: Path | None = None) -> Path:
    """``text`` as a path: ``~`` and ``~user`` expanded (an unknown user stays as typed),
    relative to ``base`` when given."""
    path = Path(os.path.expanduser(text))
    return base / path if base is not None and not path.is_absolute() else path


def typed_folder(text: str, base: Path) -> Path:
    """The folder a typed or pasted line names: quoted, ``file://`` and ``~`` forms
    accepted, relative to ``base``."""
    text = text.strip()
    tokens = _tokens(text) if text[:1] in "'\"" else [text]
    path = _from_token(tokens[0]) if len(tokens) == 1 else None
    path = path if path is not None else expand(text)
    return path if path.is_absolute() else base / path


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be browsed, in a few words; None when it can."""
    try:
        if not path.exists():
            return "no such folder"
        if not path.is_dir():
            return "not a folder"
        with os.scandir(path) as entries:
            next(entries, None)
    except PermissionError:
        return "permission denied"
    except OSError as error:
        return error.strerror or type(error).__name__
    except ValueError as error:  # a NUL in the path
        return str(error)
    return None


@dataclass(frozen=True)
class Completion:
    """The field's text after ``tab``, and the subfolder names that matched."""

    text: str
    candidates: tuple[str, ...]


def complete_folder(text: str, base: Path) -> Completion:
    """Shell-like completion of a folder path: the common prefix of the matching
    subfolders (with a ``/`` once only one matches). Hidden folders only when the
    typed name starts with a dot."""
    head, slash, partial = text.rpartition("/")
    parent_text = head + slash
    if not slash and text.startswith("~") and expand(text) != Path(text):
        return Completion(text + "/", (text,))  # "~" or "~user": that home folder
    parent = expand(parent_text or ".", base)
    names: list[str] = []
    try:
        with os.scandir(parent) as entries:
            for count, entry in enumerate(entries):
                if count >= COMPLETION_SCAN_LIMIT:
                    break
                if not entry.name.startswith(partial):
                    continue
                if entry.name.startswith(".") and not partial.startswith("."):
                    continue
                if entry.is_dir():
                    names.append(entry.name)
    except (OSError, ValueError):
        return Completion(text, ())
    names.sort()
    if not names:
        return Completion(text, ())
    if len(names) == 1:
        return Completion(parent_text + names[0] + "/", tuple(names))
    return Completion(parent_text + _common_prefix(names), tuple(names))


def _common_prefix(names: list[str]) -> str:
    """The longest start all ``names`` share, character by character (the first
    and the last in sorted order share no more than all of them do)."""
    first, last = min(names), max(names)
    length = 0
    while length < len(first) and first[length] == last[length]:
        length += 1
    return first[:length]
