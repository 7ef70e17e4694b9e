"""Sizes and counts in words people read, the same in the CLI and the TUI."""

from __future__ import annotations

# The upload limit is set in binary megabytes (``max_file_mb``, ``IMAGEREPO_MAX_FILE_MB``)
# and every message about it counts the same way.
MIB = 1024 * 1024


def human_size(size: float) -> str:
    """1000-based, as file managers and the README's figures count: ``3.1 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def mib(size: float) -> str:
    """Binary megabytes, as the upload limit is set: ``2.5 MiB`` (tiny sizes in bytes)."""
    if size < MIB / 10:
        return f"{size:,.0f} bytes"
    return f"{size / MIB:.1f}".removesuffix(".0") + " MiB"


def over_upload_limit(size: float, max_bytes: int) -> str:
    """The one message for a file over the upload limit, wherever its bytes come from."""
    return f"{mib(size)} is over the {mib(max_bytes)} upload limit (IMAGEREPO_MAX_FILE_MB)"


def plural(count: int, word: str) -> str:
    """``1 image``, ``2,000 images``."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"
