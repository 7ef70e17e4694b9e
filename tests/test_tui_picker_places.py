"""The upload picker goes where you want: ``~`` home, a typed path with completion
(``ctrl+l``), the recent folders (``r``), and it opens where the last upload came from.
Its preview pane shows a few thumbnails of a highlighted folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, OptionList
from textual.widgets._footer import FooterKey

from imagerepo_tui.config import Settings
from imagerepo_tui.remembered import state_path
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.paths import complete_folder, folder_problem, typed_folder
from imagerepo_tui.tui.recent_folders import (
    KEY,
    LIMIT,
    recent_folders,
    remember_upload,
    start_folder,
)
from imagerepo_tui.tui.screens.recent import RecentFoldersScreen
from imagerepo_tui.tui.screens.upload import ImageTree, UploadPickerScreen, UploadScreen
from imagerepo_tui.tui.widgets.file_preview import FilePreview
from imagerepo_tui.tui.widgets.folder_field import FolderField, FolderInput
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for


async def _picker(pilot: Pilot[Any]) -> UploadPickerScreen:
    await ready(pilot)
    await pilot.press("u")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, UploadPickerScreen))
    screen = pilot.app.screen
    assert isinstance(screen, UploadPickerScreen)
    await settle(pilot)
    return screen


def _tree_at(screen: UploadPickerScreen) -> Path:
    return Path(screen.query_one(ImageTree).path)


def _hint(screen: UploadPickerScreen) -> str:
    return " ".join(shown_text(screen.query_one("#folder-hint")).split())


# -- pure helpers ----------------------------------------------------------------------------


def test_completion_is_the_common_prefix_of_matching_folders(tmp_path: Path):
    for name in ("album1", "album2", "archive", ".hidden", "other"):
        (tmp_path / name).mkdir()
    write(tmp_path / "album.jpg", jpeg_bytes(10, 10))  # a file: never a candidate
    assert complete_folder("al", tmp_path).text == "album"
    assert complete_folder("al", tmp_path).candidates == ("album1", "album2")
    assert complete_folder("a", tmp_path).text == "a"  # album, archive: nothing more
    assert complete_folder("album2", tmp_path).text == "album2/"
    assert complete_folder("o", tmp_path).text == "other/"
    assert complete_folder(".h", tmp_path).text == ".hidden/"
    assert ".hidden" not in complete_folder("", tmp_path).candidates
    assert complete_folder(f"{tmp_path}/ar", Path("/")).text == f"{tmp_path}/archive/"
    assert complete_folder("zzz", tmp_path).candidates == ()
    assert complete_folder("~", tmp_path).text == "~/"


def test_typed_folders_expand_and_problems_are_words(tmp_path: Path):
    home = Path.home()
    assert typed_folder("~", tmp_path) == home
    user = Path(os.path.expanduser("~root"))
    assert typed_folder("~root/x", tmp_path) == user / "x"
    assert typed_folder("~no-such-user-here", tmp_path) == tmp_path / "~no-such-user-here"
    assert typed_folder(f"'{tmp_path}/my photos'", Path("/")) == tmp_path / "my photos"
    assert typed_folder(f"file://{tmp_path}/a%20b", Path("/")) == tmp_path / "a b"
    assert typed_folder("sub", tmp_path) == tmp_path / "sub"
    write(tmp_path / "f.jpg", b"x")
    assert folder_problem(tmp_path) is None
    assert folder_problem(tmp_path / "nowhere") == "no such folder"
    assert folder_problem(tmp_path / "f.jpg") == "not a folder"
    assert folder_problem(Path("/tmp/a\0b")) is not None


def test_recent_folders_most_recent_first_without_repeats_or_vanished(tmp_path: Path):
    folders = [tmp_path / f"f{n}" for n in range(LIMIT + 3)]
    for folder in folders:
        folder.mkdir()
    photo = write(folders[1] / "a.jpg", b"x")
    remember_upload([folders[0]])
    remember_upload([photo])  # a file: its folder
    remember_upload([folders[0]])
    assert recent_folders() == [folders[0], folders[1]]
    for folder in folders[2:]:
        remember_upload([folder])
    assert recent_folders() == folders[::-1][:LIMIT]
    folders[-1].rmdir()
    assert recent_folders()[0] == folders[-2]
    assert start_folder() == folders[-2]
    # A name that is not UTF-8 on disk is not remembered, and breaks nothing.
    odd = tmp_path / os.fsdecode(b"odd\xff")
    odd.mkdir()
    remember_upload([odd])
    assert recent_folders()[0] == folders[-2]


def test_start_folder_falls_back_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    assert start_folder() == tmp_path
    state = state_path()
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({KEY: [str(tmp_path / "gone"), 42, "relative/path"]}))
    assert start_folder() == tmp_path


# -- in the app --------------------------------------------------------------------------------


def test_tilde_goes_home_and_a_typed_path_completes_and_goes_there(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    base = tmp_path / "photos"
    for name in ("album1", "album2", "other"):
        (base / name).mkdir(parents=True)
    write(base / "album1" / "sea.jpg", jpeg_bytes(40, 30, seed=1))
    write(base / "notes.jpg", b"not a folder")
    monkeypatch.chdir(base)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        assert _tree_at(screen) == base
        await pilot.press("tilde")
        await settle(pilot)
        assert _tree_at(screen) == Path.home()
        facts = screen.query_one(FilePreview).query_one("#file-facts")
        await wait_for(pilot, lambda: "Folder home" in shown_text(facts))  # what is there

        field = screen.query_one(FolderField)
        await pilot.press("ctrl+l")
        assert field.has_class("open") and isinstance(app.focused, FolderInput)
        field.input.value = f"{base}/al"
        await pilot.press("tab")
        await settle(pilot)
        assert field.input.value == f"{base}/album"
        assert "album1/ album2/" in _hint(screen)  # the candidates, shown
        await pilot.press("1", "tab")
        await settle(pilot)
        assert field.input.value == f"{base}/album1/"
        await pilot.press("enter")
        await settle(pilot)
        assert _tree_at(screen) == base / "album1"
        assert not field.has_class("open")
        assert isinstance(app.focused, ImageTree)

        # Relative to the folder shown; a bad path is one line in the dialog.
        await pilot.press("ctrl+l")
        field.input.value = "../nowhere"
        await pilot.press("enter")
        await settle(pilot)
        assert _hint(screen) == "../nowhere: no such folder"
        assert field.query_one("#folder-hint").has_class("error")
        field.input.value = "../notes.jpg"
        await pilot.press("enter")
        await settle(pilot)
        assert _hint(screen) == "../notes.jpg: not a folder"
        assert _tree_at(screen) == base / "album1" and app.screen is screen
        await pilot.press("escape")  # closes the field only
        await settle(pilot)
        assert not field.has_class("open") and app.screen is screen
        await pilot.press("ctrl+l")
        field.input.value = "~"
        await pilot.press("enter")
        await settle(pilot)
        assert _tree_at(screen) == Path.home()
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, UploadPickerScreen)

    run_app_test(settings, body, repo)


def test_recent_folders_and_the_last_uploads_folder_survive_a_restart(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    older, latest, gone = tmp_path / "older", tmp_path / "latest", tmp_path / "gone"
    for folder in (older, gone):
        folder.mkdir()
    write(latest / "sea.jpg", jpeg_bytes(40, 30, seed=3))
    remember_upload([older])
    remember_upload([gone])
    gone.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    async def upload(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        assert _tree_at(screen) == older  # the last upload's folder ("gone" is gone)
        screen.go_to(latest)
        tree = screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 1)
        await pilot.press("down", "space", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        dialog = app.screen
        assert isinstance(dialog, UploadScreen)
        await wait_for(pilot, lambda: not dialog.running, timeout=20)
        assert dialog.counts["created"] == 1

    run_app_test(settings, upload, repo)

    async def restarted(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        assert _tree_at(screen) == latest
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RecentFoldersScreen))
        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)]
        assert shown == [f"1  {latest}", f"2  {older}"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen is screen and _tree_at(screen) == older
        await pilot.press("r", "escape")
        await settle(pilot)
        assert app.screen is screen and _tree_at(screen) == older

    run_app_test(settings, restarted)  # the first app closed the shared repository


def test_no_recent_folders_says_so(settings: Settings, repo: ImageRepository):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen
        assert any("No recent folders" in n.message for n in app._notifications)

    run_app_test(settings, body, repo)


def test_a_highlighted_folder_shows_a_few_of_its_images(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = tmp_path / "pics" / "trip"
    for n in range(9):
        write(folder / f"p{n}.jpg", jpeg_bytes(60, 40, seed=n))
    write(folder / "broken.jpg", b"\xff\xd8\xff not really")
    write(folder / "\x1b]0;pwned\x07.jpg", jpeg_bytes(60, 40, seed=20))
    monkeypatch.chdir(tmp_path / "pics")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        tree = screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 1)
        await pilot.press("down")  # the "trip" folder
        preview = screen.query_one(FilePreview)
        facts = preview.query_one("#file-facts")
        await wait_for(pilot, lambda: "image files" in shown_text(facts))
        assert "Folder trip" in shown_text(facts)
        assert "11 image files, the first 6 shown" in shown_text(facts)
        image: Any = preview.query_one(".preview-image")
        assert image.image is not None
        await pilot.press("up")  # the tree's own folder
        await wait_for(
            pilot, lambda: "Folder" in shown_text(facts) and "trip" not in shown_text(facts)
        )
        assert "0 image files" in shown_text(facts)

    run_app_test(settings, body, repo)


def test_the_upload_button_and_the_footer_show_whole_labels(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The button shows "Upload 2 files (…)" whole, and the docked command palette key
    does not cover Quit at 120 columns."""
    for n in range(2):
        write(tmp_path / "pics" / f"p{n}.jpg", jpeg_bytes(300, 200, seed=n))
    monkeypatch.chdir(tmp_path / "pics")

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _picker(pilot)
        tree = screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 2)
        await pilot.press("down", "space", "space")
        button = screen.query_one("#upload", Button)
        await wait_for(pilot, lambda: str(button.label).startswith("Upload 2 files ("))
        await settle(pilot)
        assert button.content_region.width >= len(str(button.label))
        quit_key = next(k for k in screen.query(FooterKey) if k.description == "Quit")
        palette = next(k for k in screen.query(FooterKey) if k.description == "Commands")
        assert quit_key.region.width > 0 and quit_key.region.right <= palette.region.x

    run_app_test(settings, body, repo)
