"""Image format names as people write them: what ``format:`` finds, and an export's extension.

Pillow names formats ("JPEG", "HEIF", "MPO"); people write file extensions ("jpg",
"heic"). Pure: no Pillow, no database.
"""

from __future__ import annotations

from imagerepo_tui.query_terms import Equals, OneOf, Term

# What ``format:NAME`` finds, for names that are not simply a stored format. An MPO
# (a camera's multi-picture JPEG: a stereo pair, or a photo with its preview) is a JPEG
# to anyone asking for one; ``format:mpo`` still finds MPOs alone.
_JPEG = ("JPEG", "MPO")
FORMAT_ALIASES: dict[str, tuple[str, ...]] = {
    "jpg": _JPEG,
    "jpeg": _JPEG,
    "jpe": _JPEG,
    "tif": ("TIFF",),
    "heic": ("HEIF",),
    "hif": ("HEIF",),
}
# The extension an export without a stored file name gets, where the format's own name
# (lower-cased) is not the one programs open: an MPO is a JPEG, a phone's HEIF a .heic.
_EXTENSIONS = {"MPO": "jpeg", "HEIF": "heic"}


def format_condition(written: str) -> Term:
    """The term ``format:written`` stands for (any case)."""
    folded = written.casefold()
    formats = FORMAT_ALIASES.get(folded, (folded.upper(),))
    return Equals("format", formats[0]) if len(formats) == 1 else OneOf("format", formats)


def format_extension(image_format: str) -> str:
    """``"jpeg"`` for "MPO", ``"heic"`` for "HEIF", else the name in lower case."""
    return _EXTENSIONS.get(image_format, image_format.lower())
