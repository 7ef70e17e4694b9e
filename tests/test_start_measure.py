"""The start-up benchmark's tmux measure (benchmarks/tmux_start.py) sees what a user
sees: a launch's first screen, and the gallery's rows only once they are listed."""

from __future__ import annotations

import sys

import pytest

from benchmarks.tmux_start import TMUX, TmuxServer, library_rows, minimal_command

ROW = "│ IMG_000200.jpg       1920×1080     644 B 2026-11-20 17:01 cat, pro…  ││"
HEADER = "│ Name                     Pixels      Size Uploaded         Tags      ││"
DETAILS = "││ File              IMG_000200.jpg             │"


def test_rows_are_told_from_the_rest_of_the_screen() -> None:
    assert library_rows(f"{HEADER}\n{ROW}\n")
    assert library_rows(ROW.replace("644 B", "12.5 MB").replace("IMG_000200.jpg", "sunset"))
    # The header, a name in the details pane, an empty gallery: no rows yet.
    assert not library_rows(f"{HEADER}\n{DETAILS}\n")
    assert not library_rows("No images yet\n")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_a_launch_is_timed_to_its_first_screen() -> None:
    with TmuxServer() as tmux:
        start = tmux.time_start(minimal_command(sys.executable), lambda s: "hello" in s, 60)
        assert start.first_frame is not None and start.content is not None
        assert start.first_frame <= start.content
        assert "hello" in start.screen
        assert tmux.command("list-windows", "-F", "#{window_index}") == ["0"]  # it is gone
