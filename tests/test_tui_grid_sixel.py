"""The grid's tiles in real pixels on a Sixel terminal (``--graphics sixel``): every
screen line of a tile carries its own Sixel slice, so whatever Textual repaints
brings its pixels back, and only the tiles on screen are drawn."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual._compositor import CompositorUpdate
from textual.pilot import Pilot

from imagerepo_tui import imaging
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp, make_app
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.grid import SixelTile
from imagerepo_tui.tui.widgets.tile_pixels import sixel_tile, sixel_tiles
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.tui_support import SIZE, ready, settle, shown_text, wait_for

# One slice as the screen gets it: cursor saved, back over the picture's spaces, the
# Sixel string (transparent where it draws nothing), cursor restored.
SLICE = re.compile(r"\x1b7\x1b\[(\d+)D(\x1bP0;1;0q.*?\x1b\\)\x1b8", re.DOTALL)


def photos(repo: ImageRepository, folder: Path, count: int) -> None:
    """Pictures larger than the largest tile, in two shapes."""
    for n in range(count):
        size = (480, 320) if n % 3 else (300, 400)
        path = write(folder / f"photo{n:02}.jpg", jpeg_bytes(*size, seed=n))
        assert repo.upload(path).image is not None


def run_sixel_app(
    settings: Settings,
    repo: ImageRepository,
    body: Callable[[Pilot[Any], ImageRepoApp], Awaitable[None]],
    graphics: str = "sixel",
) -> None:
    async def main() -> None:
        app = make_app(settings, graphics=graphics, repository_factory=lambda _: repo)
        async with app.run_test(size=SIZE) as pilot:
            await body(pilot, app)

    asyncio.run(main())


def screen_output(app: ImageRepoApp) -> str:
    """What a full repaint of the screen writes to the terminal."""
    update = app.screen._compositor.render_update(full=True)
    assert update is not None
    return update.render_segments(app.console)


def slices_shown(app: ImageRepoApp) -> list[str]:
    output = screen_output(app)
    found = SLICE.findall(output)
    # Nothing of a slice outside the pattern: never cut in two, never left half-drawn.
    # (The preview pane's own Sixel image is opaque: "\x1bP0;0;0q".)
    assert output.count("\x1bP0;1;0q") == len(found) == output.count("\x1b8")
    return [sixels for _, sixels in found]


def capture_writes(app: ImageRepoApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, what each screen update writes to the terminal (the headless
    driver writes nothing, so it is rendered here as the app would)."""
    written: list[str] = []
    display = app._display

    def capture(screen: Any, renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate):
            written.append(renderable.render_segments(app.console))
        display(screen, renderable)

    monkeypatch.setattr(app, "_display", capture)
    return written


def visible_tiles(gallery: Gallery) -> list[SixelTile]:
    grid = gallery.grid
    tiles = []
    for item in grid.items(int(gallery.scroll_y), gallery.size.height):
        info = gallery.rows.get(item) if item < gallery.rows.total else None
        if info is not None:
            tile = grid.cache.get(grid._key(info))
            assert isinstance(tile, SixelTile), "a tile on screen without its pixels"
            tiles.append(tile)
    return tiles


async def tiles_drawn(pilot: Pilot[Any], gallery: Gallery) -> list[SixelTile]:
    def drawn() -> bool:
        try:
            visible_tiles(gallery)
        except AssertionError:
            return False
        return True

    await wait_for(pilot, drawn)
    await settle(pilot)
    return visible_tiles(gallery)


def expected_slices(gallery: Gallery, tiles: list[SixelTile]) -> set[str]:
    """The slices of the tiles on screen whose lines show (a tile row cut by the
    bottom edge shows its top lines only)."""
    grid = gallery.grid
    top, height = int(gallery.scroll_y), gallery.size.height
    items = list(grid.items(top, height))
    wanted = set()
    for item, tile in zip(items, tiles, strict=False):
        first, _ = grid.span(item)
        offset = (grid.picture[1] - len(tile)) // 2
        for y, sixels in enumerate(tile.lines):
            if top <= first + offset + y < top + height:
                wanted.add(sixels)
    return wanted


def test_the_tiles_on_screen_are_drawn_in_sixel_slices(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    photos(repo, tmp_path / "in", 40)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 40)
        assert gallery.grid.pixels
        await pilot.press("v")
        tiles = await tiles_drawn(pilot, gallery)
        shown = slices_shown(app)
        assert set(shown) == expected_slices(gallery, tiles)
        assert len(shown) >= gallery.grid.columns * 2  # two rows of tiles at least
        assert "▀" not in shown_text(gallery)  # no half-blocks left
        # Names still under the tiles, as plain text.
        first = gallery.rows.get(0)
        assert first is not None and first.filename in shown_text(gallery)

        # PgDn: the next screen's tiles, none of the last screen's.
        before = set(shown)
        await pilot.press("pagedown")
        tiles = await tiles_drawn(pilot, gallery)
        shown = slices_shown(app)
        assert set(shown) == expected_slices(gallery, tiles)
        assert not set(shown) & before

        # Back and forth between tiles repaints the same pixels, nothing stale.
        await pilot.press("right", "down", "left")
        tiles = await tiles_drawn(pilot, gallery)
        assert set(slices_shown(app)) == expected_slices(gallery, tiles)

        # Larger tiles: other slices, wider; fewer columns.
        columns, width = gallery.grid.columns, max(tile.width for tile in tiles)
        await pilot.press("z")
        tiles = await tiles_drawn(pilot, gallery)
        assert gallery.grid.columns < columns and max(tile.width for tile in tiles) > width
        assert set(slices_shown(app)) == expected_slices(gallery, tiles)

        # A narrower terminal: the grid reflows and draws what it shows now.
        await pilot.resize_terminal(80, 30)
        await settle(pilot)
        tiles = await tiles_drawn(pilot, gallery)
        assert set(slices_shown(app)) == expected_slices(gallery, tiles)

    run_sixel_app(settings, repo, body)


def test_a_move_on_screen_sends_only_the_rows_it_changes(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    photos(repo, tmp_path / "in", 30)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 30)
        await pilot.press("v")
        tiles = await tiles_drawn(pilot, gallery)
        columns = gallery.grid.columns
        by_item = dict(enumerate(tiles))
        written = capture_writes(app, monkeypatch)
        await pilot.press("right")  # the first row of tiles, no scrolling
        await settle(pilot)
        assert gallery.cursor == 1 and gallery.scroll_y == 0
        sent = SLICE.findall("".join(written))
        assert "".join(written).count("\x1bP0;1;0q") == len(sent)  # whole slices only
        first_row = {line for item in range(columns) for line in by_item[item].lines}
        assert {sixels for _, sixels in sent} == first_row
        written.clear()
        await pilot.press("down")  # the rows left and reached, not the others
        await settle(pilot)
        sent = SLICE.findall("".join(written))
        two_rows = {line for item in range(2 * columns) for line in by_item[item].lines}
        assert {sixels for _, sixels in sent} == two_rows

    run_sixel_app(settings, repo, body)


def test_no_pixels_over_a_dialog_and_back_after_it(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    photos(repo, tmp_path / "in", 6)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 6)
        await pilot.press("v")
        tiles = await tiles_drawn(pilot, gallery)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        output = screen_output(app)
        assert "\x1bP0;1;0q" not in output and "\x1b7" not in output
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        assert set(slices_shown(app)) == expected_slices(gallery, tiles)

    run_sixel_app(settings, repo, body)


def test_half_blocks_in_tmux_and_in_halfcell_mode(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("TMUX", raising=False)
    assert sixel_tiles("sixel")
    assert not sixel_tiles("halfcell") and not sixel_tiles("kitty") and not sixel_tiles("none")
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    assert not sixel_tiles("sixel")
    photos(repo, tmp_path / "in", 6)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 6)
        assert not gallery.grid.pixels
        await pilot.press("v")
        await wait_for(pilot, lambda: "▀" in shown_text(gallery))
        await settle(pilot)
        assert "\x1bP0;1;0q" not in screen_output(app)

    run_sixel_app(settings, repo, body)


def decode_sixel(sixels: str) -> tuple[tuple[int, int], dict[tuple[int, int], tuple[int, ...]]]:
    """A small Sixel reader: the raster size and each drawn pixel's colour (percent)."""
    header = re.match(r'\x1bP0;1;0q"1;1;(\d+);(\d+)', sixels)
    assert header is not None and sixels.endswith("\x1b\\")
    size = (int(header.group(1)), int(header.group(2)))
    body = sixels[header.end() : -2]
    registers: dict[int, tuple[int, ...]] = {}
    pixels: dict[tuple[int, int], tuple[int, ...]] = {}
    x = band = colour = 0
    for token in re.finditer(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|\$|-|(?:!(\d+))?([?-~])", body):
        if token.group(1) is not None:
            colour = int(token.group(1))
            if token.group(2) is not None:
                registers[colour] = tuple(int(v) for v in token.group(2, 3, 4))
        elif token.group(0) in "$-":
            x = 0
            band += token.group(0) == "-"
        else:
            bits, count = ord(token.group(6)) - 63, int(token.group(5) or 1)
            for column in range(x, x + count):
                for k in range(6):
                    if bits >> k & 1:
                        pixels[(column, band * 6 + k)] = registers[colour]
            x += count
    return size, pixels


def test_a_tile_is_cut_into_slices_that_decode_to_its_pixels() -> None:
    thumbnail = encode(picture(320, 240, seed=3), "WEBP", lossless=True)
    tile = sixel_tile(thumbnail, (18, 7), (10, 20), 0)
    assert (tile.width, len(tile)) == (18, 7)  # 4:3 in 180×140 pixels: whole cells
    turned = sixel_tile(thumbnail, (18, 7), (10, 20), 90)
    assert len(turned) == 7 and turned.width * 10 < len(turned) * 20  # portrait
    # Each line's slice: exactly its cells' pixels, every one drawn, near the picture's
    # colours at that place (256 colours for the tile), far from those a line lower.
    source = imaging.render_preview(thumbnail, (180, 140)).convert("RGB").resize((180, 140))

    def error(drawn: tuple[int, ...], x: int, y: int) -> int:
        rgb = source.getpixel((x, y))
        assert isinstance(rgb, tuple)
        return sum(abs(d - round(v * 100 / 255)) for d, v in zip(drawn, rgb, strict=True))

    here, lower = [], []
    for line, sixels in enumerate(tile.lines):
        size, pixels = decode_sixel(sixels)
        assert size == (180, 20)
        assert set(pixels) == {(x, y) for x in range(180) for y in range(20)}
        for (x, y), drawn in pixels.items():
            here.append(error(drawn, x, line * 20 + y))
            if line < 6:
                lower.append(error(drawn, x, line * 20 + 20 + y))
    assert sum(here) / len(here) * 3 < sum(lower) / len(lower)
