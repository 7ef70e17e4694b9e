"""Marks and bulk actions from the TUI: mark some and tag them, mark every match of a
search and move them to the trash (kept as the search, never as a list of ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.forms import TagsScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.search import SearchInput
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_mark_some_then_tag_them(settings: Settings, repo: ImageRepository, tmp_path: Path):
    infos = upload_samples(repo, tmp_path / "in", 4)
    newest, second = infos[3], infos[2]

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 4)
        await pilot.press("space", "space", "space", "k", "space")  # 3 marked, 1 unmarked
        await settle(pilot)
        assert gallery.marks.ids == {newest.id, second.id}
        assert "2 marked" in shown_text(app.screen.query_one(StatusLine))
        assert shown_text(gallery).splitlines()[0].startswith("✓")
        await pilot.press("T")
        await wait_for(pilot, lambda: isinstance(app.screen, TagsScreen))
        app.screen.query_one("#add-tags", Input).value = "beach, Sun"
        app.screen.query_one("#remove-tags", Input).value = "old"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await settle(pilot)
        assert repo.info(newest.id).tags == ("beach", "Sun")
        assert repo.info(second.id).tags == ("beach", "Sun")
        assert repo.info(infos[1].id).tags == ()
        assert gallery.marks.count == 2
        await pilot.press("escape")  # clears the marks
        assert not gallery.marks.active
        assert "marked" not in shown_text(app.screen.query_one(StatusLine))

    run_app_test(settings, body, repo)


def test_mark_all_matches_then_move_them_to_the_trash(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 5)
    for info in infos[:3]:
        repo.edit(info.id, add_tags=["old"])

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 5)
        await pilot.press("slash")
        app.screen.query_one(SearchInput).value = "tag:old"
        await pilot.press("enter")
        await wait_for(pilot, lambda: gallery.query is not None and gallery.rows.total == 3)
        await settle(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: gallery.marks.everything)
        assert gallery.marks.ids == set()  # the search is the selection, not its ids
        assert "all 3 marked" in shown_text(app.screen.query_one(StatusLine))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Move 3 images" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == 0)
        assert not gallery.marks.active
        assert repo.count() == 2
        assert {i.id for i in repo.iter_images(trash=True)} == {i.id for i in infos[:3]}

    run_app_test(settings, body, repo)
