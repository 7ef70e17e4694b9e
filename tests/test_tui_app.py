"""The app as a whole: an unreachable database, key remapping, the command palette,
and the headless core importing no Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.commands import ActionsProvider
from imagerepo_tui.tui.keymap import keymap_path
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for


def test_unreachable_database_is_shown_not_crashed(tmp_path: Path):
    settings = Settings(db_uri="mongodb://127.0.0.1:1/x", data_dir=tmp_path / "data")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        status = app.screen.query_one(StatusLine)
        assert "connecting" in shown_text(status)  # painted before any answer
        await wait_for(pilot, lambda: app.connection == "unreachable", timeout=15)
        await pilot.pause(0.1)
        assert "unreachable" in shown_text(status)
        assert "127.0.0.1:1" in shown_text(status)
        await pilot.press("j", "enter", "d", "u")  # nothing to act on: no crash
        await pilot.pause(0.1)
        assert app.is_running

    run_app_test(settings, body)


def test_keymap_file_remaps_keys(settings: Settings, repo: ImageRepository, tmp_path: Path):
    upload_samples(repo, tmp_path / "in", 3)
    path = keymap_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('"gallery.down" = "n"\n', encoding="utf-8")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 3)
        await pilot.press("n")
        await settle(pilot)
        assert gallery.cursor == 1

    run_app_test(settings, body, repo)


def test_command_palette_offers_actions(settings: Settings, repo: ImageRepository):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        provider = ActionsProvider(app.screen)
        names = [hit.text async for hit in provider.discover()]
        for wanted in (
            "Upload",
            "Trash",
            "Delete for good",
            "Export",
            "Edit",
            "Replace",
            "View",
            "Quit",
        ):
            assert wanted in names
        assert app.screen.query_one(Gallery)

    run_app_test(settings, body, repo)


def test_core_imports_no_textual():
    code = (
        "import sys, imagerepo_tui.repository, imagerepo_tui.imaging, imagerepo_tui.store, "
        "imagerepo_tui.cli; print(any(m == 'textual' or m.startswith('textual.') "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_database_lost_and_back_is_recovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A server of our own, stopped and started again on the same port."""
    from tests import conftest

    process, uri = conftest.start_test_server(tmp_path / "server")
    port = int(uri.rsplit(":", 1)[1].strip("/"))
    settings = Settings(db_uri=f"{uri}lib", data_dir=tmp_path / "data")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await wait_for(pilot, lambda: app.connection == "connected", timeout=15)
        process.terminate()
        process.wait(timeout=15)
        await pilot.press("ctrl+r")  # the next use notices
        await wait_for(pilot, lambda: app.connection == "unreachable", timeout=15)
        assert "unreachable" in shown_text(app.screen.query_one(StatusLine))
        monkeypatch.setattr(conftest, "_free_port", lambda: port)
        restarted, _ = conftest.start_test_server(tmp_path / "server")
        try:
            await wait_for(pilot, lambda: app.connection == "connected", timeout=20)
            await settle(pilot)
            assert "connected" in shown_text(app.screen.query_one(StatusLine))
            assert app.screen.query_one(Gallery).loaded_once
        finally:
            restarted.terminate()
            restarted.wait(timeout=15)

    try:
        run_app_test(settings, body)
    finally:
        if process.poll() is None:
            process.kill()
