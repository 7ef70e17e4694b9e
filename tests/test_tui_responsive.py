"""The TUI answers keys while a large import runs, in the upload dialog and, with
the dialog hidden, in the gallery.

Uploads run in worker threads and report each file back to the event loop; a
regression there (a blocking call on the loop, a flood of per-file callbacks, a
lock held across a write) would show up as keys that take seconds to act. Here 500
tiny images are pasted as a folder and, while they upload, the upload dialog's log is
scrolled home and end again and again; each key must be handled within 100 ms.

Those are the keys the dialog answers: it is modal, so the gallery beneath gets no
keys and Textual leaves the app's own bindings (``?``, ``q``) out while it is up.

A key is sent as the terminal driver sends one (a ``Key`` event posted to the app)
rather than with ``pilot.press``, which after each key waits for the process to go
CPU-idle, up to a second twice over while the upload threads keep it busy: that
would time Pilot, not the app. Latency is from posting the key to its action running.

Measured on the 2-core machine: median ~1.5 ms, p95 ~12 ms, worst 100-150 ms. The
worst key used to take 200-300 ms: each file changed the gallery under the modal,
re-blending the whole dimmed screen; new images now reach the gallery once a second.
Median and p95 are checked; a single key in a few hundred can still wait on the
scheduler of this shared machine, so the worst is reported, not asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import RichLog

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from imagerepo_tui.tui.screens.modals import ConfirmScreen
from imagerepo_tui.tui.screens.upload import UploadScreen
from tests.sample_images import jpeg_bytes, write
from tests.tui_support import ready, run_app_test, settle, shown_text, wait_for

COUNT = 500
LIMIT = 0.100  # seconds from the key press to the app showing its effect
MIN_SAMPLES = 20  # keys pressed while the upload was still running


def _tiny_images(folder: Path, count: int) -> None:
    """``count`` distinct little JPEGs. ``picture`` repeats its pattern every 256
    seeds, so the width changes with each block of 256 to keep every file unique."""
    for n in range(count):
        write(folder / f"img{n:03}.jpg", jpeg_bytes(12 + n // 256, 8, seed=n))


class _Handled:
    """Records when a widget's actions run: the key has been acted on."""

    def __init__(self, widget: Widget, actions: tuple[str, ...]) -> None:
        self.times: list[float] = []
        for name in actions:
            setattr(widget, name, self._spy(getattr(widget, name)))

    def _spy(self, action: Callable[..., None]) -> Callable[..., None]:
        def spy(*args: Any) -> None:
            self.times.append(time.perf_counter())
            action(*args)

        return spy


async def _key_latency(pilot: Pilot[Any], handled: _Handled, key: str) -> float:
    """Seconds from pressing ``key`` until its action has run."""
    before = len(handled.times)
    started = time.perf_counter()
    pilot.app.post_message(events.Key(key, None))
    while len(handled.times) == before:
        if time.perf_counter() - started > 10:
            raise AssertionError(f"{key!r} had no effect within 10 s")
        await asyncio.sleep(0.001)  # not pilot.pause: that would repaint from here
    return handled.times[before] - started


def test_keys_stay_fast_during_a_500_image_import(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    folder = tmp_path / "import"
    _tiny_images(folder, COUNT)
    latencies: list[float] = []
    during: list[bool] = []  # whether the upload was still running when each key ended

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        gallery.post_message(events.Paste(str(folder)))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        assert f"Upload {COUNT} images" in shown_text(app.screen.query_one(".question"))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        screen = app.screen
        assert isinstance(screen, UploadScreen)

        log = screen.query_one(RichLog)
        assert app.focused is log
        handled = _Handled(log, ("action_scroll_home", "action_scroll_end"))
        keys = ("home", "end")
        while screen.running:
            latencies.append(await _key_latency(pilot, handled, keys[len(latencies) % 2]))
            during.append(screen.running)
            await pilot.pause(0.02)  # a person's pace, and room for the upload to go on

        assert screen.counts == {"created": COUNT, "duplicate": 0, "error": 0}
        assert gallery.rows.total == COUNT
        assert repo.count() == COUNT  # before the app closes the shared repository

    run_app_test(settings, body, repo)
    _assert_fast(latencies, during)


def test_browsing_stays_fast_during_a_hidden_500_image_import(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    """The dialog hidden with ``b``: the gallery's own keys, while new rows arrive in
    it once a second and the status line follows the upload."""
    folder = tmp_path / "import"
    _tiny_images(folder, COUNT)
    latencies: list[float] = []
    during: list[bool] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        app.browse.start_upload([folder], recursive=True)
        await wait_for(pilot, lambda: isinstance(app.screen, UploadScreen))
        screen = app.screen
        assert isinstance(screen, UploadScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: app.focused is gallery)

        handled = _Handled(gallery, ("action_cursor",))
        keys = ("j", "k")
        while screen.running:
            latencies.append(await _key_latency(pilot, handled, keys[len(latencies) % 2]))
            during.append(screen.running)
            await pilot.pause(0.02)

        assert screen.counts == {"created": COUNT, "duplicate": 0, "error": 0}
        await wait_for(pilot, lambda: gallery.rows.total == COUNT)
        assert repo.count() == COUNT

    run_app_test(settings, body, repo)
    _assert_fast(latencies, during)


def _assert_fast(latencies: list[float], during: list[bool]) -> None:
    measured = [t for t, running in zip(latencies, during, strict=True) if running]
    assert len(measured) >= MIN_SAMPLES, f"the upload ended after {len(measured)} keys"
    ordered = sorted(measured)
    median, worst = statistics.median(ordered), ordered[-1]
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    summary = (
        f"{len(measured)} keys during the import: median {median * 1000:.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms, worst {worst * 1000:.1f} ms"
    )
    print(summary)
    # p95, not the single worst key: on this shared 2-core machine the upload's
    # workers and the database server compete with the UI thread for the GIL and the
    # cores, and one key in a few hundred can wait a scheduling slice longer.
    assert median <= LIMIT and p95 <= LIMIT, summary
