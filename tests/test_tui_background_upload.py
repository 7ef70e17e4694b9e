"""A long import need not hold the screen: the upload dialog hides with ``b``, the
upload goes on while the library is browsed, the status line shows how far it is,
``u`` shows the dialog again, and quitting asks before stopping it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import RichLog

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.browse import BrowseScreen
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.screens.upload import UploadScreen
from imagerepo_tui.uploads import MAX_AHEAD
from tests.sample_images import jpeg_bytes, write
from tests.support import assert_no_orphans
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for


def _photos(folder: Path, count: int) -> list[Path]:
    return [
        write(folder / f"p{n:03}.jpg", jpeg_bytes(320 + n // 256, 240, seed=n))
        for n in range(count)
    ]


@pytest.fixture
def gate(repo: ImageRepository, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds every upload batch after its first results until the test opens it, so
    "while the upload goes on" does not depend on how fast this machine is. The
    files are still stored for real; only the reporting of results waits."""
    opened = threading.Event()
    upload_files = repo.upload_files

    def gated(*args: Any, **kwargs: Any) -> Iterator[Any]:
        results = upload_files(*args, **kwargs)
        try:
            for number, result in enumerate(results):
                if number == HELD_AFTER:
                    opened.wait(30)
                yield result
        finally:
            results.close()

    monkeypatch.setattr(repo, "upload_files", gated)
    yield opened
    opened.set()


HELD_AFTER = 5


async def _start_hidden(pilot: Pilot[Any], app: ImageRepoApp, paths: list[Path]) -> UploadScreen:
    app.browse.start_upload(paths, recursive=False)
    await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
    screen = app.screen
    assert isinstance(screen, UploadScreen)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
    assert screen.running
    return screen


def _notices(app: ImageRepoApp) -> list[str]:
    return [str(notice.message) for notice in app._notifications]


def test_a_hidden_upload_goes_on_while_browsing(
    settings: Settings, repo: ImageRepository, gate: threading.Event, tmp_path: Path
) -> None:
    paths = _photos(tmp_path / "camera", 150)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        hidden = await _start_hidden(pilot, app, paths)
        assert app.focused is gallery  # the keys browse again
        await wait_for(
            pilot, lambda: f"uploading {HELD_AFTER}/150 files (" in shown_text(app.browse.status)
        )
        # Rows arrive in the gallery while the upload goes on, and can be browsed.
        await wait_for(pilot, lambda: gallery.rows.total == HELD_AFTER)
        first = gallery.current
        await pilot.press("k")  # new rows land above; the cursor keeps its image
        assert first is not None and gallery.current is not None
        assert gallery.current.id != first.id

        await pilot.press("u")  # shows the dialog again, not the file picker
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        shown = app.screen
        assert isinstance(shown, UploadScreen) and shown.job is hidden.job
        # It shows the lines of the files stored while it was hidden.
        assert len(shown.query_one(RichLog).lines) == HELD_AFTER
        gate.set()
        await wait_for(pilot, lambda: not shown.running, timeout=60)
        await settle(pilot)
        assert len(shown.query_one(RichLog).lines) == len(paths)
        assert "Done: 150 created, 0 duplicate, 0 refused" in shown_text(
            shown.query_one("#upload-title")
        )
        assert app.activity == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        assert gallery.rows.total == len(paths)
        assert repo.count() == len(paths)

    run_app_test(settings, body, repo)


def test_a_hidden_upload_says_how_it_ended(
    settings: Settings, repo: ImageRepository, gate: threading.Event, tmp_path: Path
) -> None:
    paths = _photos(tmp_path / "camera", 40)
    paths.append(write(tmp_path / "camera" / "broken.jpg", b"\xff\xd8\xff\xe0 not really"))

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        hidden = await _start_hidden(pilot, app, paths)
        gate.set()
        await wait_for(pilot, lambda: not hidden.job.running, timeout=60)
        await settle(pilot)
        notice = next(text for text in _notices(app) if text.startswith("Done:"))
        summary, refusal = notice.splitlines()
        assert summary == "Done: 40 created, 0 duplicate, 1 refused"
        assert refusal.startswith(f"{paths[-1]}: ")  # which file, and why
        assert app.activity == ""
        assert "uploading" not in shown_text(app.browse.status)
        assert gallery.rows.total == 40

    run_app_test(settings, body, repo)


def test_one_upload_at_a_time(
    settings: Settings, repo: ImageRepository, gate: threading.Event, tmp_path: Path
) -> None:
    paths = _photos(tmp_path / "camera", 150)
    more = tmp_path / "more"
    _photos(more, 3)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        hidden = await _start_hidden(pilot, app, paths)
        gallery.post_message(events.Paste(str(more)))
        # (not settle(): it waits for every worker, the held upload's too)
        await wait_for(pilot, lambda: any("An upload is under way" in t for t in _notices(app)))
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.upload_job is hidden.job
        hidden.job.cancel()
        gate.set()
        await wait_for(pilot, lambda: not hidden.job.running, timeout=30)

    run_app_test(settings, body, repo)


def test_quitting_asks_before_stopping_a_hidden_upload(
    settings: Settings, repo: ImageRepository, gate: threading.Event, raw_db: Any, tmp_path: Path
) -> None:
    # More than an upload keeps in flight: those may all be stored while it is held.
    paths = _photos(tmp_path / "camera", MAX_AHEAD + 50)
    apps: list[ImageRepoApp] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        apps.append(app)
        await ready(pilot, 0)
        hidden = await _start_hidden(pilot, app, paths)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "An upload is under way" in shown_text(app.screen.query_one(".question"))
        await pilot.press("n")  # keep going
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen))
        assert hidden.job.running and app.is_running
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        gate.set()  # the batch may report again: it finds itself stopped

    run_app_test(settings, body, repo)
    app = apps[0]
    assert app.writes.wait_idle(30)
    stored = raw_db["images"].count_documents({})
    assert 1 <= stored < len(paths)  # stopped, not carried on to the end
    assert_no_orphans(raw_db)


def test_hiding_lets_go_of_the_dialog_before_it_goes(
    settings: Settings, repo: ImageRepository, gate: threading.Event, tmp_path: Path
) -> None:
    """`b` pressed while results arrive: the dialog is taken down over several frames,
    and a result written to its log meanwhile (NoMatches: no RichLog) ended the whole
    upload after its first file."""
    paths = _photos(tmp_path / "camera", 40)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        app.browse.start_upload(paths, recursive=False)
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        dialog = app.screen
        assert isinstance(dialog, UploadScreen)
        await wait_for(pilot, lambda: dialog.job.done_files == HELD_AFTER)
        dialog.action_hide()
        # From the key on, results go to the status line and the job's own log only.
        assert dialog.job.view is None
        gate.set()
        await wait_for(pilot, lambda: not dialog.job.running, timeout=60)
        await settle(pilot)
        assert any(text.startswith("Done: 40 created") for text in _notices(app))
        assert not dialog.job.stopped
        assert gallery.rows.total == 40

    run_app_test(settings, body, repo)
