"""Real image files for tests, made with Pillow (no binary fixtures in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def picture(width: int = 64, height: int = 48, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A deterministic, non-uniform picture; different seeds give different bytes."""
    image = Image.new(mode, (width, height))
    pixels = [
        ((x * 7 + seed * 31) % 256, (y * 5 + seed * 17) % 256, ((x + y) * 3 + seed) % 256)
        for y in range(height)
        for x in range(width)
    ]
    if mode == "RGBA":
        image.putdata(
            [(*rgb, (x * 4) % 256) for rgb, x in zip(pixels, range(len(pixels)), strict=True)]
        )
    else:
        image.putdata(pixels)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg_bytes(
    width: int = 64,
    height: int = 48,
    seed: int = 0,
    orientation: int | None = None,
    camera: tuple[str, str] | None = None,
) -> bytes:
    image = picture(width, height, seed)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if camera is not None:
        exif[0x010F], exif[0x0110] = camera
    return encode(image, "JPEG", quality=90, exif=exif.tobytes())


def animated_gif_bytes(frames: int = 3, seed: int = 0) -> bytes:
    images = [picture(32, 32, seed + n).convert("P") for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def photo_folder(folder: Path, seed: int = 0) -> dict[str, Path]:
    """One file of every accepted kind: JPEG with EXIF orientation, PNG with alpha,
    animated GIF, WebP, TIFF, BMP."""
    return {
        "jpeg": write(
            folder / "rotated.jpg",
            jpeg_bytes(80, 40, seed, orientation=6, camera=("Canon", "EOS 5D")),
        ),
        "png": write(folder / "alpha.png", encode(picture(30, 20, seed + 1, "RGBA"), "PNG")),
        "gif": write(folder / "anim.gif", animated_gif_bytes(3, seed + 2)),
        "webp": write(folder / "pic.webp", encode(picture(40, 30, seed + 3), "WEBP", quality=80)),
        "tiff": write(folder / "scan.tiff", encode(picture(24, 24, seed + 4), "TIFF")),
        "bmp": write(folder / "old.bmp", encode(picture(16, 12, seed + 5), "BMP")),
    }


def phone_exif(orientation: int = 6, taken: str = "2023:07:14 10:20:30") -> bytes:
    """EXIF as a phone writes it: make, model, orientation and the date taken."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    return exif.tobytes()


def heic_bytes(width: int = 64, height: int = 48, seed: int = 0, orientation: int = 6) -> bytes:
    """A real HEIC (HEVC in HEIF), encoded by pillow-heif (imported by the app's
    ``imaging``, which registers it with Pillow)."""
    import imagerepo_tui.imaging  # noqa: F401 - registers the HEIF opener and saver

    return encode(picture(width, height, seed), "HEIF", quality=80, exif=phone_exif(orientation))


def avif_bytes(width: int = 64, height: int = 48, seed: int = 0, orientation: int = 6) -> bytes:
    """A real AVIF, encoded by Pillow's own AVIF plugin."""
    return encode(picture(width, height, seed), "AVIF", quality=80, exif=phone_exif(orientation))


def mpo_bytes(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A camera's multi-picture JPEG: two frames (Pillow opens it as format "MPO")."""
    frames = [picture(width, height, seed), picture(width, height, seed + 1)]
    return encode(frames[0], "MPO", save_all=True, append_images=frames[1:], quality=90)
