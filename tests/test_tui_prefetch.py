"""The gallery fetches a page ahead of the screen, both ways, so paging never lands
on rows still loading once the app has had a moment (PgDn used to be one screen
from the end of what was loaded)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from textual.pilot import Pilot

from benchmarks.library import fill
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp, make_app
from imagerepo_tui.tui.widgets.gallery import PAGE_ROWS, Gallery
from tests.tui_support import SIZE, ready, run_app_test, settle, wait_for

# More than two pages past the first screen, so Home and End each leave rows to fetch.
COUNT = 3 * PAGE_ROWS + 100


def _unloaded_near_screen(gallery: Gallery) -> list[int]:
    """Rows not loaded within three screenfuls (three PgDn or PgUp) of the screen."""
    top = int(gallery.scroll_y)
    height = gallery.size.height
    ahead = 3 * height
    near = range(max(0, top - ahead), min(gallery.rows.total, top + height + ahead))
    return [row for row in near if gallery.rows.get(row) is None]


def test_a_page_ahead_is_fetched_before_the_cursor_gets_there(settings: Settings):
    assert settings.db_uri is not None
    fill(settings.db_uri, COUNT)  # written in bulk, before the repository is opened
    repo = ImageRepository.open(settings)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, COUNT)
        # Counted after the first page showed: the status line has the exact count.
        await settle(pilot)
        assert app.image_count == COUNT
        # At rest on the first screen, the rows below it are fetched already.
        assert _unloaded_near_screen(gallery) == []
        assert not gallery.rows.complete  # and not every page: only what is near
        for _ in range(12):  # down past the first two pages
            await pilot.press("pagedown")
            assert gallery.rows.get(gallery.cursor) is not None  # no wait for a page
            await settle(pilot)
            assert _unloaded_near_screen(gallery) == []
        assert gallery.cursor > 2 * PAGE_ROWS

    try:
        run_app_test(settings, body, repo)
    finally:
        repo.close()


def test_paging_up_from_the_end_fetches_above_the_screen(settings: Settings):
    assert settings.db_uri is not None
    fill(settings.db_uri, COUNT)
    repo = ImageRepository.open(settings)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, COUNT)
        await pilot.press("end")
        await settle(pilot)
        assert gallery.cursor == COUNT - 1
        assert _unloaded_near_screen(gallery) == []  # the tail chain reads ahead upwards
        for _ in range(5):
            await pilot.press("pageup")
            assert gallery.rows.get(gallery.cursor) is not None
            await settle(pilot)
            assert _unloaded_near_screen(gallery) == []

    try:
        run_app_test(settings, body, repo)
    finally:
        repo.close()


def test_end_before_the_count_goes_to_the_oldest_once_counted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """Counting reads every match (seconds at 100,000 images), and until it is done
    the last row's number is unknown: End waits for it rather than stopping at the
    last row loaded so far. A key pressed meanwhile wins."""
    assert settings.db_uri is not None
    fill(settings.db_uri, COUNT)
    repo = ImageRepository.open(settings)
    counting = threading.Event()
    count = repo.count

    def held_count(*args: Any, **kwargs: Any) -> int:
        counting.wait(30)
        return count(*args, **kwargs)

    monkeypatch.setattr(repo, "count", held_count)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = app.browse.gallery
        await wait_for(pilot, lambda: gallery.loaded_once)
        await pilot.press("end")
        await pilot.pause(0.2)
        assert gallery.cursor == 0  # not the last row loaded so far
        assert any("End goes to the oldest" in str(n.message) for n in app._notifications)
        counting.set()
        await wait_for(pilot, lambda: gallery.cursor == COUNT - 1)
        await settle(pilot)
        assert gallery.current is not None and gallery.current.seq == 1

        counting.clear()
        await pilot.press("ctrl+r")  # read again: counting again
        await wait_for(pilot, lambda: gallery.loaded_once and gallery.rows.get(0) is not None)
        await pilot.press("home", "end", "j")  # moved on before the count came
        counting.set()
        await settle(pilot)
        assert app.image_count == COUNT and gallery.cursor == 1

    try:
        run_app_test(settings, body, repo)
    finally:
        repo.close()


class _Recording:
    """The real repository, with the reads that matter here written down in order."""

    def __init__(self, repo: ImageRepository, events: list[str]) -> None:
        self._repo = repo
        self._events = events

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._repo, name)
        if name not in ("list_page", "count", "whole_library"):
            return value

        def record(*args: Any, **kwargs: Any) -> Any:
            self._events.append(name)
            return value(*args, **kwargs)

        return record


def test_the_first_rows_are_painted_before_anything_else_is_read(settings: Settings):
    """One page is read before the first rows show; the count, the pages ahead and the
    safekeeping state (for the backup reminder) only once they are on screen."""
    assert settings.db_uri is not None
    fill(settings.db_uri, PAGE_ROWS + 10)
    repo = ImageRepository.open(settings)
    events: list[str] = []

    async def main() -> None:
        recording = _Recording(repo, events)
        app = make_app(settings, graphics="halfcell", repository_factory=lambda _: recording)
        async with app.run_test(size=SIZE) as pilot:
            gallery = app.screen.query_one(Gallery)
            display = app._display

            def painted(screen: Any, renderable: Any) -> None:
                display(screen, renderable)
                shown = renderable is not None and gallery.rows.get(0) is not None
                if shown and "rows painted" not in events:
                    events.append("rows painted")

            app._display = painted
            await ready(pilot, PAGE_ROWS + 10)
            await wait_for(pilot, lambda: "whole_library" in events)

    try:
        asyncio.run(main())
    finally:
        repo.close()
    assert events[:2] == ["list_page", "rows painted"], events
    assert {"count", "whole_library"} <= set(events[2:])
    assert events.count("count") == 1
