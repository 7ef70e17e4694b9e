"""The trash view: t shows the trash, r restores, D purges (bytes too), E empties it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_trash_view_restores_purges_and_empties(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 4)
    for info in infos[:3]:
        repo.delete(info.id)
    file_ids = {i.id: raw_db.images.find_one({"sha256": i.sha256})["file_id"] for i in infos}

    def stored(image_id: str) -> bool:
        return raw_db["fs.files"].count_documents({"_id": file_ids[image_id]}) == 1

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 1)
        await pilot.press("t")
        await wait_for(pilot, lambda: gallery.trash and gallery.rows.total == 3)
        await settle(pilot)
        assert "TRASH" in shown_text(app.screen.query_one(StatusLine))
        # Most recently deleted first; r restores the highlighted one at once.
        restored = gallery.current
        assert restored.id == infos[2].id
        await pilot.press("r")
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == 2)
        assert repo.count() == 2

        # D deletes for good, after a question: the GridFS bytes go too.
        await settle(pilot)
        victim = gallery.current
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: gallery.rows.total == 1)
        assert not stored(victim.id)
        assert raw_db["fs.chunks"].count_documents({"files_id": file_ids[victim.id]}) == 0

        # E empties the trash.
        (last,) = [i for i in infos[:2] if i.id != victim.id]
        assert stored(last.id)
        await settle(pilot)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Empty the trash" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == 0)
        assert not stored(last.id)
        assert raw_db.images.count_documents({"trashed": True}) == 0

        # And back to the library: the restored image and the one never deleted.
        await pilot.press("t")
        await wait_for(pilot, lambda: not gallery.trash and gallery.rows.total == 2)
        await settle(pilot)
        assert {gallery.rows.get(n).id for n in range(2)} == {restored.id, infos[3].id}
        assert "TRASH" not in shown_text(app.screen.query_one(StatusLine))

    run_app_test(settings, body, repo)
