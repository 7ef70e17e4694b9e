"""Helpers for the TUI tests: run a Pilot session without pytest-asyncio, wait on
the app's workers, read what a widget shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageInfo, ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp, make_app
from imagerepo_tui.tui.widgets.gallery import Gallery
from tests.sample_images import jpeg_bytes, write

SIZE = (120, 40)


def run_app_test(
    settings: Settings,
    body: Callable[[Pilot[Any], ImageRepoApp], Awaitable[None]],
    repo: ImageRepository | None = None,
) -> None:
    """Run ``body`` against a real app; the test's repository is shared when given
    (one mongoengine connection per process)."""

    async def main() -> None:
        factory = (lambda _settings: repo) if repo is not None else None
        app = make_app(settings, graphics="halfcell", repository_factory=factory)
        async with app.run_test(size=SIZE) as pilot:
            await body(pilot, app)

    asyncio.run(main())


async def settle(pilot: Pilot[Any], rounds: int = 3) -> None:
    """Let the app's workers finish (not DirectoryTree's loader, which never does)."""
    for _ in range(rounds):
        workers = [w for w in pilot.app.workers if w.group != "_loader"]
        if workers:  # an empty list would mean "all workers" to Textual
            await pilot.app.workers.wait_for_complete(workers)
        await pilot.pause(0.05)


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


async def ready(pilot: Pilot[Any], count: int | None = None) -> Gallery:
    """Connected, the first page listed (and ``count`` rows when given)."""
    app = pilot.app
    gallery = app.screen.query_one(Gallery)
    await wait_for(pilot, lambda: gallery.loaded_once)
    if count is not None:
        await wait_for(pilot, lambda: gallery.rows.total == count)
    await settle(pilot)
    return gallery


def upload_samples(repo: ImageRepository, folder: Path, count: int) -> list[ImageInfo]:
    """``count`` JPEGs uploaded in order: the last one is the newest."""
    infos = []
    for n in range(count):
        path = write(folder / f"photo{n:02}.jpg", jpeg_bytes(60 + n, 40, seed=n))
        result = repo.upload(path)
        assert result.image is not None
        infos.append(result.image)
    return infos


def shown_text(widget: Widget) -> str:
    """The plain text a widget shows on screen, line by line."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    lines = widget.render_lines(region)
    return "\n".join("".join(segment.text for segment in line) for line in lines)
