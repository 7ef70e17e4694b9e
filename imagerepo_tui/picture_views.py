"""Decoded pictures arranged for display: contact sheets and zoomed windows (Pillow only).

Split from ``imaging`` (which decodes untrusted bytes): these work on images already
decoded and shrunk there, so nothing here reads a file or the database.
"""

from __future__ import annotations

from PIL import Image


def contact_sheet(tiles: list[Image.Image], box: tuple[int, int], columns: int) -> Image.Image:
    """``tiles`` side by side, ``columns`` to a row, each centred in its cell of a sheet
    ``box`` wide (and as tall as its rows need, at most ``box``'s height)."""
    columns = max(1, min(columns, len(tiles) or 1))
    rows = max(1, -(-len(tiles) // columns))
    cell = (max(1, box[0] // columns), max(1, min(box[1] // rows, box[0] // columns)))
    sheet = Image.new("RGB", (cell[0] * columns, cell[1] * rows), (0, 0, 0))
    for index, tile in enumerate(tiles):
        small = tile.copy()
        small.thumbnail((max(1, cell[0] - 4), max(1, cell[1] - 4)), Image.Resampling.BICUBIC)
        column, row = index % columns, index // columns
        left = column * cell[0] + (cell[0] - small.width) // 2
        top = row * cell[1] + (cell[1] - small.height) // 2
        sheet.paste(small.convert("RGB"), (left, top))
    return sheet


def zoomed_view(
    image: Image.Image, box: tuple[int, int], zoom: float, centre: tuple[float, float]
) -> Image.Image:
    """The part of ``image`` seen at ``zoom`` times its fitted size in ``box``, around
    ``centre`` (fractions of the width and height), scaled to fit ``box``.

    Only the aspect ratio of ``image`` matters, so a small render (a thumbnail) and a
    large one show the same part, the large one sharper."""
    width, height = image.size
    fraction_x, fraction_y = zoom_window(image.size, box, zoom)
    crop_w, crop_h = max(1, round(width * fraction_x)), max(1, round(height * fraction_y))
    left = min(max(0, round(centre[0] * width - crop_w / 2)), width - crop_w)
    top = min(max(0, round(centre[1] * height - crop_h / 2)), height - crop_h)
    part = image.crop((left, top, left + crop_w, top + crop_h))
    scale = min(box[0] / crop_w, box[1] / crop_h)
    size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
    return part.resize(size, Image.Resampling.BICUBIC)


def zoom_window(size: tuple[int, int], box: tuple[int, int], zoom: float) -> tuple[float, float]:
    """The fractions of an image's width and height seen at ``zoom`` in ``box``."""
    width, height = max(1, size[0]), max(1, size[1])
    fitted = min(box[0] / width, box[1] / height)
    return (
        min(1.0, box[0] / (zoom * fitted * width)),
        min(1.0, box[1] / (zoom * fitted * height)),
    )
