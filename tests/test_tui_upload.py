"""Uploading from the TUI: the file picker (marked files, a folder) and pasted paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.paths import parse_pasted_paths
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.screens.upload import ImageTree, UploadPickerScreen, UploadScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from tests.sample_images import jpeg_bytes, photo_folder, write
from tests.support import assert_no_orphans
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for


def _files(folder: Path, count: int) -> list[Path]:
    return [
        write(folder / f"pick{n}.jpg", jpeg_bytes(50 + n, 30, seed=40 + n)) for n in range(count)
    ]


async def _upload_done(pilot: Pilot[Any]) -> UploadScreen:
    screen = pilot.app.screen
    assert isinstance(screen, UploadScreen)
    await wait_for(pilot, lambda: not screen.running, timeout=20)
    return screen


def test_picker_uploads_marked_files(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "pictures"
    _files(folder, 3)
    write(folder / "notes.txt", b"not an image")
    monkeypatch.chdir(folder)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UploadPickerScreen)
        tree = app.screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 3)  # notes.txt filtered out
        await pilot.press("down", "space", "space")  # marks pick0 and pick1
        await settle(pilot)
        assert sorted(p.name for p in tree.marked) == ["pick0.jpg", "pick1.jpg"]
        assert "Upload 2 files" in str(app.screen.query_one("#upload").label)
        await pilot.press("ctrl+s")
        screen = await _upload_done(pilot)
        assert screen.counts == {"created": 2, "duplicate": 0, "error": 0}
        assert gallery.rows.total == 2  # shown as they landed
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one(Gallery) is gallery
        assert repo.count() == 2

    run_app_test(settings, body, repo)


def test_picker_imports_a_folder_after_confirmation(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    photo_folder(tmp_path / "album" / "trip")
    write(tmp_path / "album" / "trip" / "broken.jpg", b"\xff\xd8\xff not really")
    monkeypatch.chdir(tmp_path / "album")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        await pilot.press("u")
        await settle(pilot)
        tree = app.screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 1)
        await pilot.press("down", "f")  # the "trip" folder
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Upload 7 images" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        screen = await _upload_done(pilot)
        assert screen.counts == {"created": 6, "duplicate": 0, "error": 1}
        assert gallery.rows.total == 6

    run_app_test(settings, body, repo)


def test_pasted_paths_open_the_confirmation(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    spaced = tmp_path / "my photos"
    first, second, third = _files(spaced, 3)
    escaped = str(second).replace(" ", "\\ ")
    url = "file://" + str(third).replace(" ", "%20")
    paste = f"'{first}' {escaped}\n{url}"

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        gallery.post_message(events.Paste(paste))
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "Upload 3 images" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        screen = await _upload_done(pilot)
        assert screen.counts["created"] == 3
        assert gallery.rows.total == 3

    run_app_test(settings, body, repo)


def test_parse_pasted_paths_forms(tmp_path: Path):
    spaced = write(tmp_path / "a b" / "c d.jpg", b"x")
    plain = write(tmp_path / "plain.png", b"x")
    assert parse_pasted_paths(f"'{spaced}'") == [spaced]
    assert parse_pasted_paths(f'"{spaced}" {plain}') == [spaced, plain]
    assert parse_pasted_paths(str(spaced).replace(" ", "\\ ")) == [spaced]
    assert parse_pasted_paths(f"file://{str(spaced).replace(' ', '%20')}\r\n{plain}") == [
        spaced,
        plain,
    ]
    assert parse_pasted_paths(str(spaced)) == [spaced]  # bare, with spaces
    assert parse_pasted_paths("file://elsewhere/etc/passwd") == []
    assert parse_pasted_paths("hello world") == []


def test_quitting_during_an_upload_finishes_the_files_under_way(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
):
    """The batch stops, but files already being written are completed before the
    repository closes: no half-written upload, no claim left for a later cleanup."""
    paths = [
        write(tmp_path / "many" / f"m{n:03}.jpg", jpeg_bytes(320, 240, seed=300 + n))
        for n in range(80)
    ]
    apps: list[ImageRepoApp] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        apps.append(app)
        await ready(pilot, 0)
        app.browse.start_upload(paths, recursive=False)
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        screen = app.screen
        assert isinstance(screen, UploadScreen)
        await wait_for(pilot, lambda: screen.counts["created"] >= 2, timeout=20)
        assert app.writes.running == 1
        app.exit()

    run_app_test(settings, body, repo)
    app = apps[0]
    assert app.writes.wait_idle(30)
    assert app.repository is None  # closed, after the last write
    stored = raw_db["images"].count_documents({})
    assert 2 <= stored < len(paths)  # stopped, not carried on to the end
    assert_no_orphans(raw_db)
