"""Real pixels in the grid's tiles on Sixel terminals: a tile encoded a screen line at a time.

Each screen line of a tile carries its own Sixel slice, one cell tall, in the line's
own segments: the line writes spaces over the picture's cells (clearing whatever was
drawn there before), saves the cursor, steps back over the spaces, draws the slice
and restores the cursor. A line is thus complete on its own: Textual may repaint any
set of lines (scrolling, a cursor move, a modal closing) and every line repainted
brings its pixels back; no absolute position is written, so a moved widget is fine.

Textual counts a segment's text as cells unless it is a control segment, and its line
filters drop that flag: ``settle`` puts it back and cuts strips without splitting a
slice. Under a modal screen the slices are left out (they would draw over it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from imagerepo_tui import imaging
from imagerepo_tui.tui.widgets.preview import SixelImage, get_cell_size, image_widget_class

# Zero-width "move forward 0" marks a segment as a control sequence (as textual-image
# does): Rich then counts no cells for it and never splits it.
_CONTROL = ((ControlType.CURSOR_FORWARD, 0),)
_SAVE, _RESTORE = "\x1b7", "\x1b8"
# Pixels not drawn keep what is there (P2 = 1): the last band of a slice (Sixel bands
# are 6 pixels tall, cells rarely a multiple of 6) cannot paint over the line below.
_HEADER = '\x1bP0;1;0q"1;1;{width};{height}'
_BAND = 6
_END = "\x1b\\"
# Runs of 4 or more equal sixels, written "!<count><sixel>".
_RUN = re.compile(rb"(.)\1{3,}")


def sixel_tiles(graphics: str) -> bool:
    """Whether the grid draws its tiles with Sixel for a ``--graphics`` choice: when the
    preview does, except inside tmux (half-blocks there, whatever the outer terminal)."""
    return image_widget_class(graphics) is SixelImage and not os.environ.get("TMUX")


def cell_pixels() -> tuple[int, int]:
    """A terminal cell's size in pixels (asked once, as the preview asks it)."""
    cell = get_cell_size()
    return cell.width, cell.height


@dataclass(frozen=True)
class SixelTile:
    """A tile picture ``width`` cells wide, one Sixel string per screen line."""

    width: int
    lines: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.lines)

    def line(self, y: int, style: Style) -> list[Segment]:
        """Screen line ``y`` of the picture: spaces, then the slice drawn over them."""
        width = self.width
        draw = f"{_SAVE}\x1b[{width}D{self.lines[y]}{_RESTORE}"
        return [Segment(" " * width, style), Segment(draw, None, _CONTROL)]


def sixel_tile(
    data: bytes, picture: tuple[int, int], cell: tuple[int, int], rotation: int
) -> SixelTile:
    """A stored thumbnail shrunk into ``picture`` (columns, rows) cells of ``cell``
    pixels, stretched (by under half a cell) to fill whole cells, cut into lines."""
    columns, rows = picture
    cell_width, cell_height = cell
    image = imaging.render_preview(data, (columns * cell_width, rows * cell_height), rotation)
    width = max(1, min(columns, round(image.width / cell_width)))
    height = max(1, min(rows, round(image.height / cell_height)))
    image = image.convert("RGB").resize((width * cell_width, height * cell_height))
    # One palette for the whole tile: its slices' colours match where they meet.
    paletted = image.quantize(256, method=PILImage.Quantize.FASTOCTREE)
    lines = tuple(
        _encode(paletted.crop((0, y * cell_height, paletted.width, (y + 1) * cell_height)))
        for y in range(height)
    )
    return SixelTile(width, lines)


def _encode(image: Any) -> str:
    """A paletted image as Sixel: each band, each of its colours a pass of its own.

    Not textual-image's encoder: it paints a colour's whole span first and the other
    colours over it, which xterm (379, as a VT340) drew as flat stripes and specks in
    slices a cell tall, though the same picture in one piece came out right. Pure
    Python without a per-pixel loop: a colour's pass is built by ``bytes.translate``
    and big-integer sums, a few milliseconds a tile."""
    width, height = image.size
    data = image.tobytes()
    palette = image.getpalette() or []
    registers = []
    for colour in sorted(set(data)):
        red, green, blue = (round(v * 100 / 255) for v in palette[colour * 3 : colour * 3 + 3])
        registers.append(f"#{colour};2;{red};{green};{blue}")
    bands = []
    for top in range(0, height, _BAND):
        rows = [data[y * width : (y + 1) * width] for y in range(top, min(height, top + _BAND))]
        passes = []
        for colour in sorted(set(b"".join(rows))):
            bits = sum(
                int.from_bytes(row.translate(_bit_table(colour, k)), "big")
                for k, row in enumerate(rows)
            )
            sixels = bits.to_bytes(width, "big").translate(_PRINTABLE).rstrip(b"?")
            passes.append(f"#{colour}" + _RUN.sub(_run, sixels).decode("ascii"))
        bands.append("$".join(passes))
    # No "-" after the last band: that would take the Sixel cursor below the image.
    return _HEADER.format(width=width, height=height) + "".join(registers) + "-".join(bands) + _END


def _run(match: re.Match[bytes]) -> bytes:
    return b"!%d%s" % (match.end() - match.start(), match.group(1))


# A sixel's six bits, 0-63, as the printable byte that carries them.
_PRINTABLE = bytes(range(63, 127)) + bytes(192)
_BIT_TABLES: dict[tuple[int, int], bytes] = {}


def _bit_table(colour: int, bit: int) -> bytes:
    """``bytes.translate`` table: ``colour`` becomes ``1 << bit``, any other 0."""
    table = _BIT_TABLES.get((colour, bit))
    if table is None:
        row = bytearray(256)
        row[colour] = 1 << bit
        table = _BIT_TABLES[(colour, bit)] = bytes(row)
    return table


def _is_drawing(segment: Segment) -> bool:
    # No other text starts with ESC: names and titles are escaped (textsafe.visible).
    return segment.text.startswith(_SAVE)


def settle(strips: list[Strip], crop: Region, width: int, active: bool) -> list[Strip]:
    """The gallery's rendered lines (``width`` cells, ``crop`` asked for) made safe to
    composite: slices marked as control segments again, cut at ``crop`` without being
    split, and left out entirely when the screen is under another one."""
    settled = []
    for strip in strips:
        segments = [
            (Segment(s.text, s.style, _CONTROL) if active else Segment("", s.style))
            if _is_drawing(s)
            else s
            for s in strip
        ]
        line = [s for s in segments if s.text or s.control]
        if crop.x or crop.width != width:
            line = list(Segment.divide(line, [crop.x, crop.right]))[1]
        settled.append(Strip(line, crop.width))
    return settled
