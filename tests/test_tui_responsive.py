"""The TUI answers keys while a large import runs, in the upload dialog and, with
the dialog hidden, in the gallery.

Uploads run in worker threads and report each file back to the event loop; a
regression there (a blocking call on the loop, a flood of per-file callbacks, a
lock held across a write) would leave keys waiting until the import is over. Here
2,000 tiny images are pasted as a folder and, while they upload, the upload dialog's
log is scrolled home and end again and again (or, with the dialog hidden, the
gallery's cursor moved up and down). What is asserted is behaviour:

- every key is acted on, each within 10 s: longer is a hang, not a slow machine;
- at least MIN_SAMPLES keys were acted on while the upload was still running, so
  the UI was not frozen until the end and then caught up;
- the import completes, all 2,000 created, and the gallery shows them.

How fast keys are acted on is not asserted here. It is measured by
``python -m benchmarks.bench_keys`` (section ``keys`` of ``python -m benchmarks``),
against the same keys with no import running in the same run: a millisecond bound
in a test fails whenever the machine is busy (on a loaded CI machine this test once
failed with a p95 of 115 ms against 100 ms), which says nothing about the code. The
latencies are still printed (``pytest -s``) for a look. The helpers that send the
keys and time them live in ``tests/tui_support.py``, shared with that benchmark.

The dialog is modal, so the gallery beneath gets no keys and Textual leaves the
app's own bindings (``?``, ``q``) out while it is up: home and end are the keys it
answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.tui.app import ImageRepoApp
from tests.tui_support import (
    Handled,
    keys_while,
    latency_summary,
    ready,
    run_app_test,
    tiny_images,
    upload_hidden,
    upload_in_dialog,
    wait_for,
)

COUNT = 2000
# Keys acted on while the upload was still running. A UI frozen until the import's
# end acts on none of them during it (the first key waits for the end). Small files
# are stored in groups, so 500 of them took well under a second on a quiet machine
# (2 keys fit); 2,000 leave room for about a hundred, and a slow machine makes the
# import longer, leaving more room still. 5 fails on a freeze, not on a fast machine.
MIN_SAMPLES = 5
DONE = {"created": COUNT, "duplicate": 0, "error": 0}


def test_keys_are_answered_during_a_2000_image_import(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    folder = tmp_path / "import"
    tiny_images(folder, COUNT)
    during: list[float] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        screen, log = await upload_in_dialog(pilot, app, folder, COUNT)
        handled = Handled(log, ("action_scroll_home", "action_scroll_end"))
        latencies, _sent = await keys_while(pilot, handled, ("home", "end"), lambda: screen.running)
        during.extend(latencies)

        assert screen.counts == DONE
        # The dialog counts each file as it lands; the gallery gets them in batches
        # (ImagesLanded, once a second), so the last batch may still be on its way.
        await wait_for(pilot, lambda: gallery.rows.total == COUNT)
        assert repo.count() == COUNT  # before the app closes the shared repository

    run_app_test(settings, body, repo)
    _assert_answered_during(during)


def test_browsing_is_answered_during_a_hidden_2000_image_import(
    settings: Settings, repo: ImageRepository, tmp_path: Path
):
    """The dialog hidden with ``b``: the gallery's own keys, while new rows arrive in
    it once a second and the status line follows the upload."""
    folder = tmp_path / "import"
    tiny_images(folder, COUNT)
    during: list[float] = []

    async def body(pilot: Pilot[Any], app: ImageRepoApp) -> None:
        gallery = await ready(pilot, 0)
        screen = await upload_hidden(pilot, app, folder)
        handled = Handled(gallery, ("action_vertical",))  # j and k
        latencies, _sent = await keys_while(pilot, handled, ("j", "k"), lambda: screen.running)
        during.extend(latencies)

        assert screen.counts == DONE
        await wait_for(pilot, lambda: gallery.rows.total == COUNT)
        assert repo.count() == COUNT

    run_app_test(settings, body, repo)
    _assert_answered_during(during)


def _assert_answered_during(latencies: list[float]) -> None:
    # Every key sent was acted on (key_latency fails the test on one that is not
    # within 10 s); what remains is that enough of them were acted on while the
    # upload still ran. Latencies are printed, not bounded: see the module docstring.
    summary = f"during the import, {latency_summary(latencies) if latencies else '0 keys'}"
    print(summary)
    assert len(latencies) >= MIN_SAMPLES, f"only {len(latencies)} keys acted on: {summary}"
