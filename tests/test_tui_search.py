"""Searching from the TUI: the search box filters the gallery; a bad query says where
it went wrong and keeps the list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.widgets.search import SearchInput
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_search_filters_and_a_bad_query_keeps_the_list(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 4)
    for info in infos[1:3]:
        repo.edit(info.id, add_tags=["cat"])

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 4)
        status = app.screen.query_one(StatusLine)
        await pilot.press("slash")
        search = app.screen.query_one(SearchInput)
        assert search.has_focus
        await pilot.press(*"tag:cat", "enter")
        await wait_for(pilot, lambda: gallery.query_text == "tag:cat" and gallery.loaded_once)
        await wait_for(pilot, lambda: gallery.rows.total == 2)
        await settle(pilot)
        assert {gallery.rows.get(n).id for n in range(2)} == {infos[1].id, infos[2].id}
        assert gallery.has_focus
        text = shown_text(status)
        assert "search tag:cat" in text and "2 matches" in text

        # An unclosed quote: the error names its column, the list stays filtered.
        await pilot.press("slash")
        search.value = 'tag:"cat'
        await pilot.press("enter")
        error = app.screen.query_one("#search-error")
        await wait_for(pilot, lambda: "column 5" in shown_text(error))
        assert "unclosed quote" in shown_text(error)
        assert search.cursor_position == 4
        assert gallery.rows.total == 2 and gallery.query_text == "tag:cat"

        # A query is text, never markup or an operator.
        search.value = "[@click=app.quit] name:.*"
        await pilot.press("enter")
        await wait_for(pilot, lambda: gallery.query_text.startswith("[@click"))
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.total == 0)
        assert app.is_running
        assert "[@click=app.quit]" in shown_text(status)

        # Escape in the box clears the search: every image again.
        await pilot.press("slash", "escape")
        await wait_for(pilot, lambda: gallery.query is None and gallery.rows.total == 4)
        await settle(pilot)
        assert "search" not in shown_text(status)
        assert "4 images" in shown_text(status)

    run_app_test(settings, body, repo)
