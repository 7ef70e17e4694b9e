"""Sizes and counts in words people read, the same in the CLI and the TUI."""

from __future__ import annotations


def human_size(size: float) -> str:
    """1000-based, as file managers and the README's figures count: ``3.1 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def plural(count: int, word: str) -> str:
    """``1 image``, ``2,000 images``."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"
