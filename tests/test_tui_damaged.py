"""The TUI with documents it did not write: damaged rows are shown and can be browsed,
the details say what is wrong, and nothing from them drives the terminal or Textual."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import Binary, ObjectId
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.widgets.metadata import MAX_EXIF_ROWS, MetadataPane
from imagerepo_tui.tui.widgets.preview import PreviewPane
from tests.damaged_support import ALL_WRONG, MISSING, plant
from tests.tui_support import ready, run_app_test, settle, shown_text, upload_samples, wait_for

RETITLE = "\x1b]0;pwned\x07"


def row_text(gallery: Any, row: int) -> str:
    return "".join(segment.text for segment in gallery.render_line(row))


def test_damaged_rows_are_shown_and_browsed(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    good = upload_samples(repo, tmp_path / "in", 2)
    # Newest first in the gallery: the planted ones get the highest sequence numbers.
    title_int = plant(raw_db, good[0].id, title=42)
    everything = plant(raw_db, good[0].id, **ALL_WRONG)
    no_filename = plant(raw_db, good[0].id, filename=MISSING, title="", exif={RETITLE: 1})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 5)
        metadata = app.screen.query_one(MetadataPane)
        assert [gallery.rows.get(n).id for n in range(3)] == [no_filename, everything, title_int]
        assert f"⚠ (no name) {no_filename[:6]}" in row_text(gallery, 0)
        assert "⚠" not in row_text(gallery, 3)
        details = shown_text(metadata)
        assert "Damaged" in details and "filename: missing" in details
        assert "\x1b" not in details and "EXIF \\x1b]0;pwned\\x07" in details
        await pilot.press("j")
        await settle(pilot)
        assert metadata.info is not None and metadata.info.id == everything
        details = "".join(shown_text(metadata).split())
        assert "width:expectedaninteger,gotstr" in details
        assert "file_id:missing" in details
        # The original cannot be reached: the preview says so, the app goes on.
        pane = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: pane.shown == (everything, "error"))
        await pilot.press("j", "j", "j")
        await settle(pilot)
        assert metadata.info.id == good[0].id and "Damaged" not in shown_text(metadata)
        assert app.is_running

    run_app_test(settings, body, repo)


def test_garbage_thumbnail_falls_back_to_the_original(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    (info,) = upload_samples(repo, tmp_path / "in", 1)
    junk = Binary(bytes(range(256)) * 4)
    raw_db.images.update_one({"_id": ObjectId(info.id)}, {"$set": {"thumbnail": junk}})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 1)
        pane = app.screen.query_one(PreviewPane)
        await wait_for(pilot, lambda: pane.shown == (info.id, "full"))

    run_app_test(settings, body, repo)


def test_details_cap_huge_exif_and_values_and_take_no_markup(
    settings: Settings, repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    good = upload_samples(repo, tmp_path / "in", 2)
    exif: dict[str, Any] = {f"key{n:04}": f"value{n}" for n in range(5000)}
    exif["key0000"] = "[@click=app.quit]" + "x" * 100_000
    raw_db.images.update_one({"_id": ObjectId(good[0].id)}, {"$set": {"exif": exif}})

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 2)
        metadata = app.screen.query_one(MetadataPane)
        await pilot.press("j")
        await settle(pilot)
        assert metadata.info is not None and metadata.info.id == good[0].id
        shown = "".join(shown_text(metadata).split())  # the pane folds long values
        assert shown.count("EXIFkey") == MAX_EXIF_ROWS
        assert f"…and{5000 - MAX_EXIF_ROWS:,}more" in shown
        assert "morecharacters)" in shown and "x" * 1000 not in shown
        assert "[@click=app.quit]" in shown
        await pilot.click(MetadataPane, offset=(20, 2))
        await pilot.press("tab", "k")
        await settle(pilot)
        assert app.is_running and gallery.rows.total == 2

    run_app_test(settings, body, repo)
