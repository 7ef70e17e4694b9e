"""Find or start the embedded SecantusDB server that keeps a data directory.

One server per data directory, shared by every imagerepo-tui process that uses it.
It runs in its own process group under a small supervisor (``store/supervisor.py``)
that stops it once no client has been connected for a while. The files in the data
directory:

    db/             WiredTiger storage
    server.json     {"uri", "pid", "supervisor_pid"} of the running server
    server.lock     held (flock) by the live supervisor for its whole life
    start.lock      serialises starting, joining and idle shutdown
    server.log      the supervisor's and server's own log
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from imagerepo_tui.errors import EmbeddedServerError

STATE_FILE = "server.json"
SERVER_LOCK = "server.lock"
START_LOCK = "start.lock"
LOG_FILE = "server.log"
STORAGE_DIR = "db"
START_TIMEOUT_S = 60.0

T = TypeVar("T")


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory private to the user (0700), whatever the umask."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)


@contextlib.contextmanager
def file_lock(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """An flock on ``path``; yields False (without waiting) when ``blocking`` is off and
    another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_state(data_dir: Path) -> dict[str, object] | None:
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("uri"), str) else None


def write_state(data_dir: Path, state: dict[str, object]) -> None:
    """Atomic: a reader sees the old file, no file, or the whole new one."""
    tmp = data_dir / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, data_dir / STATE_FILE)


def remove_state(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (data_dir / STATE_FILE).unlink()


def supervisor_alive(data_dir: Path) -> bool:
    """True while some supervisor holds the server lock of ``data_dir``."""
    with file_lock(data_dir / SERVER_LOCK, blocking=False) as acquired:
        return not acquired


def _log_tail(data_dir: Path, lines: int = 5) -> str:
    try:
        text = (data_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return ""
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)


def _server_environment() -> dict[str, str]:
    """The environment for the long-lived server: without the app's own variables,
    which may hold a password (IMAGEREPO_PASSWORD) it has no use for."""
    return {name: value for name, value in os.environ.items() if not name.startswith("IMAGEREPO_")}


def _spawn_supervisor(data_dir: Path, idle_seconds: float) -> subprocess.Popen[bytes]:
    log = open(data_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imagerepo_tui.store.supervisor",
                "--data-dir",
                str(data_dir),
                "--idle-seconds",
                str(idle_seconds),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            # Its own session: closing the terminal that started it must not kill it
            # in the middle of a write.
            start_new_session=True,
            close_fds=True,
            env=_server_environment(),
        )
    finally:
        log.close()


def _wait_for_state(data_dir: Path, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        state = read_state(data_dir)
        if state is not None and state.get("supervisor_pid") == process.pid:
            return state
        if process.poll() is not None and not supervisor_alive(data_dir):
            detail = _log_tail(data_dir)
            raise EmbeddedServerError(
                f"the embedded database in {data_dir} failed to start"
                + (f": {detail}" if detail else f" (see {data_dir / LOG_FILE})")
            )
        time.sleep(0.02)
    raise EmbeddedServerError(
        f"the embedded database in {data_dir} did not start within {START_TIMEOUT_S:.0f} s "
        f"(see {data_dir / LOG_FILE})"
    )


def _wait_for_supervisor_exit(data_dir: Path, seconds: float) -> None:
    """A server that stopped answering while its supervisor lives is usually being
    cleaned up by it (the server died); give that a moment before starting anew."""
    deadline = time.monotonic() + seconds
    while supervisor_alive(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    if supervisor_alive(data_dir):
        raise EmbeddedServerError(
            f"the embedded database in {data_dir} is running but not answering; "
            f"see {data_dir / LOG_FILE}"
        )


def join_embedded_server(data_dir: Path, idle_seconds: float, connect: Callable[[str], T]) -> T:
    """Connect to the data directory's server, starting it if none runs.

    ``connect(uri)`` must open a client and prove it works (ping), raising on failure.
    It runs under the start lock so the supervisor cannot decide the server is idle
    between our finding it and our first connection.
    """
    # The supervisor runs the server from inside the data directory: a relative path
    # (--data-dir ./photos) would point somewhere else from there.
    data_dir = data_dir.absolute()
    prepare_data_dir(data_dir)
    with file_lock(data_dir / START_LOCK):
        state = read_state(data_dir)
        if state is not None:
            try:
                return connect(str(state["uri"]))
            except Exception:  # a dead server: any failure means "start a new one"
                remove_state(data_dir)
                _wait_for_supervisor_exit(data_dir, seconds=10.0)
        elif supervisor_alive(data_dir):
            _wait_for_supervisor_exit(data_dir, seconds=10.0)
        process = _spawn_supervisor(data_dir, idle_seconds)
        state = _wait_for_state(data_dir, process)
        return connect(str(state["uri"]))
