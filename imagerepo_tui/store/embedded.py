"""Find or start the embedded SecantusDB server that keeps a data directory.

One server per data directory, shared by every imagerepo-tui process that uses it.
It runs in its own process group under a small supervisor (``store/supervisor.py``)
that stops it once no client has been connected for a while. It always requires
authentication: the port on 127.0.0.1 is reachable by every account on the machine,
the credential file only by its owner. The files in the data directory:

    db/               WiredTiger storage
    credential.json   {"user", "password", "provisioned"}: the one database account (0600)
    server.json       {"uri", "pid", "supervisor_pid", "auth"} of the running server
    server.lock       held (flock) by the live supervisor for its whole life
    start.lock        serialises starting, joining and idle shutdown
    server.log        the supervisor's and server's own log
    secantusd.toml    an empty server config, so no config from elsewhere applies
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from imagerepo_tui.datadir import (
    CREDENTIAL_FILE,
    LOG_FILE,
    SERVER_LOCK,
    START_LOCK,
    STATE_FILE,
    check_data_dir,
)
from imagerepo_tui.errors import EmbeddedServerError

START_TIMEOUT_S = 60.0
# A supervisor on its way out (idle stop, a server that died, an older version being
# replaced) may take the server's whole stop timeout and a kill.
SUPERVISOR_EXIT_TIMEOUT_S = 30.0
DATABASE_USER = "imagerepo"

T = TypeVar("T")


@dataclass(frozen=True)
class Credential:
    """The embedded server's one account; ``provisioned`` once the server knows it."""

    user: str
    password: str
    provisioned: bool = False


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory private to the user (0700), whatever the umask, once
    ``check_data_dir`` has found it is ours."""
    check_data_dir(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)


def _write_private_json(path: Path, content: dict[str, object]) -> None:
    """Atomic, and never readable by others, even for an instant."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_credential(data_dir: Path) -> Credential | None:
    try:
        content = json.loads((data_dir / CREDENTIAL_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict):
        return None
    user, password = content.get("user"), content.get("password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
        return None
    return Credential(user, password, content.get("provisioned") is True)


def write_credential(data_dir: Path, credential: Credential) -> None:
    _write_private_json(
        data_dir / CREDENTIAL_FILE,
        {
            "user": credential.user,
            "password": credential.password,
            "provisioned": credential.provisioned,
        },
    )


def ensure_credential(data_dir: Path) -> Credential:
    """The library's credential, made (random, 256 bits) if it has none yet. Called
    under the start lock with no supervisor running, so no server holds another."""
    credential = read_credential(data_dir)
    if credential is None:
        credential = Credential(DATABASE_USER, secrets.token_urlsafe(32))
        write_credential(data_dir, credential)
    return credential


def authenticated_uri(uri: str, credential: Credential, database: str = "") -> str:
    """``uri`` of the running server with the credential in it, for other MongoDB
    clients (mongosh, Compass, pymongo)."""
    host = uri.split("://", 1)[1].strip("/")
    user, password = quote(credential.user, safe=""), quote(credential.password, safe="")
    return (
        f"mongodb://{user}:{password}@{host}/{quote(database, safe='')}"
        "?authSource=admin&directConnection=true"
    )


def client_uri(data_dir: Path, database: str = "") -> str | None:
    """The authenticated URI of the data directory's running server, if one runs."""
    state, credential = read_state(data_dir), read_credential(data_dir)
    if state is None or credential is None:
        return None
    return authenticated_uri(str(state["uri"]), credential, database)


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
    _write_private_json(data_dir / STATE_FILE, state)


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


def _wait_for_supervisor_exit(data_dir: Path, deadline: float) -> None:
    """Wait, without the start lock (a stopping supervisor takes it to stop its
    server), until the data directory's supervisor has gone."""
    while supervisor_alive(data_dir):
        if time.monotonic() > deadline:
            raise EmbeddedServerError(
                f"the embedded database in {data_dir} is running but not answering; "
                f"see {data_dir / LOG_FILE}"
            )
        time.sleep(0.05)


def _stop_supervisor(state: dict[str, object]) -> None:
    pid = state.get("supervisor_pid")
    if isinstance(pid, int) and pid > 0:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)


def _is_auth_failure(error: Exception) -> bool:
    return getattr(error, "code", None) in (13, 18)


def join_embedded_server(
    data_dir: Path, idle_seconds: float, connect: Callable[[str, Credential], T]
) -> T:
    """Connect to the data directory's server, starting it if none runs.

    ``connect(uri, credential)`` must open an authenticated client and prove it works
    (ping), raising on failure. It runs under the start lock so the supervisor cannot
    decide the server is idle between our finding it and our first connection.
    A server that does not ask for the credential (started by an older version) is
    stopped and started again with authentication.
    """
    # The supervisor runs the server from inside the data directory: a relative path
    # (--data-dir ./photos) would point somewhere else from there.
    data_dir = data_dir.absolute()
    prepare_data_dir(data_dir)
    deadline = time.monotonic() + SUPERVISOR_EXIT_TIMEOUT_S
    while True:
        with file_lock(data_dir / START_LOCK):
            state = read_state(data_dir)
            credential = read_credential(data_dir)
            if state is not None and state.get("auth") is True and credential is not None:
                try:
                    return connect(str(state["uri"]), credential)
                except Exception as error:  # a dead server, or one that lost our account
                    remove_state(data_dir)
                    if _is_auth_failure(error):
                        _stop_supervisor(state)
            elif not supervisor_alive(data_dir):
                remove_state(data_dir)
                credential = ensure_credential(data_dir)
                process = _spawn_supervisor(data_dir, idle_seconds)
                state = _wait_for_state(data_dir, process)
                return connect(str(state["uri"]), credential)
            elif state is not None:
                # An older version's server, open to every local account: replace it.
                remove_state(data_dir)
                _stop_supervisor(state)
        _wait_for_supervisor_exit(data_dir, deadline)


@dataclass(frozen=True)
class ServerState:
    """What ``server.json`` says of the running server, checked field by field."""

    uri: str
    pid: int
    supervisor_pid: int
    authenticated: bool
    idle_seconds: float | None
    started: float


def running_server(data_dir: Path) -> ServerState | None:
    """The data directory's live server, or None when none runs (or one is stopping)."""
    data_dir = data_dir.absolute()
    if not (data_dir / SERVER_LOCK).exists() or not supervisor_alive(data_dir):
        return None
    state = read_state(data_dir)
    if state is None:
        return None
    pid, supervisor_pid, idle = state.get("pid"), state.get("supervisor_pid"), state.get("idle")
    if not isinstance(pid, int) or not isinstance(supervisor_pid, int):
        return None
    try:
        started = (data_dir / STATE_FILE).stat().st_mtime
    except OSError:
        return None
    return ServerState(
        uri=str(state["uri"]),
        pid=pid,
        supervisor_pid=supervisor_pid,
        authenticated=state.get("auth") is True,
        idle_seconds=float(idle) if isinstance(idle, int | float) else None,
        started=started,
    )


def stop_server(data_dir: Path) -> bool:
    """Stop the data directory's server as its idle stop would; False if none ran."""
    data_dir = data_dir.absolute()
    if not (data_dir / SERVER_LOCK).exists() or not supervisor_alive(data_dir):
        return False
    state = read_state(data_dir)
    if state is not None:
        _stop_supervisor(state)
    deadline = time.monotonic() + SUPERVISOR_EXIT_TIMEOUT_S
    _wait_for_supervisor_exit(data_dir, deadline)
    # The lock goes a moment before the processes do: "stopped" means gone.
    pids = [(state or {}).get(key) for key in ("pid", "supervisor_pid")]
    # isinstance for the type checker, type() to keep bools (an int subclass) out.
    alive = [pid for pid in pids if isinstance(pid, int) and type(pid) is int and pid > 0]
    while not all(_gone_or_reaped(pid) for pid in alive) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def _gone_or_reaped(pid: int) -> bool:
    """True once ``pid`` has exited. The process that started the supervisor is its
    parent and must reap it: until then it is a zombie, which ``kill(pid, 0)`` finds."""
    with contextlib.suppress(ChildProcessError):  # not our child: its parent reaps it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """A process with that id exists (perhaps another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
