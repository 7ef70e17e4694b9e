"""The full-screen preview's slideshow (``s``) and zoom (``+``/``-``, the arrows pan
when zoomed and move between images again at 1x)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.preview import FullPreviewScreen
from imagerepo_tui.tui.widgets.zoom import ZoomPane
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for


def _library(repo: ImageRepository, folder: Path, count: int) -> None:
    for n in range(count):
        path = write(folder / f"view{n}.jpg", jpeg_bytes(480, 320, seed=n * 3))
        assert repo.upload(path).image is not None


async def _full_preview(pilot: Pilot[Any], count: int) -> FullPreviewScreen:
    await ready(pilot, count)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FullPreviewScreen))
    screen = pilot.app.screen
    assert isinstance(screen, FullPreviewScreen)
    pane = screen.pane
    await wait_for(pilot, lambda: pane.shown is not None and pane.shown[1] == "full")
    await settle(pilot)
    return screen


def _shown(pane: ZoomPane) -> PILImage.Image | None:
    widget: Any = pane.query_one(".preview-image")
    image: PILImage.Image | None = widget.image
    return image


def _caption(screen: FullPreviewScreen) -> str:
    return shown_text(screen.query_one("#caption"))


def test_slideshow_advances_wraps_and_stops_on_a_key(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _library(repo, tmp_path / "lib", 3)
    quick = dataclasses.replace(settings, slideshow_seconds=0.2)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _full_preview(pilot, 3)
        gallery = screen.gallery
        assert gallery.cursor == 0
        await pilot.press("s")
        assert screen.slideshow is not None
        assert "slideshow every 0.2 s" in _caption(screen)
        rows = [gallery.rows.get(n) for n in range(3)]
        order = [row.id if row is not None else "" for row in (*rows, rows[0])]
        seen = [screen.info.id]
        show = screen.show

        def showing(info: Any) -> None:  # every image the slideshow brings, in order
            seen.append(info.id)
            show(info)

        monkeypatch.setattr(screen, "show", showing)
        await wait_for(pilot, lambda: len(seen) >= 4)
        assert seen[:4] == order  # on through the gallery, then round again
        await pilot.press("left")  # any navigation key stops it
        assert screen.slideshow is None
        assert "slideshow" not in _caption(screen)
        await settle(pilot)
        assert gallery.current is not None and screen.info.id == gallery.current.id
        stopped_at = gallery.cursor
        await pilot.pause(0.6)  # three intervals: nothing moves any more
        assert gallery.cursor == stopped_at

        await pilot.press("s")
        assert screen.slideshow is not None
        await pilot.press("s")  # s again stops it too
        assert screen.slideshow is None
        await pilot.press("s", "escape")  # and leaving the preview
        await settle(pilot)
        assert not isinstance(app.screen, FullPreviewScreen)
        assert screen.slideshow is None

    run_app_test(quick, body, repo)


def test_zoom_shows_part_of_the_image_and_arrows_pan_until_back_at_1x(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    _library(repo, tmp_path / "lib", 3)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _full_preview(pilot, 3)
        gallery, pane = screen.gallery, screen.pane
        fitted = _shown(pane)
        assert fitted is not None
        fitted_bytes = fitted.tobytes()

        await pilot.press("plus")
        await settle(pilot)
        assert pane.zoom == 2 and "2x, arrows pan" in _caption(screen)
        await wait_for(pilot, lambda: (s := _shown(pane)) is not None and s is not fitted)
        await settle(pilot)
        centre = _shown(pane)
        assert centre is not None and centre.tobytes() != fitted_bytes

        await pilot.press("right")  # pans, does not move on
        await settle(pilot)
        assert gallery.cursor == 0 and pane.centre[0] > 0.5
        right = _shown(pane)
        assert right is not None and right.tobytes() != centre.tobytes()
        await pilot.press("l", "l", "l", "l")  # as far as it goes: stops at the edge
        await settle(pilot)
        edge = pane.centre
        await pilot.press("l")
        await settle(pilot)
        assert gallery.cursor == 0 and pane.centre == edge and edge[0] < 1
        await pilot.press("down", "j")
        await settle(pilot)
        assert gallery.cursor == 0 and pane.centre[1] > 0.5

        await pilot.press("plus")
        await settle(pilot)
        assert pane.zoom == 4 and "4x" in _caption(screen)
        await pilot.press("plus")  # 4x is the most
        assert pane.zoom == 4

        await pilot.press("minus", "minus")
        await settle(pilot)
        assert pane.zoom == 1 and pane.centre == (0.5, 0.5)
        assert "arrows pan" not in _caption(screen)
        back = _shown(pane)
        assert back is not None and back.tobytes() == fitted_bytes
        await pilot.press("right")  # at 1x the arrows move between images again
        await wait_for(pilot, lambda: gallery.cursor == 1)
        await pilot.press("left")
        await wait_for(pilot, lambda: gallery.cursor == 0)

        await pilot.press("plus")
        await settle(pilot)
        await pilot.press("space")  # always the next image, which starts fitted
        await wait_for(pilot, lambda: gallery.cursor == 1)
        assert pane.zoom == 1

    run_app_test(settings, body, repo)
