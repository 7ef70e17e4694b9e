"""Run the embedded SecantusDB server for one data directory; stop it when idle.

Started by ``store/embedded.py`` in its own session. SecantusDB (GPL-2.0-only) runs
as its own program, ``secantusd-py``, which this module never imports: the app only
speaks to it over the MongoDB wire protocol, like to any mongod.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from imagerepo_tui.datadir import CONFIG_FILE, SERVER_LOCK, START_LOCK, STORAGE_DIR
from imagerepo_tui.store.embedded import (
    Credential,
    file_lock,
    read_credential,
    remove_state,
    write_credential,
    write_state,
)

POLL_SECONDS = 1.0
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
CACHE_SIZE = "512M"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if this supervisor dies, so a killed supervisor
    never leaves an orphan server holding the storage lock forever."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _server_command(data_dir: Path, port: int, extra: list[str]) -> list[str]:
    config = data_dir / CONFIG_FILE
    # An explicit (empty) config file turns off secantusd's auto-discovery of
    # ./secantusd.toml and ~/.secantus/, so nothing outside the data dir changes it.
    config.touch(mode=0o600, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "secantus",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(data_dir / STORAGE_DIR),
        "--standalone",
        "--cache-size",
        CACHE_SIZE,
        # Without it SecantusDB acknowledges j:true before its log reaches the disk:
        # safe from a crash of the server, not from a power cut or a kernel panic.
        # Measured: 20 uploads of 12 MP took 1.81 s with it, 1.84 s without (60: at
        # most ~15% more on a noisy machine); a one-image edit costs a few ms more.
        "--sync-on-commit",
        "--log-level",
        "WARNING",
        *extra,
    ]


class AccountRejected(Exception):
    """The server does not know the library's credential (yet)."""


class Supervisor:
    def __init__(self, data_dir: Path, idle_seconds: float) -> None:
        self.data_dir = data_dir
        self.idle_seconds = idle_seconds
        self.server: subprocess.Popen[bytes] | None = None
        self.client: MongoClient[dict[str, Any]] | None = None
        self.stopping = False
        self.published = False

    def start_server(self) -> str:
        """Start the server with authentication on; give it the library's account first
        if it has none (a new library, or one made before authentication)."""
        credential = read_credential(self.data_dir)
        if credential is None:
            raise SystemExit("the library has no credential file; the client makes it first")
        if not credential.provisioned:
            credential = self.provision(credential)
        try:
            return self.start_authenticated(credential)
        except AccountRejected:
            self.stop_server()
        return self.start_authenticated(self.provision(credential))

    def provision(self, credential: Credential) -> Credential:
        from imagerepo_tui.store.provisioning import provision  # once per library

        dropped = provision(
            self.data_dir,
            credential,
            _free_port(),
            lambda port, extra: _server_command(self.data_dir, port, extra),
            self.spawn,
        )
        if dropped:
            print(f"removed database accounts nobody here made: {', '.join(dropped)}", flush=True)
        credential = Credential(credential.user, credential.password, provisioned=True)
        write_credential(self.data_dir, credential)
        return credential

    def spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, cwd=self.data_dir, preexec_fn=_die_with_parent
        )

    def start_authenticated(self, credential: Credential) -> str:
        port = _free_port()
        self.server = self.spawn(_server_command(self.data_dir, port, ["--auth"]))
        uri = f"mongodb://127.0.0.1:{port}/"
        self.client = MongoClient(
            uri,
            username=credential.user,
            password=credential.password,
            authSource="admin",
            directConnection=True,
            maxPoolSize=1,
            serverSelectionTimeoutMS=500,
            serverMonitoringMode="poll",
            appname="imagerepo-tui-supervisor",
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"secantusd exited with status {self.server.returncode}")
            try:
                self.client.admin.command("ping")
                return uri
            except OperationFailure as error:
                if error.code in (13, 18):
                    raise AccountRejected from None
            except PyMongoError:
                time.sleep(0.02)
        raise SystemExit("secantusd did not answer a ping in time")

    def connection_count(self) -> int | None:
        assert self.client is not None
        try:
            status = self.client.admin.command("serverStatus")
        except PyMongoError:
            return None
        return int(status.get("connections", {}).get("current", 0))

    def serve(self, uri: str) -> None:
        assert self.server is not None
        own_connections = self.connection_count() or 0
        write_state(
            self.data_dir,
            {
                "uri": uri,
                "pid": self.server.pid,
                "supervisor_pid": os.getpid(),
                "auth": True,
                "idle": self.idle_seconds,
            },
        )
        self.published = True
        idle_since: float | None = None
        while not self.stopping and self.server.poll() is None:
            time.sleep(POLL_SECONDS)
            count = self.connection_count()
            if count is None or count > own_connections:
                idle_since = None
                continue
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= self.idle_seconds and self.stop_if_still_idle(
                own_connections
            ):
                return

    def stop_if_still_idle(self, own_connections: int) -> bool:
        # Clients join under the start lock, so once we hold it nobody is half-way in.
        with file_lock(self.data_dir / START_LOCK):
            count = self.connection_count()
            if count is not None and count > own_connections:
                return False
            self.stop_server()
            return True

    def stop_server(self) -> None:
        remove_state(self.data_dir)
        if self.client is not None:
            self.client.close()
        if self.server is None or self.server.poll() is not None:
            return
        self.server.terminate()
        try:
            self.server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir
    with file_lock(data_dir / SERVER_LOCK, blocking=False) as acquired:
        if not acquired:
            return 0  # another supervisor already keeps this directory
        supervisor = Supervisor(data_dir, args.idle_seconds)
        signal.signal(signal.SIGTERM, supervisor.on_signal)
        signal.signal(signal.SIGINT, supervisor.on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            supervisor.serve(supervisor.start_server())
        finally:
            if supervisor.published:
                with file_lock(data_dir / START_LOCK):
                    supervisor.stop_server()
            else:
                # The starting client holds the start lock while it waits for us.
                supervisor.stop_server()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
