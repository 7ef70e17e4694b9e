"""Browsing: the gallery lists what is stored, keys move, panes follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.preview import FullPreviewScreen
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from imagerepo_tui.tui.widgets.preview import PreviewPane
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_gallery_lists_and_keys_move(settings: Settings, repo: ImageRepository, tmp_path: Path):
    infos = upload_samples(repo, tmp_path / "in", 5)
    newest_first = [info.id for info in reversed(infos)]

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 5)
        assert [gallery.rows.get(n).id for n in range(5)] == newest_first
        metadata = app.screen.query_one(MetadataPane)
        assert metadata.info is not None and metadata.info.id == newest_first[0]
        await pilot.press("j", "j")
        await settle(pilot)
        assert gallery.cursor == 2
        assert metadata.info.id == newest_first[2]
        assert "photo02.jpg" in shown_text(metadata)
        await pilot.press("k")
        await pilot.press("end")
        await settle(pilot)
        assert metadata.info.id == newest_first[4]
        await pilot.press("home")
        await settle(pilot)
        assert gallery.cursor == 0
        status = shown_text(app.screen.query_one(StatusLine))
        assert "5 images" in status and "connected" in status

    run_app_test(settings, body, repo)


def test_preview_pane_and_full_screen(settings: Settings, repo: ImageRepository, tmp_path: Path):
    infos = upload_samples(repo, tmp_path / "in", 3)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        pane = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: pane.shown == (infos[2].id, "full"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FullPreviewScreen)
        full = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: full.shown == (infos[2].id, "full"))
        await pilot.press("right")
        await settle(pilot)
        assert gallery.cursor == 1
        await wait_for(pilot, lambda: full.shown == (infos[1].id, "full"))
        await pilot.press("left")
        await settle(pilot)
        await wait_for(pilot, lambda: full.shown == (infos[2].id, "full"))
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, FullPreviewScreen)

    run_app_test(settings, body, repo)


def test_corrupt_image_shows_error_in_preview(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    (info,) = upload_samples(repo, tmp_path / "in", 1)
    doc = raw_db.images.find_one({"sha256": info.sha256})
    for chunk in raw_db["fs.chunks"].find({"files_id": doc["file_id"]}):
        junk = b"\0" * len(chunk["data"])  # same length: GridFS reads it, the image is junk
        raw_db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": junk}})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 1)
        pane = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: pane.shown == (info.id, "error"))
        assert "damaged" in shown_text(pane.query_one("#preview-message"))
        assert app.is_running

    run_app_test(settings, body, repo)


def test_hostile_title_is_shown_literally(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    (info,) = upload_samples(repo, tmp_path / "in", 1)
    hostile = "[@click=app.quit]x[/] \u202eevil"
    repo.edit(info.id, title=hostile, add_tags=["[b]tag[/b]"])

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 1)
        metadata = app.screen.query_one(MetadataPane)
        text = "".join(shown_text(metadata).split())  # the pane folds long values
        assert "[@click=app.quit]x[/]\\u202eevil" in text
        assert "[b]tag[/b]" in text
        row = "".join(segment.text for segment in gallery.render_line(0))
        assert row.startswith(" [@click=app.quit]x")
        await pilot.click(MetadataPane)
        await pilot.click(gallery, offset=(3, 0))
        await settle(pilot)
        assert app.is_running

    run_app_test(settings, body, repo)
