"""Collections from the TUI: the switcher browses one (or all images), creates one,
and adds the marked images to one through the same modal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.collections import CollectionsScreen
from imagerepo_tui.tui.screens.forms import PromptScreen
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for

NAME = 'Summer "21" [b]'


async def _options(pilot: Pilot[Any], app: ImageRepoApp, count: int) -> OptionList:
    await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
    options = app.screen.query_one(OptionList)
    await wait_for(pilot, lambda: options.option_count == count)
    return options


def test_switcher_browses_a_collection_and_adds_marked_images(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    infos = upload_samples(repo, tmp_path / "in", 3)
    repo.create_collection(NAME)
    repo.add_to_collection(NAME, [infos[0].id])

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("c")
        options = await _options(pilot, app, 2)  # "All images" and the collection
        label = options.get_option_at_index(1).prompt
        assert NAME in str(label) and "1 image" in str(label)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await wait_for(pilot, lambda: gallery.query is not None and gallery.rows.total == 1)
        await settle(pilot)
        assert gallery.current.id == infos[0].id
        assert NAME in shown_text(app.screen.query_one(StatusLine))

        # Back to every image, then create a collection from the modal.
        await pilot.press("c")
        await _options(pilot, app, 2)
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: gallery.query is None and gallery.rows.total == 3)
        await pilot.press("c")
        await _options(pilot, app, 2)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "Birds"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await _options(pilot, app, 3)
        await pilot.press("escape")
        await settle(pilot)

        # Mark the two newest and add them to NAME: the picker is the question.
        await pilot.press("home", "space", "space")
        assert gallery.marks.count == 2
        assert "2 marked" in shown_text(app.screen.query_one(StatusLine))
        await pilot.press("plus")
        options = await _options(pilot, app, 2)  # no "All images" when picking
        names = [str(options.get_option_at_index(n).prompt) for n in range(2)]
        await pilot.press(*["down"] * next(n for n, s in enumerate(names) if NAME in s))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await settle(pilot)
        # (The app closes the shared repository when it ends: ask it here.)
        assert repo.collection(NAME).count == 3
        assert repo.collection("Birds").count == 0
        assert gallery.marks.count == 2  # adding keeps the marks for another action

    run_app_test(settings, body, repo)
