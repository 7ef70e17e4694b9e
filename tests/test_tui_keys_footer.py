"""The footer of keys rebuilds once for a burst of binding changes (Textual's rebuilds
on each), and still shows the keys as they are after the last change."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.widgets.keys import KeysFooter
from tests.tui_support import ready, run_app_test, settle


def _keys(footer: KeysFooter) -> list[str]:
    return [str(key.description) for key in footer.query(FooterKey)]


def test_a_burst_of_binding_changes_rebuilds_the_keys_once(
    settings: Settings, repo: ImageRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot)
        footer = app.screen.query_one(KeysFooter)
        rebuilds: list[int] = []
        recompose = KeysFooter.recompose

        async def counted(self: KeysFooter) -> None:
            rebuilds.append(1)
            await recompose(self)

        monkeypatch.setattr(KeysFooter, "recompose", counted)
        for _ in range(5):
            app.screen.refresh_bindings()
        await settle(pilot)
        assert len(rebuilds) == 1
        assert "Quit" in _keys(footer)
        # Later changes are heard: the trash view shows its own keys.
        await pilot.press("t")
        await settle(pilot)
        assert len(rebuilds) >= 2
        assert "Restore" in _keys(footer) and "Upload" not in _keys(footer)

    run_app_test(settings, body, repo)
