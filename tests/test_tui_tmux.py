"""End to end: the real ``imagerepo-tui`` in a tmux pane, driven with send-keys and
read off the screen with capture-pane, on its own embedded database.

Nothing here reaches into the app: keys go in the way a user types them, and every
check is on the text tmux shows. Waiting is polling with a deadline, never a fixed
sleep. The tmux server is a private one (its own socket, no user config) and is
killed afterwards; the embedded server and its supervisor are stopped by the
``embedded_data_dir`` fixture.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.tmux_start import isolated_env, library_rows
from tests.sample_images import jpeg_bytes, write
from tests.support import pid_alive

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (.ci/run installs it): end-to-end test skipped"
)

WIDTH, HEIGHT = 120, 40
HALF_BLOCKS = ("▀", "▄")


class Tmux:
    """One private tmux server with one session running the app."""

    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session
        self.server_pid: int | None = None
        self.app_pid: int | None = None
        self.socket_path: Path | None = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=check,
        )

    def start(self, command: list[str], cwd: Path) -> None:
        self.run(
            "new-session", "-d", "-s", self.session, "-x", str(WIDTH), "-y", str(HEIGHT),
            "-c", str(cwd), shlex.join(command),
            ";", "set-option", "-t", self.session, "remain-on-exit", "on",
        )  # fmt: skip
        self.server_pid = int(self.run("display-message", "-p", "#{pid}").stdout)
        self.socket_path = Path(self.run("display-message", "-p", "#{socket_path}").stdout.strip())
        self.app_pid = int(self.pane("pane_pid"))  # env execs the app: this is its pid

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session).stdout

    def pane(self, field: str) -> str:
        return self.run("display-message", "-p", "-t", self.session, f"#{{{field}}}").stdout

    def wait(self, condition: Callable[[str], object], what: str, timeout: float = 10) -> str:
        """Poll the screen until ``condition(screen)``; fail showing the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{screen}")
            time.sleep(0.05)

    def wait_for_exit(self, timeout: float = 10) -> int:
        """The app's exit status, once it has exited.

        tmux 3.3a does not always reap a pane's process (nor mark the pane dead)
        when it exits, so this reads the status off the zombie in /proc when it can,
        and off tmux's "Pane is dead (status N, …)" line once tmux has reaped it.
        """
        assert self.app_pid is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                stat = Path(f"/proc/{self.app_pid}/stat").read_text()
            except OSError:  # reaped by tmux: it says how the process ended
                line = self.wait(lambda s: "Pane is dead" in s, "tmux's exit line", 5)
                found = re.search(r"Pane is dead \(status (\d+)", line)
                return int(found.group(1)) if found else -1
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] == "Z":  # field 52 of proc(5): the waitpid(2) status
                code = int(fields[49])
                return code >> 8 if code & 0x7F == 0 else -(code & 0x7F)
            time.sleep(0.05)
        raise AssertionError(f"the app did not quit:\n{self.screen()}")

    def kill(self) -> None:
        self.run("kill-server", check=False)
        if self.server_pid is not None:
            deadline = time.monotonic() + 10
            while pid_alive(self.server_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def tmux(embedded_data_dir: Path) -> Iterator[Tmux]:
    """Depends on ``embedded_data_dir`` so tmux (and the app) go first, then the
    embedded server the app started is stopped."""
    name = f"imagerepo-test-{uuid.uuid4().hex[:10]}"
    session = Tmux(socket=name, session=name)
    yield session
    session.kill()


def _panes(screen: str) -> tuple[list[str], list[str]]:
    """(gallery, preview) text of the main screen, split at the preview's border."""
    lines = screen.splitlines()
    top = next(i for i, line in enumerate(lines) if "╭─ Preview" in line)
    bottom = next(i for i, line in enumerate(lines) if "╭─ Details" in line)
    column = lines[top].index("╭─ Preview")
    gallery = [line[:column] for line in lines[top:]]
    preview = [line[column + 1 : -1] for line in lines[top + 1 : bottom - 1]]
    return gallery, preview


def _gallery(screen: str) -> str:
    try:
        return "\n".join(_panes(screen)[0])
    except StopIteration:
        return ""  # not the main screen


def _rows(screen: str) -> list[str]:
    """The image names the gallery lists."""
    return re.findall(r"shot\d\.jpg", _gallery(screen))


def _preview_has_half_blocks(screen: str) -> bool:
    try:
        preview = _panes(screen)[1]
    except StopIteration:
        return False
    return any(block in line for line in preview for block in HALF_BLOCKS)


def test_tmux_end_to_end(tmux: Tmux, embedded_data_dir: Path, tmp_path: Path):
    start = tmp_path / "start"
    (start / "empty folder").mkdir(parents=True)
    names = [f"shot{n}.jpg" for n in range(3)]
    for n, name in enumerate(names):
        write(start / "pictures" / name, jpeg_bytes(160 + n, 120, seed=n))
    command = [
        *isolated_env(tmp_path / "tmux-home"),
        "COLORTERM=truecolor",
        sys.executable,
        "-m",
        "imagerepo_tui",
        "--data-dir",
        str(embedded_data_dir),
        "--graphics",
        "halfcell",
    ]
    tmux.start(command, cwd=start)
    tmux.wait(lambda s: "No images yet" in s, "the empty library", 30)

    # The picker opens in the working directory: down to "pictures", open it, mark all.
    tmux.keys("u")
    tmux.wait(lambda s: "pictures" in s and "empty folder" in s, "the file picker")
    tmux.keys("Down", "Down", "Enter")
    tmux.wait(lambda s: all(name in s for name in names), "the folder's images")
    tmux.keys("Down", "Space", "Space", "Space")
    tmux.wait(lambda s: "Upload 3 files" in s and s.count("✓") == 3, "three marked files")
    tmux.keys("C-s")
    tmux.wait(lambda s: "Done: 3 created, 0 duplicate, 0 refused" in s, "the upload")
    tmux.keys("Escape")

    screen = tmux.wait(lambda s: sorted(_rows(s)) == names, "the uploads in the gallery")
    assert library_rows(screen)  # what the start-up benchmark waits for
    tmux.wait(_preview_has_half_blocks, "a half-block preview")
    assert "Traceback" not in screen

    tmux.keys("d")
    question = tmux.wait(lambda s: "to the trash?" in s, "the delete confirmation")
    found = re.search(r"Move (\S+) \(([0-9a-f]{24})\) to the trash\?", question)
    assert found, question
    deleted = found.group(1)
    assert deleted in names
    tmux.keys("y")
    tmux.wait(
        lambda s: sorted(_rows(s)) == [name for name in names if name != deleted],
        f"{deleted} gone from the gallery",
    )

    tmux.keys("q")
    status = tmux.wait_for_exit()
    screen = tmux.screen()
    assert status == 0 and "Traceback" not in screen, f"exit status {status}:\n{screen}"
