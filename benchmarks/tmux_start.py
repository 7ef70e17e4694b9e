"""Start-up as a user sees it: the real command in a 120×40 tmux pane, timed from
launch to the first non-blank screen and to the first library rows on screen.

One private tmux server (its own socket, no user config) is driven through one
control-mode client (``tmux -C``): a launch is a ``new-window`` sent on that client,
and the screen is read with ``capture-pane -p`` on it each time the pane's output
changes (the client is told of every write as ``%output``; a read every 10 ms if
none came). No process is spawned per read, so watching costs the machine little
while the app starts. A moment counts at the read that first shows it, so each
figure is at most one read late.

Each launch runs as a fresh user (``isolated_env``: its own HOME, XDG folders and
remembered state) in the tmux server's environment, which has no
PYTHONDONTWRITEBYTECODE (``timing.user_environment``); the caller makes one untimed
launch first, which compiles the bytecode as a user's first start does.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.timing import user_environment

TMUX = shutil.which("tmux")
SIZE = (120, 40)
MINIMAL_APP = Path(__file__).with_name("minimal_app.py")
# A row of the gallery's list: name (title, else file name), pixels, size, uploaded.
LIBRARY_ROW = re.compile(r"│ .+ \d+×\d+ +[\d.,]+ [KMGT]?i?B +\d{4}-\d\d-\d\d \d\d:\d\d ")
READ_EVERY_S = 0.01


def isolated_env(home: Path) -> list[str]:
    """``env ...`` that runs a command as a fresh user at ``home``: nothing of the real
    user's config, data or remembered state, and the pane's own size."""
    return [
        "env",
        "-u",
        "COLUMNS",  # set by pytest plugins; Textual would believe them over the pane
        "-u",
        "LINES",
        f"HOME={home}",
        f"XDG_CONFIG_HOME={home / '.config'}",
        f"XDG_DATA_HOME={home / '.local' / 'share'}",
        f"XDG_CACHE_HOME={home / '.cache'}",
        f"XDG_STATE_HOME={home / '.local' / 'state'}",
        f"IMAGEREPO_STATE={home / 'state.json'}",
        "TERM=xterm-256color",
    ]


def non_blank(screen: str) -> bool:
    """Anything at all painted."""
    return bool(screen.strip())


def library_rows(screen: str) -> bool:
    """A row of the library in the gallery's list (not just a name in the details)."""
    return LIBRARY_ROW.search(screen) is not None


@dataclass
class Start:
    """Seconds from the launch to each moment seen (None: not seen in time)."""

    first_frame: float | None
    content: float | None
    screen: str  # the last screen read


class TmuxServer:
    """A private tmux server with one control-mode client; ``close`` ends both."""

    def __init__(self, size: tuple[int, int] = SIZE, **environment: str) -> None:
        if TMUX is None:
            raise RuntimeError("tmux is not installed")
        self.socket = f"imagerepo-bench-{uuid.uuid4().hex[:10]}"
        self.size = size
        base = [TMUX, "-L", self.socket, "-f", "/dev/null"]
        environment = user_environment(**environment)
        width, height = size
        # A placeholder session keeps the server up between launches; windows take
        # the size of the control client (refresh-client -C below).
        subprocess.run(
            [*base, "new-session", "-d", "-s", "bench", "-x", str(width), "-y", str(height),
             "sleep 86400", ";", "set-option", "-g", "remain-on-exit", "on"],
            check=True, env=environment, timeout=10,
        )  # fmt: skip
        self._client = subprocess.Popen(
            [*base, "-C", "attach-session", "-t", "bench"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment,
        )
        self._replies: queue.Queue[tuple[bool, list[str]]] = queue.Queue()
        self._output = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._replies.get(timeout=10)  # the reply to attach-session itself
        self.command("refresh-client", "-C", f"{width}x{height}")
        self._socket_path = Path(self.command("display-message", "-p", "#{socket_path}")[0])

    def _read(self) -> None:
        """Sort the client's lines: command replies (``%begin`` … ``%end``/``%error``)
        go to the queue, ``%output`` sets the event, other notices are dropped."""
        assert self._client.stdout is not None
        block: list[str] | None = None
        for raw in self._client.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if block is not None:
                if line.startswith(("%end ", "%error ")):
                    self._replies.put((line.startswith("%end"), block))
                    block = None
                else:
                    block.append(line)
            elif line.startswith("%begin "):
                block = []
            elif line.startswith("%output "):
                self._output.set()

    def command(self, *args: str, timeout: float = 10) -> list[str]:
        """Run one tmux command on the control client; its output lines."""
        assert self._client.stdin is not None
        self._client.stdin.write((" ".join(shlex.quote(a) for a in args) + "\n").encode())
        self._client.stdin.flush()
        ok, lines = self._replies.get(timeout=timeout)
        if not ok:
            raise RuntimeError(f"tmux {args[0]}: {' '.join(lines)}")
        return lines

    def time_start(
        self,
        command: list[str],
        content: Callable[[str], bool] = non_blank,
        timeout: float = 120,
    ) -> Start:
        """Launch ``command`` in a new window and watch it until ``content`` shows (or
        ``timeout``, or its exit); the window and its process are gone when this
        returns."""
        with tempfile.TemporaryDirectory(prefix="imagerepo-bench-home-") as home:
            launch = [*isolated_env(Path(home)), *command]
            self._output.clear()
            started = time.perf_counter()
            pane, pid = self.command(
                "new-window", "-d", "-P", "-F", "#{pane_id} #{pane_pid}", "-t", "bench:",
                shlex.join(launch),
            )[0].split()  # fmt: skip
            first: float | None = None
            shown: float | None = None
            screen = ""
            try:
                while time.perf_counter() - started < timeout:
                    self._output.wait(READ_EVERY_S)
                    self._output.clear()
                    read_at = time.perf_counter() - started
                    screen = "\n".join(self.command("capture-pane", "-p", "-t", pane))
                    if first is None and non_blank(screen):
                        first = read_at
                    if content(screen):
                        shown = read_at
                        break
                    if "Pane is dead" in screen:  # remain-on-exit: it ended, or failed
                        break
            finally:
                self.command("kill-pane", "-t", pane)
                _wait_gone(int(pid))
        return Start(first, shown, screen)

    def close(self) -> None:
        if self._client.stdin is not None:
            self._client.stdin.close()
        subprocess.run(
            [TMUX or "tmux", "-L", self.socket, "-f", "/dev/null", "kill-server"],
            capture_output=True,
            timeout=10,
        )
        self._client.wait(timeout=10)
        self._reader.join(timeout=5)
        self._socket_path.unlink(missing_ok=True)  # kill-server leaves it behind

    def __enter__(self) -> TmuxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _wait_gone(pid: int, timeout: float = 10) -> None:
    """Until the process has exited (tmux reaps it), so it loads no later launch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        stat = Path(f"/proc/{pid}/stat")
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except OSError:
            return
        time.sleep(0.005)


def minimal_command(python: str) -> list[str]:
    """The baseline: a minimal Textual app's own script."""
    return [python, str(MINIMAL_APP)]
