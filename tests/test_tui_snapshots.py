"""SVG snapshots of the main screens (pytest-textual-snapshot), half-block graphics.

What varies from run to run is made fixed before the app starts, in the data rather
than by painting over the screen: image ids and dates are rewritten in the test's
database, times are shown in UTC, and textual-image's terminal cell size (asked of
the real terminal when there is one) is pinned. Only the database address on the
status line and the picker's temporary folder, which are properties of the test
run, are replaced on screen.

Update the snapshots after an intended change with ``pytest --snapshot-update``
and look at them (``snapshot_report.html`` shows the differences on failure).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from PIL import Image, ImageDraw
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static
from textual_image._terminal import CellSize, get_cell_size

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository, NewMetadata
from imagerepo_tui.tui.app import ImageRepoApp, make_app
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.screens.preview import FullPreviewScreen
from imagerepo_tui.tui.screens.upload import ImageTree, UploadPickerScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from imagerepo_tui.tui.widgets.preview import PreviewPane
from tests.tui_support import ready, settle, wait_for

SIZE = (120, 36)
DB_SHOWN = "mongodb://127.0.0.1/snapshots"
PICTURES = [("harbour", ["holiday", "sea"]), ("dunes", ["holiday"]), ("pier", []), ("cliffs", [])]
FIRST_UPLOAD = datetime(2026, 3, 14, 9, 26, tzinfo=UTC)


def _picture(path: Path, n: int) -> Path:
    """A small sunset: a gradient and a sun, different for each ``n``."""
    width, height = 192, 128
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        green = int(120 + 100 * math.sin(n + t * 3)) % 256
        draw.line([(0, y), (width, y)], fill=(int(255 * (1 - t)), green, int(180 * t)))
    x, r = 48 + n * 30, 18 + n * 3
    draw.ellipse([x - r, 64 - r, x + r, 64 + r], fill=(255, 220, 90))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=90)
    return path


@pytest.fixture
def fixed_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """UTC times, and the cell size a plain 10×20-pixel terminal would report."""
    monkeypatch.setattr(get_cell_size, "_result", CellSize(10, 20), raising=False)
    zone = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if zone is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = zone
    time.tzset()


@pytest.fixture
def library(
    fixed_world: None, repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> ImageRepository:
    """Four uploaded pictures whose ids and dates are then rewritten to fixed ones."""
    for n, (name, tags) in enumerate(PICTURES):
        path = _picture(tmp_path / "uploads" / f"{name}.jpg", n)
        result = repo.upload(path, NewMetadata(title=name.title(), tags=tags))
        assert result.image is not None
    images = raw_db["images"]
    for doc in list(images.find({}).sort("seq", 1)):
        when = FIRST_UPLOAD + timedelta(minutes=17 * doc["seq"])
        images.delete_one({"_id": doc["_id"]})
        fixed = {"created_at": when, "updated_at": when, "_id": ObjectId(f"{doc['seq']:024x}")}
        if doc.get("taken_key") == doc.get("created_at"):
            fixed["taken_key"] = when
        images.insert_one({**doc, **fixed})
    return repo


def _replace_text(pilot: Pilot[Any], old: str, new: str) -> None:
    """Swap a run-specific string (a temporary path, a port) on screen for a fixed one."""
    for widget in pilot.app.screen.query(Static):
        content = widget.content
        if isinstance(content, Text) and old in content.plain:
            widget.update(Text(content.plain.replace(old, new), style=content.style))
        elif isinstance(content, str) and old in content:
            widget.update(Text(content.replace(old, new)))


async def _preview_ready(pilot: Pilot[Any]) -> None:
    """The full preview (not just the thumbnail) of the highlighted image is painted."""
    pane = pilot.app.screen.query_one(PreviewPane)
    await wait_for(pilot, lambda: pane.shown is not None and pane.shown[1] == "full")
    await settle(pilot)


async def _browse(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await ready(pilot, len(PICTURES))
    await wait_for(pilot, lambda: app.connection == "connected")
    # The reminder of a library never backed up is part of the screen: wait for it.
    await wait_for(pilot, lambda: app.reminder != "")  # type: ignore[attr-defined]
    app.db_description = DB_SHOWN  # type: ignore[attr-defined]
    await pilot.press("j")
    await _preview_ready(pilot)


def _app(settings: Settings, repo: ImageRepository) -> ImageRepoApp:
    return make_app(settings, graphics="halfcell", repository_factory=lambda _s: repo)


def test_browse_screen(snap_compare: Any, settings: Settings, library: ImageRepository):
    assert snap_compare(_app(settings, library), terminal_size=SIZE, run_before=_browse)


def test_delete_confirmation(snap_compare: Any, settings: Settings, library: ImageRepository):
    async def steps(pilot: Pilot[Any]) -> None:
        await _browse(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await settle(pilot)

    assert snap_compare(_app(settings, library), terminal_size=SIZE, run_before=steps)


def test_full_screen_preview(snap_compare: Any, settings: Settings, library: ImageRepository):
    async def steps(pilot: Pilot[Any]) -> None:
        await _browse(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FullPreviewScreen))
        await _preview_ready(pilot)

    assert snap_compare(_app(settings, library), terminal_size=SIZE, run_before=steps)


def test_upload_picker(
    snap_compare: Any,
    settings: Settings,
    library: ImageRepository,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    folder = tmp_path / "pictures"
    for n, name in enumerate(["beach.jpg", "forest.jpg", "lake.jpg"]):
        _picture(folder / name, n + 4)
    (folder / "notes.txt").write_text("not an image")  # filtered out of the picker
    (folder / "older").mkdir()
    monkeypatch.chdir(folder)

    async def steps(pilot: Pilot[Any]) -> None:
        await _browse(pilot)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, UploadPickerScreen))
        tree = pilot.app.screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 4)
        await pilot.press("down", "down", "space", "space")  # marks beach and forest
        screen = pilot.app.screen
        preview: Any = screen.query_one("#file-preview .preview-image")
        facts = screen.query_one("#file-facts", Static)
        await wait_for(pilot, lambda: "lake.jpg" in str(facts.content))
        await wait_for(pilot, lambda: preview.image is not None)
        await settle(pilot)
        _replace_text(pilot, str(folder), "~/pictures")

    assert snap_compare(_app(settings, library), terminal_size=SIZE, run_before=steps)


def test_grid_view(snap_compare: Any, settings: Settings, library: ImageRepository):
    """The gallery as tiles (v), the second one highlighted and the first marked."""

    async def steps(pilot: Pilot[Any]) -> None:
        await _browse(pilot)
        await pilot.press("k", "v", "space")
        gallery = pilot.app.screen.query_one(Gallery)
        await wait_for(pilot, lambda: len(gallery.grid.cache) == len(PICTURES))
        await _preview_ready(pilot)

    assert snap_compare(_app(settings, library), terminal_size=SIZE, run_before=steps)
