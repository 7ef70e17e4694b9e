"""Everything Pillow: sniff and validate uploads, read EXIF, make thumbnails and previews.

Nothing here touches the database or the terminal. Every failure on untrusted bytes
becomes one ``InvalidImageError`` with a sentence a user can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError, features

from imagerepo_tui.errors import InvalidImageError
from imagerepo_tui.stderr_capture import capture_fd2, collect_warnings
from imagerepo_tui.textsafe import visible

# Never let Pillow silently accept a truncated file: that is how half-images get stored.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Every file's decoder warnings are collected into its own message (see
# _decoder_messages), so each must be shown every time, not once per process.
warnings.filterwarnings("always", module=r"PIL\.")
# We enforce our own pixel limit (configurable, default 178 MP) before decoding, and
# Pillow's DecompressionBombError (over 2 x MAX_IMAGE_PIXELS, the same 178 MP) stays on
# as a backstop. Pillow's *warning* fires at half that: turned into an error it refused
# 90-178 MP photos (medium-format cameras) despite the configured limit, so it is
# silenced rather than escalated.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_BASE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")
THUMBNAIL_BOX = (320, 320)
# Decoding every frame of a long animation is the costly part of validation; an
# animation whose frames add up to more than this many limits is refused.
_MAX_FRAME_BUDGET_FACTOR = 4

_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})

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


def allowed_formats() -> tuple[str, ...]:
    """The allowlist: base formats plus HEIF/AVIF when a plugin for them is present."""
    extra: list[str] = []
    if features.check("avif"):
        extra.append("AVIF")
    Image.init()
    if "HEIF" in Image.OPEN:
        extra.append("HEIF")
    return _BASE_FORMATS + tuple(extra)


@dataclass(frozen=True)
class ImageFacts:
    """What an upload learns about an image, computed once and stored beside it."""

    format: str
    mime: str
    width: int  # after EXIF orientation
    height: int
    frames: int
    orientation: int
    exif: dict[str, Any] = field(default_factory=dict)
    taken_at: datetime | None = None
    thumbnail: bytes = b""
    thumbnail_mime: str = "image/webp"
    # 64-bit perceptual hash (``perceptual_hash``) as 16 hex digits.
    phash: str = ""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Headers of accepted formats: a file that starts like one but cannot be opened is a
# damaged one, not an unknown format.
_ACCEPTED_MAGIC = {
    b"\x89PNG": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _describe_unrecognised(data: bytes) -> str:
    head = data[:16]
    named = {
        b"%PDF": "a PDF document",
        b"%!PS": "a PostScript/EPS file",
        b"\xc5\xd0\xd3\xc6": "an EPS file",
        b"8BPS": "a Photoshop (PSD) file",
        b"#!": "a script",
        b"<svg": "an SVG drawing",
    }
    for magic, what in named.items():
        if head.startswith(magic):
            return f"{what}, not an accepted image format"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "a text file, not an image"
    return "not a recognised image format"


def _accepted_list() -> str:
    return ", ".join(allowed_formats())


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=list(allowed_formats()))
    except UnidentifiedImageError:
        raise InvalidImageError(_unopenable(data)) from None


def _unopenable(data: bytes) -> str:
    damaged = next((name for magic, name in _ACCEPTED_MAGIC.items() if data.startswith(magic)), "")
    if damaged:
        return f"a damaged {damaged} file (its header cannot be read)"
    return f"{_describe_unrecognised(data)} (accepted: {_accepted_list()})"


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidImageError(
            f"{width}x{height} pixels is over the {max_pixels / 1e6:.0f}-megapixel limit "
            "(a decompression bomb, or raise IMAGEREPO_MAX_MEGAPIXELS)"
        )


def _decode_all_frames(image: Image.Image, max_pixels: int) -> int:
    """Fully decode every frame: ``verify()`` misses truncation, ``load()`` does not."""
    frames = getattr(image, "n_frames", 1)
    width, height = image.size
    if frames * width * height > max_pixels * _MAX_FRAME_BUDGET_FACTOR:
        raise InvalidImageError(f"{frames} frames of {width}x{height} is too much to decode")
    for index in range(frames):
        image.seek(index)
        image.load()
    image.seek(0)
    return frames


def _clean_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _parse_exif_date(value: Any) -> datetime | None:
    text = _clean_text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _exposure_text(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:g}"


def read_exif(image: Image.Image) -> tuple[dict[str, Any], int, datetime | None]:
    """Selected EXIF as plain strings and numbers, the orientation, and the date taken."""
    exif = image.getexif()
    details = exif.get_ifd(ExifTags.IFD.Exif)
    tags = ExifTags.Base
    found: dict[str, Any] = {}
    for key, tag, source in (
        ("camera_make", tags.Make, exif),
        ("camera_model", tags.Model, exif),
        ("lens", tags.LensModel, details),
        ("software", tags.Software, exif),
    ):
        text = _clean_text(source.get(tag))
        if text:
            found[key] = text[:200]
    for key, tag in (
        ("f_number", tags.FNumber),
        ("focal_length_mm", tags.FocalLength),
        ("iso", tags.ISOSpeedRatings),
    ):
        raw = details.get(tag)
        if isinstance(raw, tuple) and raw:
            raw = raw[0]
        number = _number(raw)
        if number is not None:
            found[key] = number
    exposure = _number(details.get(tags.ExposureTime))
    if exposure is not None:
        found["exposure_time_s"] = exposure
        found["exposure"] = _exposure_text(exposure)
    raw_orientation = _number(exif.get(_ORIENTATION_TAG))
    orientation = int(raw_orientation) if raw_orientation and 1 <= raw_orientation <= 8 else 1
    if orientation != 1:
        found["orientation"] = orientation
    taken_at = _parse_exif_date(details.get(tags.DateTimeOriginal)) or _parse_exif_date(
        exif.get(tags.DateTime)
    )
    if taken_at:
        found["date_taken"] = taken_at.isoformat()
    return found, orientation, taken_at


def _choose_draft(image: Image.Image, box: tuple[int, int]) -> None:
    """JPEG DCT scaling: decode at 1/2..1/8 size directly, several times faster.

    Only effective before the first decode; a no-op afterwards and for other formats.
    """
    if image.format == "JPEG":
        image.draft("RGB", box)


def _shrink(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Orientation applied, mode made displayable, fitted inside ``box``."""
    _choose_draft(image, box)
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    upright = upright.convert("RGBA" if has_alpha else "RGB")
    upright.thumbnail(box, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return upright


def _encode_thumbnail(small: Image.Image) -> bytes:
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=80, method=3)
    return out.getvalue()


# -- perceptual hashes ------------------------------------------------------------------
#
# Computed here with Pillow and numpy rather than with the ``imagehash`` library: its
# pHash is these dozen lines (grey 32x32, a 2-D DCT, the 8x8 lowest frequencies against
# their median), but it pulls in scipy (for the DCT, ~40 MB) and PyWavelets, while
# numpy is already installed with the embedded server (SecantusDB -> shapely) and a
# 32-point DCT is one small matrix product. pHash rather than dHash: measured on real
# photos, unrelated images stay much further apart (see tests/test_duplicates.py).
PHASH_BITS = 64
_PHASH_SIDE = 32
_PHASH_LOW = 8


def _dct_rows() -> Any:
    """The first 8 rows of the 32-point DCT-II matrix (unscaled: only the order of
    the coefficients against their median matters)."""
    import numpy as np  # on first use: the TUI's first frame does not wait for it

    k = np.arange(_PHASH_LOW)[:, None]
    n = np.arange(_PHASH_SIDE)[None, :]
    return np.cos(np.pi * (2 * n + 1) * k / (2 * _PHASH_SIDE))


def perceptual_hash(image: Image.Image) -> str:
    """A 64-bit pHash of a decoded image as 16 hex digits: close (a few bits apart)
    for resized or re-encoded copies of one picture, about 32 bits apart for unrelated
    ones. Feed it the upright picture (``_shrink``'s output at upload, or the stored
    thumbnail): the same picture turned is another picture to it."""
    import numpy as np

    grey = image.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    rows = _dct_rows()
    low = rows @ pixels @ rows.T
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def thumbnail_hash(thumbnail: bytes) -> str:
    """The perceptual hash of a stored thumbnail (what the backfill of images stored
    before hashes existed reads instead of their originals)."""
    with _decoder_messages():
        try:
            with Image.open(io.BytesIO(thumbnail), formats=["WEBP", "JPEG", "PNG"]) as image:
                image.load()
                return perceptual_hash(image)
        except Exception as error:  # a damaged stored thumbnail is one skipped image
            raise InvalidImageError(_decode_failure(error)) from None


def original_hash(data: bytes, *, max_pixels: int) -> str:
    """The perceptual hash of stored original bytes, drawn as an upload draws them."""
    with _decoder_messages():
        try:
            image = _open(data)
            _check_pixels(image, max_pixels)
            with _native_output(image, []):
                return perceptual_hash(_shrink(image, THUMBNAIL_BOX))
        except InvalidImageError:
            raise
        except Exception as error:
            raise InvalidImageError(_decode_failure(error)) from None


# -- what decoders say --------------------------------------------------------------------


@contextlib.contextmanager
def _decoder_messages() -> Iterator[list[str]]:
    """Collect this thread's Pillow warnings; an ``InvalidImageError`` raised inside
    leaves with them folded into its message (one line per file, never a path)."""
    messages: list[str] = []
    try:
        with collect_warnings(messages):
            yield messages
    except InvalidImageError as error:
        raise InvalidImageError(_with_messages(str(error), messages)) from None


def _native_output(image: Image.Image, into: list[str]) -> contextlib.AbstractContextManager[Any]:
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


def _is_native_warning(message: str) -> bool:
    return bool(_LIBTIFF_WARNING.search(message))


# -- the entry points -------------------------------------------------------------------


def inspect_image(data: bytes, *, max_pixels: int) -> ImageFacts:
    """Validate untrusted bytes as an accepted image and compute everything stored beside it.

    Raises ``InvalidImageError`` for anything we would not want in the library, with
    what the decoder said about the file folded into its one-line message.
    """
    if not data:
        raise InvalidImageError("empty file")
    with _decoder_messages() as messages:
        return _inspect(data, max_pixels, messages)


def _inspect(data: bytes, max_pixels: int, messages: list[str]) -> ImageFacts:
    native: list[str] = []
    try:
        image = _open(data)
        _check_pixels(image, max_pixels)
        image_format = image.format or "UNKNOWN"
        width, height = image.size
        exif, orientation, taken_at = read_exif(image)
        _choose_draft(image, THUMBNAIL_BOX)  # a scaled JPEG decode still detects truncation
        try:
            with _native_output(image, native):
                frames = _decode_all_frames(image, max_pixels)
                # The hash comes from the thumbnail's picture: no second decode.
                small = _shrink(image, THUMBNAIL_BOX)
                thumbnail = _encode_thumbnail(small)
                phash = perceptual_hash(small)
        finally:
            # What the C decoder printed explains a failure best: first, errors first.
            messages[:0] = sorted(native, key=_is_native_warning)
        if not all(_is_native_warning(message) for message in native):
            raise InvalidImageError("damaged image data")
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidImageError(f"refused as a decompression bomb: {error}") from None
    except Exception as error:  # Pillow raises many types on hostile input; all mean "bad file"
        raise InvalidImageError(_decode_failure(error)) from None
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageFacts(
        format=image_format,
        mime=Image.MIME.get(image_format, "application/octet-stream"),
        width=width,
        height=height,
        frames=frames,
        orientation=orientation,
        exif=exif,
        taken_at=taken_at,
        thumbnail=thumbnail,
        phash=phash,
    )


def _decode_failure(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if "truncated" in text.lower() or isinstance(error, EOFError):
        return "truncated or damaged image data (the file is incomplete)"
    return f"cannot decode image: {text}"


def render_preview(data: bytes, box: tuple[int, int]) -> Image.Image:
    """Decode stored bytes into an upright RGB(A) image that fits ``box`` pixels.

    What the decoder prints is kept off the terminal; it is only told when the preview
    fails (a preview shows whatever decodes)."""
    with _decoder_messages() as messages:
        try:
            image = _open(data)
            with _native_output(image, messages):
                return _shrink(image, box)
        except InvalidImageError:
            raise
        except Exception as error:  # a damaged stored original must not crash a preview
            raise InvalidImageError(_decode_failure(error)) from None
