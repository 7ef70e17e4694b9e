"""The embedded database server as a user sees it: is it running, how other MongoDB
clients reach it, and stopping it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from imagerepo_tui.config import Settings
from imagerepo_tui.datadir import STORAGE_DIR, check_data_dir
from imagerepo_tui.errors import EmbeddedServerError
from imagerepo_tui.store import open_store
from imagerepo_tui.store.embedded import (
    ServerState,
    authenticated_uri,
    read_credential,
    running_server,
    stop_server,
)


@dataclass(frozen=True)
class ServerStatus:
    data_dir: Path
    running: ServerState | None
    storage_bytes: int


def _storage_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue
    return total


def status(settings: Settings) -> ServerStatus:
    """Never starts the server."""
    data_dir = settings.data_dir.absolute()
    check_data_dir(data_dir)
    return ServerStatus(data_dir, running_server(data_dir), _storage_bytes(data_dir / STORAGE_DIR))


def connection_string(settings: Settings) -> str:
    """A URI with the credential that any MongoDB client can use; starts the server if
    it is not running (it then stops after its idle time without clients)."""
    data_dir = settings.data_dir.absolute()
    store = open_store(settings)
    try:
        state, credential = running_server(data_dir), read_credential(data_dir)
    finally:
        store.close()
    if state is None or credential is None:
        raise EmbeddedServerError(f"the embedded database in {data_dir} stopped meanwhile")
    return authenticated_uri(state.uri, credential)


def stop(settings: Settings) -> bool:
    """Stop the server (clients still connected lose their connection); False if none
    was running."""
    data_dir = settings.data_dir.absolute()
    check_data_dir(data_dir)
    return stop_server(data_dir)
