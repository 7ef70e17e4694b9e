"""End to end: the grid view of the real ``imagerepo-tui`` in a 120×40 tmux pane with
half-block graphics, read off the screen with capture-pane (see test_tui_tmux)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.tmux_start import isolated_env
from tests.sample_images import jpeg_bytes, write
from tests.test_tui_tmux import HALF_BLOCKS, TMUX, Tmux, tmux

__all__ = ["tmux"]  # the fixture

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (.ci/run installs it): end-to-end test skipped"
)

NAMES = [f"tile{n}.jpg" for n in range(8)]


def _names_on_one_line(screen: str) -> int:
    """The most tile names shown on one line of the screen."""
    return max(len(re.findall(r"tile\d\.jpg", line)) for line in screen.splitlines())


def _half_block_lines(screen: str) -> int:
    return sum(1 for line in screen.splitlines() if any(b * 6 in line for b in HALF_BLOCKS))


def test_grid_in_tmux(tmux: Tmux, embedded_data_dir: Path, tmp_path: Path):
    folder = tmp_path / "pictures"
    for n, name in enumerate(NAMES):
        write(folder / name, jpeg_bytes(160 + n, 120, seed=n))
    environment = [*isolated_env(tmp_path / "tmux-home"), "COLORTERM=truecolor"]
    upload = [sys.executable, "-m", "imagerepo_tui", "upload", "--data-dir"]
    subprocess.run(
        [*environment, *upload, str(embedded_data_dir), str(folder), "-r"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    app = [sys.executable, "-m", "imagerepo_tui", "--data-dir", str(embedded_data_dir)]
    tmux.start([*environment, *app, "--graphics", "halfcell"], cwd=tmp_path)
    tmux.wait(lambda s: "tile7.jpg" in s and "connected" in s, "the list", 30)

    tmux.keys("v")
    screen = tmux.wait(
        lambda s: _names_on_one_line(s) >= 3 and _half_block_lines(s) >= 8,
        "tiles side by side with half-block pictures",
    )
    assert "Traceback" not in screen
    assert "Name" not in screen.splitlines()[2]  # no list column titles over tiles

    # Move right and down, mark two tiles; the status line counts them.
    tmux.keys("Space", "l", "Space")
    screen = tmux.wait(lambda s: "2 marked" in s, "two marked tiles")
    assert screen.count("✓ tile") == 2
    columns = _names_on_one_line(screen)
    gallery_side = [line.split("││")[0] for line in screen.splitlines()]
    order = re.findall(r"tile\d\.jpg", "\n".join(gallery_side))  # as the tiles show
    tmux.keys("j")  # a row down from the fourth tile: the details pane follows
    below = order[3 + columns]
    tmux.wait(lambda s: re.search(rf"File\s+{below}", s), f"the details of {below}")
    tmux.keys("Escape")
    tmux.wait(lambda s: "marked" not in s and "✓" not in s, "marks cleared")

    tmux.keys("v")  # back to the list: one name a line, no pictures in the gallery
    tmux.wait(lambda s: _names_on_one_line(s) == 1 and "Name" in s, "the list again")

    tmux.keys("q")
    status = tmux.wait_for_exit()
    screen = tmux.screen()
    assert status == 0 and "Traceback" not in screen, f"exit status {status}:\n{screen}"
