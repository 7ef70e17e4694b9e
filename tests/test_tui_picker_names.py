"""The upload picker shows file names from disk escaped and as plain text: a name can
neither drive the terminal (ESC, BEL), nor run markup, nor hide part of itself."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.textsafe import visible
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.upload import ImageTree, UploadPickerScreen
from imagerepo_tui.tui.widgets.file_preview import FilePreview
from tests.damaged_images import damaged_fax_tiff
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for

TITLE_SETTER = "esc\x1b]0;pwned\x07x.jpg"
HOSTILE = {
    TITLE_SETTER: "esc\\x1b]0;pwned\\x07x.jpg",
    "two\nlines.jpg": "two\\x0alines.jpg",
    "bidi\u202egpj.exe.jpg": "bidi\\u202egpj.exe.jpg",
    "[@click=app.quit]q.jpg": "[@click=app.quit]q.jpg",  # markup stays text
}
RAW_CONTROLS = ("\x1b", "\x07", "\u202e")


def _screen_text(app: ImageRepoApp) -> str:
    """The text of the whole frame the app sends to the terminal, as
    ``App.export_screenshot`` renders it; cursor moves and colours are left out, so an
    ESC or BEL here came from content."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def test_picker_shows_hostile_names_escaped(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "evil"
    for n, name in enumerate(HOSTILE):
        write(folder / name, jpeg_bytes(40, 30, seed=n))
    write(folder / "fax.tif", damaged_fax_tiff())
    monkeypatch.chdir(folder)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UploadPickerScreen)
        tree = app.screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == len(HOSTILE) + 1)
        labels = [str(node.label) for node in tree.root.children]
        assert sorted(labels) == sorted([*HOSTILE.values(), "fax.tif"])
        shown = shown_text(tree)
        for escaped in HOSTILE.values():
            assert escaped in shown
        # Every line the screen draws, the tree's and the preview's: no raw control.
        preview = app.screen.query_one(FilePreview)
        for index, node in enumerate(tree.root.children):
            tree.move_cursor(node)
            assert node.data is not None
            path = node.data.path
            await wait_for(pilot, lambda p=path: _facts_for(preview, p))
            text = _screen_text(app)
            assert not any(c in text for c in RAW_CONTROLS), (index, repr(text))
        # Marking the title setter: the summary and the mark show, still escaped.
        tree.move_cursor(next(n for n in tree.root.children if "pwned" in str(n.label)))
        await pilot.press("space")
        await settle(pilot)
        text = _screen_text(app)
        assert "Upload 1 file" in text and "✓" in text
        assert not any(c in text for c in RAW_CONTROLS)

    run_app_test(settings, body, repo)


def _facts_for(preview: FilePreview, path: Path) -> bool:
    """The preview pane has finished with ``path``: its name (escaped) and what it is."""
    facts = shown_text(preview.query_one("#file-facts"))
    return visible(path.name) in facts and ("JPEG" in facts or "not uploadable" in facts)


def test_preview_of_a_damaged_file_says_why_in_one_message(
    settings: Settings, repo: ImageRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "scans"
    write(folder / "fax.tif", damaged_fax_tiff())
    monkeypatch.chdir(folder)

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        await ready(pilot, 0)
        await pilot.press("u")
        await settle(pilot)
        tree = app.screen.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 1)
        tree.move_cursor(tree.root.children[0])
        facts_pane = app.screen.query_one(FilePreview).query_one("#file-facts")
        await wait_for(pilot, lambda: "not uploadable" in shown_text(facts_pane))
        facts = " ".join(shown_text(facts_pane).split())
        assert "not uploadable: damaged image data" in facts and "Fax4Decode" in facts

    run_app_test(settings, body, repo)
