"""The start-up children of ``bench_tui``: a minimal Textual app, or imagerepo-tui
through its real CLI entry, run headless until the first frame (or the first page of
the gallery) is painted; the wall-clock moment goes to a JSON file.

This module imports only the standard library at the top, so each child pays for
exactly the imports its own start needs, as a real start does.

    python -m benchmarks.tui_start --child MODE [DATA_DIR] --out PATH
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE = (120, 40)
START_MODES = ("minimal", "frame", "page")


def hook_display(app_class: type, on_frame: Callable[[Any], None]) -> None:
    """Call ``on_frame(app)`` after every frame the app composes for its driver."""
    original = app_class._display

    def _display(self: Any, screen: Any, renderable: Any) -> None:
        original(self, screen, renderable)
        if renderable is not None:
            on_frame(self)

    app_class._display = _display


def child_start(mode: str, data_dir: str, out: Path) -> None:
    """``frame``: first frame of the app; ``page``: first frame showing the first
    page of the gallery; ``minimal``: first frame of a minimal Textual app."""
    if mode == "minimal":
        from textual.app import App, ComposeResult
        from textual.widgets import Static

        class Minimal(App[None]):
            def compose(self) -> ComposeResult:
                yield Static("hello")

        def first(app: Any) -> None:
            out.write_text(json.dumps({"painted": time.time()}))
            app.exit()

        hook_display(Minimal, first)
        Minimal().run(headless=True, size=SIZE)
        return

    from imagerepo_tui.cli import main
    from imagerepo_tui.tui.app import ImageRepoApp
    from imagerepo_tui.tui.screens.browse import BrowseScreen
    from imagerepo_tui.tui.widgets.gallery import Gallery

    def ready(app: Any) -> bool:
        if not isinstance(app.screen, BrowseScreen):
            return False
        if mode == "frame":
            return True
        gallery = app.screen.query_one(Gallery)
        return gallery.loaded_once and gallery.rows.get(0) is not None

    def on_frame(app: Any) -> None:
        if not out.exists() and ready(app):
            out.write_text(json.dumps({"painted": time.time()}))
            app.exit()

    hook_display(ImageRepoApp, on_frame)
    run = ImageRepoApp.run
    ImageRepoApp.run = lambda self, **_: run(self, headless=True, size=SIZE)  # type: ignore[method-assign]
    main(["--data-dir", data_dir, "--graphics", "halfcell"])


if __name__ == "__main__":
    # --child MODE [DATA_DIR] --out PATH
    argv = sys.argv[1:]
    out_path = Path(argv[argv.index("--out") + 1])
    mode, *rest = argv[argv.index("--child") + 1 : argv.index("--out")]
    child_start(mode, rest[0] if rest else "", out_path)
