"""Make realistic photo files for benchmarks: 12-megapixel JPEGs with EXIF, cached."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

CACHE = Path(__file__).parent / ".data"


def twelve_megapixel_jpeg(seed: int, width: int = 4000, height: int = 3000) -> Image.Image:
    """Detail and sensor-like noise, so the JPEG is photo-sized (~4-6 MB), not a toy."""
    x0 = -2.2 + (seed % 7) * 0.05
    fractal = Image.effect_mandelbrot((width, height), (x0, -1.4, x0 + 3.2, 1.4), 60 + seed % 40)
    noise = Image.effect_noise((width, height), 20 + seed % 10)
    gradient = Image.linear_gradient("L").rotate(seed * 37 % 360).resize((width, height))
    return Image.merge("RGB", (fractal.convert("L"), noise, gradient))


def make_photo_folder(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 12 MP JPEGs in ``folder``, reusing files made earlier."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"IMG_{seed:04d}.jpg"
        if not path.exists():
            exif = Image.Exif()
            exif[0x010F], exif[0x0110], exif[0x0112] = "BenchCam", "Model 12", 1 + seed % 8
            tmp = path.with_suffix(".tmp")
            twelve_megapixel_jpeg(seed).save(tmp, "JPEG", quality=88, exif=exif.tobytes())
            tmp.replace(path)
        paths.append(path)
    return paths


def make_small_pngs(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 96×64 PNGs (screenshots, exported thumbnails: a few KB
    each) in ``folder``, reusing files made earlier."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    base = twelve_megapixel_jpeg(0, 960, 640)
    for seed in range(count):
        path = folder / f"small_{seed:05d}.png"
        if not path.exists():
            # A different crop of one picture each, and the seed in the first row's
            # pixels so that no two are the same bytes.
            left, top = (seed * 37) % (960 - 96), (seed * 53) % (640 - 64)
            image = base.crop((left, top, left + 96, top + 64))
            for x, byte in enumerate(seed.to_bytes(4, "big")):
                image.putpixel((x, 0), (byte, byte, byte))
            tmp = path.with_suffix(".tmp")
            image.save(tmp, "PNG")
            tmp.replace(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, nargs="?", default=20)
    parser.add_argument("--folder", type=Path, default=CACHE / "photos12mp")
    arguments = parser.parse_args()
    made = make_photo_folder(arguments.folder, arguments.count)
    print(f"{len(made)} photos in {arguments.folder}")
