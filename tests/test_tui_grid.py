"""The gallery's grid view (v): tiles side by side with their names, moved through in
two dimensions, over the same rows, cursor, marks and searches as the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.remembered import Remembered
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen, GalleryHeader
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.grid import _tile
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from imagerepo_tui.tui.widgets.preview import PreviewPane
from imagerepo_tui.tui.widgets.search import SearchInput
from tests.sample_images import encode, picture
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


async def grid_drawn(pilot: Pilot[Any], gallery: Gallery) -> list[str]:
    """Switch to the grid (if not on) and wait for the tiles on screen to get their
    pictures; the gallery's lines."""
    if not gallery.grid.on:
        await pilot.press("v")
    on_screen = [
        gallery.rows.get(item)
        for item in gallery.grid.items(int(gallery.scroll_y), gallery.size.height)
        if item < gallery.rows.total
    ]
    await wait_for(
        pilot,
        lambda: all(
            info is not None and gallery.grid.cache.get(gallery.grid._key(info)) is not None
            for info in on_screen
        ),
    )
    await settle(pilot)
    return shown_text(gallery).splitlines()


def line_with(lines: list[str], *names: str) -> str:
    found = [line for line in lines if all(name in line for name in names)]
    assert found, f"no line shows all of {names}"
    return found[0]


def test_tiles_side_by_side_and_moving_between_them(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 12)
    newest_first = list(reversed(infos))

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 12)
        lines = await grid_drawn(pilot, gallery)
        columns = gallery.grid.columns
        assert columns >= 3
        names = [info.filename for info in newest_first[:columns]]
        line_with(lines, *names)  # one row of tiles: the newest images, side by side
        assert sum(line.count("▀") for line in lines) > 100  # half-block pictures
        assert not app.screen.query_one(GalleryHeader).display  # no list columns
        metadata = app.screen.query_one(MetadataPane)
        preview = app.screen.query_one(PreviewPane)

        async def at(index: int) -> None:
            await settle(pilot)
            assert gallery.cursor == index
            wanted = newest_first[index].id
            await wait_for(pilot, lambda: preview.shown == (wanted, "full"))
            assert metadata.info is not None and metadata.info.id == wanted

        await pilot.press("right")
        await at(1)
        await pilot.press("l", "down")
        await at(2 + columns)
        await pilot.press("h", "k")
        await at(1)
        await pilot.press("left", "left")  # no tile before the first
        await at(0)
        await pilot.press("pagedown")
        rows_shown = gallery.size.height // gallery.grid.tile_height
        await at(min(11, columns * rows_shown))
        await pilot.press("end")
        await at(11)
        await pilot.press("j")  # the last row has none below: stays
        await at(11)
        await pilot.press("home")
        await at(0)
        await pilot.press("G")
        await at(11)
        await pilot.press("g")
        await at(0)

    run_app_test(settings, body, repo)


def test_marks_and_a_bulk_delete_from_the_grid(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 6)
    newest_first = list(reversed(infos))

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 6)
        await grid_drawn(pilot, gallery)
        await pilot.press("space", "right", "space")  # marks tiles 0 and 2
        await settle(pilot)
        marked = {newest_first[0].id, newest_first[2].id}
        assert gallery.marks.ids == marked
        assert gallery.cursor == 3
        tiles = line_with(shown_text(gallery).splitlines(), newest_first[0].filename)
        assert f"✓ {newest_first[0].filename}" in tiles
        assert f"✓ {newest_first[2].filename}" in tiles
        assert f"✓ {newest_first[1].filename}" not in tiles
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Move 2 images" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == 4)
        assert gallery.grid.on
        assert {i.id for i in repo.iter_images(trash=True)} == marked
        lines = await grid_drawn(pilot, gallery)
        assert newest_first[0].filename not in "\n".join(lines)
        line_with(lines, newest_first[1].filename, newest_first[3].filename)

    run_app_test(settings, body, repo)


def test_search_in_the_grid(settings: Settings, repo: ImageRepository, tmp_path: Path):
    infos = upload_samples(repo, tmp_path / "in", 6)
    for info in infos[:3]:
        repo.edit(info.id, add_tags=["old"])

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 6)
        await grid_drawn(pilot, gallery)
        await pilot.press("slash")
        app.screen.query_one(SearchInput).value = "tag:old"
        await pilot.press("enter")
        await wait_for(pilot, lambda: gallery.query is not None and gallery.rows.total == 3)
        lines = await grid_drawn(pilot, gallery)
        assert app.focused is gallery and gallery.grid.on
        line_with(lines, *(info.filename for info in reversed(infos[:3])))
        assert not any(info.filename in "\n".join(lines) for info in infos[3:])
        await pilot.press("right")
        await settle(pilot)
        assert gallery.current is not None and gallery.current.id == infos[1].id

    run_app_test(settings, body, repo)


def test_back_to_the_list_on_the_same_image_and_remembered(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 9)
    newest_first = list(reversed(infos))

    async def first_run(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 9)
        assert not gallery.grid.on  # the list, the first time
        await grid_drawn(pilot, gallery)
        assert Remembered().text("view") == "grid"
        await pilot.press("right", "down")
        await settle(pilot)
        index = 1 + gallery.grid.columns
        assert gallery.current is not None and gallery.current.id == newest_first[index].id
        await pilot.press("v")  # back to the list, on the same image
        await settle(pilot)
        assert not gallery.grid.on and Remembered().text("view") == "list"
        assert gallery.cursor == index
        assert app.screen.query_one(GalleryHeader).display
        lines = shown_text(gallery).splitlines()
        assert newest_first[index].filename in lines[index]
        assert "▀" not in "\n".join(lines)
        await pilot.press("v")  # the grid again, for the next run
        await settle(pilot)

    run_app_test(settings, first_run, repo)

    async def second_run(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 9)
        assert gallery.grid.on
        assert not app.screen.query_one(GalleryHeader).display
        lines = await grid_drawn(pilot, gallery)
        line_with(lines, newest_first[0].filename, newest_first[1].filename)

    run_app_test(settings, second_run)  # a new app: the first closed the shared repository


def test_tile_sizes_and_reflow_on_resize(settings: Settings, repo: ImageRepository, tmp_path: Path):
    upload_samples(repo, tmp_path / "in", 20)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 20)
        await grid_drawn(pilot, gallery)
        columns = gallery.grid.columns
        await pilot.press("z")  # larger tiles: fewer a row
        await settle(pilot)
        larger = gallery.grid.columns
        assert larger < columns
        await pilot.press("Z", "Z")  # smaller than at first: more a row
        await settle(pilot)
        smaller = gallery.grid.columns
        assert smaller > columns
        assert Remembered().number("tile_size", -1) == gallery.grid.size
        lines = await grid_drawn(pilot, gallery)
        names = [gallery.rows.get(n).filename for n in range(smaller)]
        line_with(lines, *names)
        await pilot.press("end")
        await settle(pilot)
        await pilot.resize_terminal(70, 40)  # narrower: the grid reflows
        await settle(pilot)
        assert gallery.grid.columns < smaller
        # The cursor's tile still shows, all of it.
        top, taken = gallery.grid.span(gallery.cursor)
        assert gallery.scroll_y <= top and top + taken <= gallery.scroll_y + gallery.size.height
        lines = await grid_drawn(pilot, gallery)
        assert gallery.rows.get(19).filename in "\n".join(lines)
        await pilot.resize_terminal(200, 40)  # wider: more tiles a row
        await settle(pilot)
        assert gallery.grid.columns > smaller
        assert len(gallery.grid.cache) >= 20

    run_app_test(settings, body, repo)


def test_hostile_title_and_a_garbage_thumbnail_in_a_tile(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    """Another client may write any title and any thumbnail bytes: the title shows
    literally (escaped), the tile says it has no preview and the app goes on."""
    first, second = upload_samples(repo, tmp_path / "in", 2)
    repo.edit(second.id, title="\u202e[@click=app.quit]x[/]")
    doc = raw_db.images.find_one({"sha256": first.sha256})
    raw_db.images.update_one({"_id": doc["_id"]}, {"$set": {"thumbnail": b"not an image"}})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 2)
        lines = "\n".join(await grid_drawn(pilot, gallery))
        assert "\\u202e[@click=app.q…" in lines  # cut to the tile's width, escaped
        assert "no preview" in lines  # the garbage thumbnail's tile
        await pilot.click(gallery, offset=(3, 8))
        await settle(pilot)
        assert app.is_running

    run_app_test(settings, body, repo)


def test_a_turned_image_has_a_turned_tile() -> None:
    """Tiles are drawn like previews: the image's rotation on top of its (already
    upright) thumbnail, so a landscape photo turned 90° gets a portrait tile."""
    thumbnail = encode(picture(64, 32, seed=5), "WEBP")
    box = (20, 20)
    upright, turned = _tile(thumbnail, box, 0), _tile(thumbnail, box, 90)
    assert (len(upright[0]), len(upright)) == (20, 5)  # 20×10 pixels, 2 per cell row
    assert (len(turned[0]), len(turned)) == (10, 10)  # 10×20 pixels
    assert _tile(b"garbage", box, 90) == [] and _tile(None, box, 0) == []
