"""What image decoders say while they work, folded into one escaped line per file.

Pillow's warnings and what C decoders (libtiff) print on file descriptor 2 are caught
per decode (``stderr_capture``) instead of reaching the terminal; a refused file's
reason then carries the first of them.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from PIL import Image

from imagerepo_tui.errors import InvalidImageError
from imagerepo_tui.stderr_capture import capture_fd2, collect_warnings
from imagerepo_tui.textsafe import visible

# Formats whose C decoders print to fd 2 (libtiff, through Pillow). Only their decodes
# are captured: capture windows are serialised, every other format decodes in parallel.
_PRINTING_FORMATS = frozenset({"TIFF"})
# libtiff's warning handler writes "module: Warning, text."; its error handler has no
# "Warning". Pillow carries on after some libtiff errors (a bad fax code word) and
# returns a damaged picture: an error line means the file is refused.
_LIBTIFF_WARNING = re.compile(r"(^|: )Warning, ")
# libtiff names the file it was handed; Pillow hands it a made-up name.
_LIBTIFF_FILE_PREFIX = re.compile(r"^[^\s:]*\.tiff?: ", re.IGNORECASE)
_MAX_NOTE_CHARS = 160


@contextlib.contextmanager
def decoder_messages() -> Iterator[list[str]]:
    """Collect this thread's Pillow warnings; an ``InvalidImageError`` raised inside
    leaves with them folded into its message (one line per file, never a path)."""
    messages: list[str] = []
    try:
        with collect_warnings(messages):
            yield messages
    except InvalidImageError as error:
        raise InvalidImageError(_with_messages(str(error), messages)) from None


def native_output(image: Image.Image, into: list[str]) -> contextlib.AbstractContextManager[Any]:
    """A capture of what the C decoder prints while ``image`` decodes, for formats
    whose decoder prints (taken lazily: Pillow decodes on ``load()``)."""
    if image.format in _PRINTING_FORMATS:
        return capture_fd2(into)
    return contextlib.nullcontext()


def _clean_message(message: str) -> str:
    text = " ".join(_LIBTIFF_FILE_PREFIX.sub("", message.strip()).split())
    text = visible(text.rstrip("."))
    return text if len(text) <= _MAX_NOTE_CHARS else text[: _MAX_NOTE_CHARS - 1] + "…"


def _with_messages(reason: str, messages: list[str]) -> str:
    """``reason (decoder: first message; N more)`` on one line."""
    # Repeats (a warning for each attempt to read the same block) say nothing new.
    cleaned = [text for text in dict.fromkeys(_clean_message(m) for m in messages) if text]
    if not cleaned:
        return reason
    more = f"; {len(cleaned) - 1} more" if len(cleaned) > 1 else ""
    return f"{reason} (decoder: {cleaned[0]}{more})"


def is_native_warning(message: str) -> bool:
    return bool(_LIBTIFF_WARNING.search(message))
