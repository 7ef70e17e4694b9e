"""Everything Pillow: sniff and validate uploads, read EXIF, make thumbnails and previews.

Nothing here touches the database or the terminal. Every failure on untrusted bytes
becomes one ``InvalidImageError`` with a sentence a user can act on.
"""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError, features

from imagerepo_tui.decoder_notes import decoder_messages, is_native_warning, native_output
from imagerepo_tui.errors import InvalidImageError
from imagerepo_tui.perceptual import perceptual_hash

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
# Pillow opens a camera's multi-picture JPEG (MPO: stereo pairs, a preview beside the
# photo) as format "MPO" through the JPEG opener. It is stored as "MPO" (what it is; the
# bytes stay as they are), served as image/jpeg, and ``format:jpg`` finds it.
_MIME_OF = {"MPO": "image/jpeg"}
THUMBNAIL_BOX = (320, 320)
# Decoding every frame of a long animation is the costly part of validation; an
# animation whose frames add up to more than this many limits is refused.
_MAX_FRAME_BUDGET_FACTOR = 4

_ORIENTATION_TAG = 0x0112
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


def allowed_formats() -> tuple[str, ...]:
    """The allowlist: base formats plus HEIF/AVIF when a plugin for them is present."""
    return _BASE_FORMATS + _phone_formats()


@functools.cache
def _phone_formats() -> tuple[str, ...]:
    """Phones' formats, set up on the first decode rather than at import (the TUI
    imports this module before its first frame). HEIF/HEIC: pillow-heif's opener,
    registered once for the whole core (this is its only Pillow module); thumbnails,
    depth maps and auxiliary images inside the file are never shown, so not read.
    AVIF: Pillow's own plugin, nothing to register: its wheels carry libavif since 11.3
    (pyproject asks for >= 11.3), and pillow-heif 1.x dropped AVIF for that reason."""
    from pillow_heif import register_heif_opener

    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    extra: list[str] = []
    if features.check("avif"):
        extra.append("AVIF")
    Image.init()
    if "HEIF" in Image.OPEN:
        extra.append("HEIF")
    return tuple(extra)


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
# ISO base media files (HEIF, AVIF) open with a box "ftyp" at byte 4, then a brand.
_FTYP_BRANDS = {
    b"avif": "AVIF",
    b"avis": "AVIF",
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "HEIF"),
    **dict.fromkeys((b"hevm", b"hevs", b"mif1", b"msf1"), "HEIF"),
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
    if data[4:8] == b"ftyp":
        damaged = _FTYP_BRANDS.get(data[8:12], "")
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


# A clockwise turn as Pillow's transposition (Pillow's ROTATE_90 turns to the left).
_CLOCKWISE = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def turned(image: Image.Image, rotation: int) -> Image.Image:
    """``image`` turned ``rotation`` degrees clockwise (0, 90, 180 or 270; anything
    else leaves it as it is: a stored rotation is checked before it gets here)."""
    method = _CLOCKWISE.get(rotation % 360)
    return image if method is None else image.transpose(method)


def _shrink(image: Image.Image, box: tuple[int, int], rotation: int = 0) -> Image.Image:
    """Orientation applied, then the image's own turn, mode made displayable, fitted
    inside ``box``."""
    _choose_draft(image, box)
    upright = turned(ImageOps.exif_transpose(image), rotation)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    upright = upright.convert("RGBA" if has_alpha else "RGB")
    upright.thumbnail(box, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return upright


def _encode_thumbnail(small: Image.Image) -> bytes:
    out = io.BytesIO()
    small.save(out, format="WEBP", quality=80, method=3)
    return out.getvalue()


# -- perceptual hashes of stored bytes (the arithmetic: ``perceptual.py``) ------------


def thumbnail_hash(thumbnail: bytes) -> str:
    """The perceptual hash of a stored thumbnail (what the backfill of images stored
    before hashes existed reads instead of their originals)."""
    with decoder_messages():
        try:
            with Image.open(io.BytesIO(thumbnail), formats=["WEBP", "JPEG", "PNG"]) as image:
                image.load()
                return perceptual_hash(image)
        except Exception as error:  # a damaged stored thumbnail is one skipped image
            raise InvalidImageError(_decode_failure(error)) from None


def original_hash(data: bytes, *, max_pixels: int) -> str:
    """The perceptual hash of stored original bytes, drawn as an upload draws them."""
    with decoder_messages():
        try:
            image = _open(data)
            _check_pixels(image, max_pixels)
            with native_output(image, []):
                return perceptual_hash(_shrink(image, THUMBNAIL_BOX))
        except InvalidImageError:
            raise
        except Exception as error:
            raise InvalidImageError(_decode_failure(error)) from None


# -- the entry points -------------------------------------------------------------------


def inspect_image(data: bytes, *, max_pixels: int) -> ImageFacts:
    """Validate untrusted bytes as an accepted image and compute everything stored beside it.

    Raises ``InvalidImageError`` for anything we would not want in the library, with
    what the decoder said about the file folded into its one-line message.
    """
    if not data:
        raise InvalidImageError("empty file")
    with decoder_messages() as messages:
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
            with native_output(image, native):
                frames = _decode_all_frames(image, max_pixels)
                # The hash comes from the thumbnail's picture: no second decode.
                small = _shrink(image, THUMBNAIL_BOX)
                thumbnail = _encode_thumbnail(small)
                phash = perceptual_hash(small)
        finally:
            # What the C decoder printed explains a failure best: first, errors first.
            messages[:0] = sorted(native, key=is_native_warning)
        if not all(is_native_warning(message) for message in native):
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
        mime=_MIME_OF.get(image_format) or Image.MIME.get(image_format, "application/octet-stream"),
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


def render_preview(
    data: bytes, box: tuple[int, int], rotation: int = 0, *, max_pixels: int | None = None
) -> Image.Image:
    """Decode stored bytes into an upright RGB(A) image that fits ``box`` pixels,
    turned ``rotation`` degrees clockwise (the image's stored rotation). A stored
    thumbnail is upright already (its EXIF orientation was applied when it was made).
    With ``max_pixels``, an image over that many pixels is refused before decoding.

    What the decoder prints is kept off the terminal; it is only told when the preview
    fails (a preview shows whatever decodes)."""
    with decoder_messages() as messages:
        try:
            image = _open(data)
            if max_pixels is not None:
                _check_pixels(image, max_pixels)
            with native_output(image, messages):
                return _shrink(image, box, rotation)
        except InvalidImageError:
            raise
        except Exception as error:  # a damaged stored original must not crash a preview
            raise InvalidImageError(_decode_failure(error)) from None


# -- a turned copy ------------------------------------------------------------------------

# Formats Pillow writes, and how a turned copy is written in each; anything else
# (HEIF, AVIF without an encoder) becomes PNG.
_RENDER_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 95},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 95},
    "TIFF": {"compression": "tiff_deflate"},
    "BMP": {},
    "GIF": {},
}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "BMP": "bmp"}


def render_turned(data: bytes, rotation: int) -> tuple[bytes, str | None]:
    """A copy of stored bytes as they are drawn: EXIF orientation applied, then turned
    ``rotation`` degrees clockwise. In the original's format where Pillow writes it
    (JPEG at quality 95, its EXIF kept without the orientation tag; every frame of an
    animation), else PNG. Returns the bytes and, when they are PNG instead of the
    original's format, the extension their file name needs ("png")."""
    with decoder_messages() as messages:
        try:
            image = _open(data)
            with native_output(image, messages):
                return _write_turned(image, rotation)
        except InvalidImageError:
            raise
        except Exception as error:  # a damaged stored original must not crash an export
            raise InvalidImageError(_decode_failure(error)) from None


def _write_turned(image: Image.Image, rotation: int) -> tuple[bytes, str | None]:
    source = image.format or ""
    target = source if source in _RENDER_OPTIONS else "PNG"
    frames = getattr(image, "n_frames", 1) if target in ("GIF", "WEBP") else 1
    pictures: list[Image.Image] = []
    for index in range(frames):
        image.seek(index)
        frame = turned(ImageOps.exif_transpose(image), rotation)
        if target == "JPEG" and frame.mode not in ("RGB", "L", "CMYK"):
            frame = frame.convert("RGB")
        pictures.append(frame)
    options: dict[str, Any] = dict(_RENDER_OPTIONS[target])
    exif = pictures[0].info.get("exif") or image.info.get("exif")
    if exif and target in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["exif"] = exif
    if len(pictures) > 1:
        options.update(save_all=True, append_images=pictures[1:], loop=image.info.get("loop", 0))
        if "duration" in image.info:
            options["duration"] = image.info["duration"]
    out = io.BytesIO()
    pictures[0].save(out, format=target, **options)
    return out.getvalue(), None if target == source else _EXTENSIONS.get(target, "png")
