"""Pure helpers for paths: which files look like images, and what a paste names."""

from __future__ import annotations

import shlex
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
    return Path(token).expanduser()


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
