"""Smart collections from the TUI: ctrl+s in the search box saves the search under a
name asked for, and the collections screen marks smart ones with their query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from imagerepo_tui.config import Settings
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.collections import CollectionsScreen
from imagerepo_tui.tui.screens.forms import PromptScreen
from imagerepo_tui.tui.widgets.search import SearchInput
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, wait_for


def test_ctrl_s_saves_the_search_and_c_marks_it(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    for n, tag in enumerate(("cat", "cat", "dog")):
        path = write(tmp_path / f"{tag}{n}.jpg", jpeg_bytes(seed=40 + n))
        assert repo.upload(path, NewMetadata(tags=[tag])).image is not None
    repo.create_collection("Plain")
    saved: dict[str, Any] = {}

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("slash")
        search = app.screen.query_one(SearchInput)
        search.value = "tag:cat"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "My cats"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await settle(pilot)
        saved["info"] = repo.collection("my cats")  # the app closes repo when it ends

        await pilot.press("escape")  # leave the search box; c opens the collections
        await wait_for(pilot, lambda: gallery.query is None)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        options = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: options.option_count == 3)
        labels = [str(options.get_option_at_index(n).prompt) for n in range(3)]
        smart = next(label for label in labels if "My cats" in label)
        plain = next(label for label in labels if "Plain" in label)
        assert "[smart]" in smart and "tag:cat" in smart and "2 images" in smart
        assert "[smart]" not in plain
        # Browsing it lists what its query finds.
        await pilot.press(*["down"] * labels.index(smart), "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await wait_for(pilot, lambda: gallery.query is not None and gallery.rows.total == 2)
        assert app.is_running

    run_app_test(settings, body, repo)
    info = saved["info"]
    assert info.smart and info.query == "tag:cat" and info.count == 2
