"""Check and back up from the TUI: palette commands that run the core's jobs with
progress in the status line, and a reminder when the library was never backed up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bson import Binary
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.safekeeping import SafekeepingCommands
from imagerepo_tui.tui.screens.forms import PromptScreen
from tests.tui_support import ready, run_app_test, shown_text, upload_samples, wait_for


def _notices(app: ImageRepoApp) -> list[str]:
    return [str(notice.message) for notice in app._notifications]


async def _palette(pilot: Pilot[Any], app: ImageRepoApp, words: str) -> None:
    """Choose a command as a person does: ctrl+p, type, enter."""
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*words)
    await pilot.pause(0.5)
    await pilot.press("enter")


def test_a_library_never_backed_up_says_so_and_a_backup_from_the_palette_ends_it(
    settings: Settings, repo: ImageRepository, tmp_path: Path
) -> None:
    upload_samples(repo, tmp_path / "photos", 3)
    folder = tmp_path / "backup"

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 3)
        await wait_for(pilot, lambda: "never backed up" in shown_text(app.browse.status))
        provider = SafekeepingCommands(app.screen)
        hits = {hit.text: hit.help async for hit in provider.discover()}
        assert hits["Back up the library…"] == "never backed up"
        assert hits["Check the library"] == "never checked"

        await _palette(pilot, app, "back up")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        field = app.screen.query_one("Input")
        field.value = str(folder)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any(t.startswith("Backed up 3 images") for t in _notices(app))
        )
        assert app.activity == ""
        assert "never backed up" not in shown_text(app.browse.status)
        await wait_for(pilot, lambda: app.safekeeping.last and app.safekeeping.last.backup)
        hits = {hit.text: hit.help async for hit in SafekeepingCommands(app.screen).discover()}
        assert hits["Back up the library…"].startswith("last backed up today to ")

    run_app_test(settings, body, repo)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["counts"]["images"] == 3

    async def reopened(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 3)
        await wait_for(pilot, lambda: app.safekeeping.last is not None)
        await pilot.pause(0.2)
        assert app.reminder == ""
        assert "backed up" not in shown_text(app.browse.status)

    run_app_test(settings, reopened)  # the first app closed the shared repository


def test_a_check_from_the_palette_reports_damage(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    [damaged, *_] = upload_samples(repo, tmp_path / "photos", 3)
    doc = raw_db.images.find_one({"filename": damaged.filename})
    chunk = raw_db["fs.chunks"].find_one({"files_id": doc["file_id"], "n": 0})
    data = bytearray(chunk["data"])
    data[len(data) // 2] ^= 0xFF
    raw_db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": Binary(bytes(data))}})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 3)
        await _palette(pilot, app, "check the")
        await wait_for(pilot, lambda: any("Library checked" in t for t in _notices(app)))
        [notice] = [t for t in _notices(app) if "Library checked" in t]
        assert "3 images" in notice and "1 problem (1 damaged)" in notice
        assert "imagerepo-tui check" in notice
        assert app.safekeeping.running is None and app.activity == ""
        await wait_for(pilot, lambda: app.safekeeping.last and app.safekeeping.last.check)
        hits = {hit.text: hit.help async for hit in SafekeepingCommands(app.screen).discover()}
        assert hits["Check the library"] == "last checked today: 1 problem"

    run_app_test(settings, body, repo)
    assert raw_db.library_state.find_one({"_id": "last_check"})["problems"] == 1

    async def reopened(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        # The last check's result is said when the library opens again.
        await ready(pilot, 3)
        await wait_for(pilot, lambda: any("1 problem" in t for t in _notices(app)))

    run_app_test(settings, reopened)  # the first app closed the shared repository


def test_one_job_at_a_time(settings: Settings, repo: ImageRepository, tmp_path: Path) -> None:
    upload_samples(repo, tmp_path / "photos", 2)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 2)
        app.safekeeping.running = "check"  # as while a check is under way
        app.safekeeping.start_backup()
        await pilot.pause(0.1)
        assert not isinstance(app.screen, PromptScreen)
        assert "A check is under way." in _notices(app)
        app.safekeeping.running = None

    run_app_test(settings, body, repo)
