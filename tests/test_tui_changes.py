"""Changing the library from the TUI: delete, export, edit, through their modals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.modals import ConfirmScreen, EditScreen, ExportScreen
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_delete_asks_then_trashes_and_moves_on(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 3)
    victim, older = infos[1], infos[0]

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("j")  # the middle image
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert victim.filename in shown_text(app.screen.query_one(".question"))
        await pilot.press("n")  # changing one's mind deletes nothing
        await settle(pilot)
        assert gallery.rows.total == 3
        await pilot.press("delete")
        await settle(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: gallery.rows.total == 2)
        await settle(pilot)
        assert gallery.current is not None and gallery.current.id == older.id
        assert app.screen.query_one(MetadataPane).info.id == older.id
        assert app.image_count == 2
        # In the trash, restorable: the bytes stay until purged.
        assert raw_db.images.find_one({"sha256": victim.sha256})["deleted_at"] is not None

    run_app_test(settings, body, repo)


def test_delete_for_good_removes_the_bytes(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    (victim,) = upload_samples(repo, tmp_path / "in", 1)
    file_id = raw_db.images.find_one({"sha256": victim.sha256})["file_id"]

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 1)
        await pilot.press("D")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "cannot be undone" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        await wait_for(pilot, lambda: gallery.rows.total == 0)
        await settle(pilot)
        assert raw_db.images.count_documents({"sha256": victim.sha256}) == 0
        assert raw_db["fs.files"].count_documents({"_id": file_id}) == 0
        assert raw_db["fs.chunks"].count_documents({"files_id": file_id}) == 0

    run_app_test(settings, body, repo)


def test_export_writes_original_and_offers_overwrite(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    (info,) = upload_samples(repo, tmp_path / "in", 1)
    original = (tmp_path / "in" / "photo00.jpg").read_bytes()
    out = tmp_path / "out"
    out.mkdir()

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 1)
        for attempt in range(2):
            await pilot.press("x")
            await settle(pilot)
            assert isinstance(app.screen, ExportScreen)
            app.screen.query_one(Input).value = str(out)
            await pilot.press("enter")
            await settle(pilot)
            if attempt == 0:
                assert not isinstance(app.screen, ExportScreen)
        # The second export met the first file: a message and an Overwrite button.
        assert "already exists" in shown_text(app.screen.query_one("#export-message"))
        overwrite = app.screen.query_one("#overwrite", Button)
        assert not overwrite.disabled
        await pilot.click("#overwrite")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)

    run_app_test(settings, body, repo)
    assert (out / info.filename).read_bytes() == original


def test_edit_changes_title_description_tags(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    (info,) = upload_samples(repo, tmp_path / "in", 1)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 1)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditScreen)
        app.screen.query_one("#title", Input).value = "Sunset [b]over[/b] sea"
        app.screen.query_one("#description", Input).value = "taken at "
        await pilot.click("#description")
        await pilot.press("end", *"quiet dusk")  # q and d typed in a field are text, not keys
        assert app.is_running and isinstance(app.screen, EditScreen)
        app.screen.query_one("#tags", Input).value = "beach, holiday,  beach "
        await pilot.press("ctrl+s")
        metadata = app.screen.query_one(MetadataPane)
        await wait_for(pilot, lambda: metadata.info.title == "Sunset [b]over[/b] sea")
        assert "Sunset [b]over[/b] sea" in shown_text(metadata)
        stored = repo.info(info.id)
        assert stored.title == "Sunset [b]over[/b] sea"
        assert stored.description == "taken at quiet dusk"
        assert stored.tags == ("beach", "holiday")

    run_app_test(settings, body, repo)
