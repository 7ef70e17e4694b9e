"""The real app in tmux leaves the terminal alone: the graphics probe does not retitle
the pane, hostile file names in the picker cannot, and what libtiff prints while a
damaged TIFF decodes is never drawn over the screen.

tmux takes an APC string (the Kitty graphics query is one) and OSC 0/2 as the pane's
title, which makes ``#{pane_title}`` a faithful witness of stray escape sequences.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.damaged_images import damaged_fax_tiff
from tests.sample_images import jpeg_bytes, write
from tests.test_tui_tmux import Tmux

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (.ci/run installs it): end-to-end test skipped",
)

TITLE = "before-app"
TITLE_SETTER = "esc\x1b]0;pwned\x07x.jpg"
PICKER_TITLE = "Upload images: space marks files"


@pytest.fixture
def tmux(embedded_data_dir: Path) -> Iterator[Tmux]:
    name = f"imagerepo-test-{uuid.uuid4().hex[:10]}"
    session = Tmux(socket=name, session=name)
    yield session
    session.kill()


def _command(data_dir: Path, home: Path, graphics: str) -> list[str]:
    """The app under a shell that first sets the pane's title to TITLE."""
    return [
        "sh",
        "-c",
        'printf "\\033]2;%s\\007" "$0"; exec "$@"',
        TITLE,
        "env",
        "-u",
        "COLUMNS",
        "-u",
        "LINES",
        f"HOME={home}",
        f"XDG_CONFIG_HOME={home / '.config'}",
        f"XDG_DATA_HOME={home / '.local' / 'share'}",
        f"XDG_STATE_HOME={home / '.local' / 'state'}",
        "TERM=xterm-256color",
        sys.executable,
        "-m",
        "imagerepo_tui",
        "--data-dir",
        str(data_dir),
        "--graphics",
        graphics,
    ]


def _title(tmux: Tmux) -> str:
    return tmux.pane("pane_title").rstrip("\n")


def _quit(tmux: Tmux) -> None:
    tmux.keys("q")
    status = tmux.wait_for_exit()
    screen = tmux.screen()
    assert status == 0 and "Traceback" not in screen, f"exit status {status}:\n{screen}"


def test_picker_and_decoders_leave_the_terminal_alone(
    tmux: Tmux, embedded_data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "evil"
    write(folder / TITLE_SETTER, jpeg_bytes(40, 30, seed=1))
    write(folder / "fax.tif", damaged_fax_tiff())
    tmux.start(_command(embedded_data_dir, tmp_path / "home", "halfcell"), cwd=folder)
    tmux.wait(lambda s: "No images yet" in s, "the empty library", 60)
    assert _title(tmux) == TITLE  # --graphics halfcell: no probe at all

    tmux.keys("u")
    tmux.wait(lambda s: "esc\\x1b]0;pwned\\x07x.jpg" in s, "the escaped name in the picker")
    tmux.keys("Down")  # the title setter, highlighted: its name in the preview too
    tmux.wait(lambda s: s.count("esc\\x1b]0;pwned\\x07x.jpg") == 2, "its preview")
    assert _title(tmux) == TITLE

    # libtiff prints several lines about this file; one is folded into its message.
    tmux.keys("Down")
    tmux.wait(lambda s: "damaged image data" in s, "the damaged TIFF's preview")
    tmux.keys("Space", "C-s")
    screen = tmux.wait(lambda s: "Done: 0 created, 0 duplicate, 1 refused" in s, "the upload")
    assert "refused    " in screen and "fax.tif: " in screen, screen  # cut at the width
    assert "at line 129 of strip" not in screen, screen  # libtiff's second line, never shown
    assert _title(tmux) == TITLE
    tmux.keys("Escape")
    screen = tmux.wait(lambda s: "Done: " not in s, "the dialog to close")
    assert "at line 129 of strip" not in screen, screen
    _quit(tmux)


def test_auto_graphics_probe_leaves_title_and_input_alone(
    tmux: Tmux, embedded_data_dir: Path, tmp_path: Path
) -> None:
    """Inside tmux the probe runs (and chooses half cells), then the title it set is
    restored and nothing it asked is answered into the app or the shell."""
    tmux.start(_command(embedded_data_dir, tmp_path / "home", "auto"), cwd=tmp_path)
    screen = tmux.wait(lambda s: "╭─ Images" in s, "the first frame", 60)
    assert _title(tmux) == TITLE
    assert "Gi=" not in screen
    _quit(tmux)
    assert _title(tmux) == TITLE
    assert "Gi=" not in tmux.screen()
