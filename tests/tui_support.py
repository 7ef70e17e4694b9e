"""Helpers for the TUI tests: run a Pilot session without pytest-asyncio, wait on
the app's workers, read what a widget shows, drive keys during an upload.

The key-driving helpers are shared with ``benchmarks.bench_keys``, which times the
same scenarios as ``tests/test_tui_responsive.py``: one copy of how a key is sent
and when it counts as acted on, so the test and the figures cannot drift apart."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from textual import events
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import RichLog

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageInfo, ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp, make_app
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.screens.upload import UploadScreen
from imagerepo_tui.tui.widgets.gallery import Gallery
from tests.sample_images import jpeg_bytes, write

SIZE = (120, 40)
KEY_PACE = 0.02  # seconds between keys: a person's pace, and room for an upload to go on
KEY_TIMEOUT = 10.0  # a key not acted on by then is a hang, not slowness


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


# -- keys during an upload: shared by test_tui_responsive and benchmarks.bench_keys --


def tiny_images(folder: Path, count: int) -> None:
    """``count`` distinct little JPEGs, cheap to make and to upload, so an import of
    hundreds is about the app's per-file work, not image decoding. ``picture``
    repeats its pattern every 256 seeds, so the width changes with each block of 256
    to keep every file unique (a repeat would be a duplicate, not a created image)."""
    for n in range(count):
        write(folder / f"img{n:03}.jpg", jpeg_bytes(12 + n // 256, 8, seed=n))


class Handled:
    """Records when a widget's actions run: the moment a key has been acted on.

    The actions are wrapped on the instance rather than watched through repaints:
    whether and when a frame is painted depends on Textual's refresh timer, while
    the action running is the app doing what the key asked."""

    def __init__(self, widget: Widget, actions: tuple[str, ...]) -> None:
        self.times: list[float] = []
        for name in actions:
            setattr(widget, name, self._spy(getattr(widget, name)))

    def _spy(self, action: Callable[..., None]) -> Callable[..., None]:
        def spy(*args: Any) -> None:
            self.times.append(time.perf_counter())
            action(*args)

        return spy


async def key_latency(pilot: Pilot[Any], handled: Handled, key: str) -> float:
    """Seconds from sending ``key`` until its action has run; AssertionError if it
    has not run within KEY_TIMEOUT (the loop is stuck, which no load explains).

    The key is posted as the terminal driver posts one, not with ``pilot.press``:
    that waits after each key for the process to go CPU-idle, up to a second twice
    over while upload threads keep it busy, and would time Pilot, not the app."""
    before = len(handled.times)
    started = time.perf_counter()
    pilot.app.post_message(events.Key(key, None))
    while len(handled.times) == before:
        if time.perf_counter() - started > KEY_TIMEOUT:
            raise AssertionError(f"{key!r} had no effect within {KEY_TIMEOUT:.0f} s")
        await asyncio.sleep(0.001)  # not pilot.pause: that would repaint from here
    return handled.times[before] - started


async def keys_while(
    pilot: Pilot[Any], handled: Handled, keys: Sequence[str], running: Callable[[], bool]
) -> tuple[list[float], int]:
    """Send ``keys`` in turn, at KEY_PACE, for as long as ``running()``: the latencies
    of the keys acted on while it was still running, and how many keys were sent in
    all (the last may have landed after it stopped, and is not counted as during)."""
    latencies: list[float] = []
    sent = 0
    while running():
        latency = await key_latency(pilot, handled, keys[sent % len(keys)])
        sent += 1
        if running():
            latencies.append(latency)
        await pilot.pause(KEY_PACE)
    return latencies, sent


async def keys_idle(
    pilot: Pilot[Any], handled: Handled, keys: Sequence[str], count: int
) -> list[float]:
    """``count`` keys sent in turn at KEY_PACE, as ``keys_while`` sends them: the same
    keys with nothing running, the baseline the figures during an upload are held to."""
    latencies = []
    for n in range(count):
        latencies.append(await key_latency(pilot, handled, keys[n % len(keys)]))
        await pilot.pause(KEY_PACE)
    return latencies


def latency_figures(latencies: Sequence[float]) -> tuple[float, float, float]:
    """(median, p95, worst) in seconds; p95 is the nearest rank, so with few keys it
    is a real key's latency, not an interpolation towards the worst."""
    ordered = sorted(latencies)
    p95 = ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def latency_summary(latencies: Sequence[float]) -> str:
    median, p95, worst = latency_figures(latencies)
    return (
        f"{len(latencies)} keys: median {median * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, worst {worst * 1000:.1f} ms"
    )


async def upload_in_dialog(
    pilot: Pilot[Any], app: ImageRepoApp, folder: Path, count: int
) -> tuple[UploadScreen, RichLog]:
    """Paste ``folder`` (``count`` images) on the gallery and confirm, as a user
    would: the upload dialog, running, with its log focused (the widget the dialog's
    keys scroll; the dialog is modal, so the gallery beneath gets no keys)."""
    gallery = app.screen.query_one(Gallery)
    gallery.post_message(events.Paste(str(folder)))
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await settle(pilot)
    assert f"Upload {count} images" in shown_text(app.screen.query_one(".question"))
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
    screen = app.screen
    assert isinstance(screen, UploadScreen)
    log = screen.query_one(RichLog)
    assert app.focused is log
    return screen, log


async def upload_hidden(pilot: Pilot[Any], app: ImageRepoApp, folder: Path) -> UploadScreen:
    """Start uploading ``folder`` and hide its dialog with ``b``: the gallery focused,
    taking its own keys while new rows arrive in it and the status line follows."""
    gallery = app.screen.query_one(Gallery)
    app.browse.start_upload([folder], recursive=True)
    await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
    screen = app.screen
    assert isinstance(screen, UploadScreen)
    await pilot.press("b")
    await wait_for(pilot, lambda: app.focused is gallery)
    return screen
