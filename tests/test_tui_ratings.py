"""Rating, favouriting and turning images from the TUI: keys 0-5, * and [ ], on the
highlighted image or every marked one, and what the rows, details and preview show."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from imagerepo_tui.tui.widgets.preview import ImageWidget, PreviewPane
from tests.sample_images import write
from tests.test_ratings import _oriented_jpeg, _red_corner
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def _row(app: ImageRepoApp, image_id: str) -> str:
    """The gallery's line for an image (found by its name, which every row shows)."""
    gallery = app.screen.query_one(Gallery)
    row = gallery.rows.find(image_id)
    assert row is not None
    return shown_text(gallery).splitlines()[row - int(gallery.scroll_y)]


def test_number_keys_rate_and_star_toggles_favourite(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    newest = upload_samples(repo, tmp_path / "in", 2)[-1]

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 2)
        assert gallery.current is not None and gallery.current.id == newest.id
        assert "★" not in _row(app, newest.id)
        await pilot.press("3")
        await wait_for(pilot, lambda: repo.info(newest.id).rating == 3)
        await settle(pilot)
        assert "★★★ " in _row(app, newest.id) and "★★★★" not in _row(app, newest.id)
        assert "★★★ (3 of 5)" in shown_text(app.screen.query_one(MetadataPane))
        await pilot.press("asterisk")
        await wait_for(pilot, lambda: repo.info(newest.id).favorite)
        await settle(pilot)
        assert "♥ ★★★" in _row(app, newest.id)
        assert "Favourite" in shown_text(app.screen.query_one(MetadataPane))
        await pilot.press("asterisk")
        await wait_for(pilot, lambda: not repo.info(newest.id).favorite)
        await pilot.press("0")
        await wait_for(pilot, lambda: repo.info(newest.id).rating == 0)
        await settle(pilot)
        assert "★" not in _row(app, newest.id) and "♥" not in _row(app, newest.id)

    run_app_test(settings, body, repo)


def test_keys_act_on_every_marked_image(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    infos = upload_samples(repo, tmp_path / "in", 3)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 3)
        await pilot.press("space", "space")  # the two newest, the cursor on the oldest
        await settle(pilot)
        await pilot.press("5")
        await wait_for(pilot, lambda: repo.info(infos[2].id).rating == 5)
        await settle(pilot)
        await pilot.press("asterisk")  # the highlighted (unmarked) one is no favourite
        await wait_for(pilot, lambda: repo.info(infos[1].id).favorite)
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: repo.info(infos[1].id).rotation == 90)
        await settle(pilot)
        assert [repo.info(i.id).rating for i in infos] == [0, 5, 5]
        assert [repo.info(i.id).favorite for i in infos] == [False, True, True]
        assert [repo.info(i.id).rotation for i in infos] == [0, 90, 90]
        assert "★★★★★" in _row(app, infos[2].id)

    run_app_test(settings, body, repo)


def _preview_image(app: ImageRepoApp) -> Any:
    return app.screen.query_one(PreviewPane).query_one(".preview-image", ImageWidget).image


def test_brackets_turn_the_preview_and_exif_orientation_is_applied(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    """A phone photo (EXIF orientation 6) is drawn upright, 40x80 with red top-right;
    ] turns it right (landscape, red bottom-right), [ back; the bytes stay."""
    image = repo.upload(write(tmp_path / "phone.jpg", _oriented_jpeg(6))).image
    assert image is not None

    def drawn(corner: str, portrait: bool) -> Any:
        def check() -> bool:
            picture = _preview_image(app_ref[0])
            if picture is None or (picture.height > picture.width) != portrait:
                return False
            return _red_corner(picture) == corner

        return check

    app_ref: list[ImageRepoApp] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        app_ref.append(app)
        await ready(pilot, 1)
        await wait_for(pilot, drawn("top-right", portrait=True))
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: repo.info(image.id).rotation == 90)
        await wait_for(pilot, drawn("bottom-right", portrait=False))
        assert "90° clockwise" in shown_text(app.screen.query_one(MetadataPane))
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: repo.info(image.id).rotation == 0)
        await wait_for(pilot, drawn("top-right", portrait=True))
        await settle(pilot)
        assert hashlib.sha256(repo.original_bytes(image.id)[1]).hexdigest() == image.sha256

    run_app_test(settings, body, repo)


def test_the_trash_view_does_not_rate(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    (info,) = upload_samples(repo, tmp_path / "in", 1)
    repo.delete(info.id)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("4", "asterisk", "right_square_bracket")
        await settle(pilot)
        assert (repo.info(info.id).rating, repo.info(info.id).rotation) == (0, 0)

    run_app_test(settings, body, repo)
