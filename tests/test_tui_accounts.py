"""The TUI in a library with accounts: the login screen, owners and public/private
markers in the gallery, and the toggle, against the real core and database.

One repository per process (mongoengine): each test fills the library with its own
repository, closes it, and only then starts the app, which opens its own; what the
app changed is checked afterwards through a fresh repository.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.style import Style
from textual.pilot import Pilot
from textual.widgets import Input, Static

from imagerepo_tui.config import Settings
from imagerepo_tui.records import ImageInfo, NewMetadata
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.forms import VisibilityScreen
from imagerepo_tui.tui.screens.login import LoginScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.metadata import MetadataPane
from imagerepo_tui.tui.widgets.rows import format_row, header_text
from imagerepo_tui.tui.widgets.status import StatusLine
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for

ALICE_PASSWORD = "alice-secret-1"
BOB_PASSWORD = "bob-secret-22"


@dataclasses.dataclass
class Library:
    alice_public: ImageInfo
    alice_private: ImageInfo
    bob_own: ImageInfo


def _upload(repo: ImageRepository, folder: Path, name: str, seed: int) -> ImageInfo:
    path = write(folder / f"{name}.jpg", jpeg_bytes(60 + seed, 40, seed=seed))
    result = repo.upload(path, NewMetadata(title=name.title()))
    assert result.image is not None
    return result.image


@pytest.fixture
def library(settings: Settings, tmp_path: Path) -> Library:
    """alice (admin) with a public and a private image, bob with a private one."""
    repo = ImageRepository.open(settings)
    try:
        repo.add_user("alice", ALICE_PASSWORD)
        repo.login("alice", ALICE_PASSWORD)
        repo.add_user("bob", BOB_PASSWORD)
        folder = tmp_path / "uploads"
        public = repo.set_public(_upload(repo, folder, "harbour", 1).id, True)
        private = _upload(repo, folder, "diary", 2)
        repo.login("bob", BOB_PASSWORD)
        own = _upload(repo, folder, "dunes", 3)
    finally:
        repo.close()
    return Library(public, private, own)


def _as(settings: Settings, user: str | None) -> Settings:
    return dataclasses.replace(settings, user=user)


def _fresh_info(settings: Settings, user: str, password: str, image_id: str) -> ImageInfo:
    """What the database says now, through a new repository (the app has closed its own)."""
    repo = ImageRepository.open(settings)
    try:
        repo.login(user, password)
        return repo.info(image_id)
    finally:
        repo.close()


async def _login_screen(pilot: Pilot[Any]) -> LoginScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LoginScreen))
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, LoginScreen)
    return screen


async def _log_in(pilot: Pilot[Any], password: str) -> Gallery:
    """Type the password into the (focused) password field, submit, wait for the list."""
    screen = await _login_screen(pilot)
    assert screen.focused is screen.password_input  # the name was filled in already
    await pilot.press(*password, "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BrowseScreen))
    return await ready(pilot)


def _messages(app: ImageRepoApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def _select(gallery: Gallery, image_id: str) -> None:
    row = gallery.rows.find(image_id)
    assert row is not None, "the image is not listed"
    gallery.cursor = row


def _row_text(gallery: Gallery, image_id: str) -> str:
    lines = shown_text(gallery).splitlines()
    row = gallery.rows.find(image_id)
    assert row is not None
    return lines[row]


def test_login_screen_refuses_a_wrong_password_then_shows_the_gallery(
    settings: Settings, library: Library
):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _login_screen(pilot)
        assert screen.name_input.value == "bob"  # from settings.user (--user)
        assert screen.focused is screen.password_input
        await pilot.press(*"not-his-password", "enter")
        message = screen.query_one("#login-message", Static)
        await wait_for(pilot, lambda: "wrong user name or password" in str(message.content))
        await settle(pilot)
        assert app.screen is screen  # still asking
        assert screen.password_input.value == ""  # the wrong password is gone
        assert screen.focused is screen.password_input
        assert app.user_name == ""
        gallery = await _log_in(pilot, BOB_PASSWORD)
        assert app.user_name == "bob"
        status = shown_text(app.screen.query_one(StatusLine))
        assert "bob@" in status
        assert gallery.rows.total == 2  # his own and alice's public one

    run_app_test(_as(settings, "bob"), body)


def test_login_with_an_empty_name_field_asks_for_the_name(settings: Settings, library: Library):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _login_screen(pilot)
        assert screen.focused is screen.name_input  # no --user: start with the name
        await pilot.press(*"alice", "enter")  # enter in the name moves to the password
        assert screen.focused is screen.password_input
        await pilot.press(*ALICE_PASSWORD, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        gallery = await ready(pilot, 2)
        assert app.user_name == "alice"
        assert gallery.rows.find(library.bob_own.id) is None  # bob's is private

    run_app_test(_as(settings, None), body)


def test_escape_on_the_login_screen_quits(settings: Settings, library: Library):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await _login_screen(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.is_running)

    run_app_test(_as(settings, "bob"), body)


def test_another_users_public_image_is_listed_with_its_owner_and_private_ones_not(
    settings: Settings, library: Library
):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await _log_in(pilot, BOB_PASSWORD)
        assert gallery.rows.find(library.alice_private.id) is None
        theirs = _row_text(gallery, library.alice_public.id)
        mine = _row_text(gallery, library.bob_own.id)
        assert "●" in theirs and "alice" in theirs and "Harbour" in theirs
        assert "○" in mine and "bob" not in mine and "Dunes" in mine
        header = shown_text(app.screen.query_one("#gallery-header"))
        assert "Owner" in header
        _select(gallery, library.alice_public.id)
        await settle(pilot)
        details = shown_text(app.screen.query_one(MetadataPane))
        assert "alice" in details and "public" in details
        # A search by owner finds only what bob may see of alice's.
        await pilot.press("slash", *"owner:alice", "enter")
        await wait_for(pilot, lambda: gallery.query is not None and gallery.loaded_once)
        await settle(pilot)
        assert gallery.rows.total == 1
        assert gallery.current is not None and gallery.current.id == library.alice_public.id

    run_app_test(_as(settings, "bob"), body)


def test_another_users_image_can_be_neither_trashed_nor_made_private(
    settings: Settings, library: Library
):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await _log_in(pilot, BOB_PASSWORD)
        _select(gallery, library.alice_public.id)
        await settle(pilot)
        # Refused up front: no confirmation or form that could only fail.
        for key in ("d", "p", "e", "D"):
            app.clear_notifications()
            await pilot.press(key)
            await wait_for(pilot, lambda: any("belongs to alice" in m for m in _messages(app)))
            assert app.screen is gallery.screen
        await settle(pilot)
        assert gallery.rows.find(library.alice_public.id) is not None
        assert gallery.current is not None and gallery.current.public
        assert "●" in _row_text(gallery, library.alice_public.id)

    run_app_test(_as(settings, "bob"), body)
    after = _fresh_info(settings, "alice", ALICE_PASSWORD, library.alice_public.id)
    assert after.public and after.deleted_at is None


def test_the_toggle_shares_and_unshares_ones_own_image(settings: Settings, library: Library):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await _log_in(pilot, BOB_PASSWORD)
        _select(gallery, library.bob_own.id)
        await settle(pilot)
        assert "○" in _row_text(gallery, library.bob_own.id)
        await pilot.press("p")
        await wait_for(pilot, lambda: gallery.current is not None and gallery.current.public)
        await settle(pilot)
        assert "●" in _row_text(gallery, library.bob_own.id)
        details = app.screen.query_one(MetadataPane)
        assert "public" in shown_text(details) and details.info is not None
        assert details.info.public

    run_app_test(_as(settings, "bob"), body)
    # alice now sees it; then bob makes it private again.
    assert _fresh_info(settings, "alice", ALICE_PASSWORD, library.bob_own.id).public

    async def unshare(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await _log_in(pilot, BOB_PASSWORD)
        _select(gallery, library.bob_own.id)
        await settle(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: gallery.current is not None and not gallery.current.public)
        await settle(pilot)
        assert "○" in _row_text(gallery, library.bob_own.id)

    run_app_test(_as(settings, "bob"), unshare)
    assert not _fresh_info(settings, "bob", BOB_PASSWORD, library.bob_own.id).public


def test_marked_images_are_made_public_and_others_images_are_refused(
    settings: Settings, library: Library
):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await _log_in(pilot, BOB_PASSWORD)
        await pilot.press("a")  # all: his own and alice's public one
        await wait_for(pilot, lambda: gallery.marks.active)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, VisibilityScreen))
        await pilot.press("p")
        # alice's image fails (shown in the bulk screen); escape closes it.
        await wait_for(pilot, lambda: "1 failed" in shown_text(app.screen.query_one("#bulk-title")))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        await ready(pilot)

    run_app_test(_as(settings, "bob"), body)
    assert _fresh_info(settings, "bob", BOB_PASSWORD, library.bob_own.id).public
    assert _fresh_info(settings, "alice", ALICE_PASSWORD, library.alice_public.id).public


def test_personal_mode_has_no_login_markers_or_toggle(settings: Settings, tmp_path: Path):
    repo = ImageRepository.open(settings)
    try:
        info = _upload(repo, tmp_path / "uploads", "pier", 4)
    finally:
        repo.close()

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 1)
        assert isinstance(app.screen, BrowseScreen) and app.user_name == ""
        row = _row_text(gallery, info.id)
        assert "●" not in row and "○" not in row
        assert "Owner" not in shown_text(app.screen.query_one("#gallery-header"))
        assert app.screen.check_action("share", ()) is False
        await pilot.press("p")  # nothing: the key does nothing here
        await settle(pilot)
        assert not _messages(app)

    run_app_test(settings, body)


def test_login_field_is_a_password_field(settings: Settings, library: Library):
    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        screen = await _login_screen(pilot)
        assert screen.query_one("#login-password", Input).password
        await pilot.press(*"abc")
        assert "abc" not in shown_text(screen.password_input)

    run_app_test(_as(settings, "bob"), body)


def _row_info(title: str, owner: str, owner_name: str, public: bool) -> ImageInfo:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return ImageInfo(
        id="0" * 24, filename="f.jpg", title=title, description="", tags=("sea",),
        format="JPEG", mime="image/jpeg", width=480, height=320, frames=1, size=10_400,
        sha256="", exif={}, taken_at=None, created_at=when, updated_at=when, seq=1,
        owner=owner, owner_name=owner_name, public=public,
    )  # fmt: skip


@pytest.mark.parametrize("width", [46, 70, 120])
def test_rows_with_accounts_stay_aligned_and_show_untrusted_names_literally(width: int):
    theirs = _row_info("[@click=app.quit]x", "a", "al\x1b[2Jice", True)
    mine = _row_info("Dunes", "b", "bob", False)
    header = header_text(width, accounts=True).plain
    row_theirs = format_row(theirs, width, Style(), viewer="b").plain
    row_mine = format_row(mine, width, Style(), viewer="b").plain
    # The columns line up: "Pixels" ends where the dimensions end.
    end = header.index("Pixels") + len("Pixels")
    assert row_theirs.index("480×320") + len("480×320") == end
    assert row_mine.index("480×320") + len("480×320") == end
    assert row_theirs.startswith(" ● ") and row_mine.startswith(" ○ ")
    assert "\x1b" not in row_theirs and "bob" not in row_mine
    if "Owner" in header:  # wide enough for an owner column; else "alice: name"
        assert "al\\x1b" in row_theirs and "[@click=a" in row_theirs
    else:
        assert row_theirs[3:].startswith("al\\x")
    # Personal mode: no marker, no owner, as before accounts existed.
    personal = format_row(theirs, width, Style()).plain
    assert personal.startswith(" [@c") and "al\\x1b" not in personal
