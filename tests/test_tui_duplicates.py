"""Near-duplicates in the TUI: ``=`` searches for images like the highlighted one (the
search box shows ``similar:ID``), and the duplicates view keeps one of a group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.duplicates import DuplicatesScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.widgets.search import SearchInput
from tests.test_duplicates import photo, upload, variants
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for


def test_equals_searches_similar_and_the_view_keeps_one(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    data = photo("coffee")
    copies = variants(data)
    original = upload(repo, tmp_path, "coffee.jpg", data, tags=["cup"])
    copy = upload(repo, tmp_path, "coffee-half.jpg", copies["half.jpg"], tags=["drink"])
    other = upload(repo, tmp_path, "rocket.jpg", photo("rocket"))

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await wait_for(pilot, lambda: gallery.current is not None)
        highlighted = gallery.current
        assert highlighted is not None
        await pilot.press("equals_sign")
        search = app.screen.query_one(SearchInput)
        await wait_for(pilot, lambda: gallery.query_text == f"similar:{highlighted.id}")
        assert search.value == f"similar:{highlighted.id}"
        expected = 1 if highlighted.id == other else 2
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == expected)

        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, DuplicatesScreen))
        view = app.screen
        assert isinstance(view, DuplicatesScreen)
        await wait_for(pilot, lambda: len(view.groups) == 1)
        await settle(pilot)
        title = shown_text(view.query_one("#dupes-title"))
        assert "Group 1 of 1" in title and "2 images" in title
        assert "coffee.jpg" in shown_text(view.query_one("#dupes-text-0"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: view.merged and not view.groups)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DuplicatesScreen))
        await settle(pilot)
        kept = repo.info(original)
        assert set(kept.tags) == {"cup", "drink"}
        assert [image.id for image in repo.iter_images(trash=True)] == [copy]

    run_app_test(settings, body, repo)
