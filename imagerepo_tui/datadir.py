"""What a data directory of the embedded database holds, and which folders may become one.

Standard library only: the CLI checks ``--data-dir`` before anything heavy loads.
"""

from __future__ import annotations

import os
from pathlib import Path

from imagerepo_tui.errors import DataDirError
from imagerepo_tui.textsafe import visible

STORAGE_DIR = "db"
CREDENTIAL_FILE = "credential.json"
STATE_FILE = "server.json"
SERVER_LOCK = "server.lock"
START_LOCK = "start.lock"
LOG_FILE = "server.log"
CONFIG_FILE = "secantusd.toml"
# Scratch space of a supervisor giving the server its account (store/provisioning.py).
PROVISIONING_PREFIX = ".provisioning-"
LIBRARY_ENTRIES = frozenset(
    {STORAGE_DIR, CREDENTIAL_FILE, STATE_FILE, SERVER_LOCK, START_LOCK, LOG_FILE, CONFIG_FILE}
)


def _is_library_entry(name: str) -> bool:
    # Temporary files of atomic writes and provisioning are ours too.
    return name in LIBRARY_ENTRIES or name.startswith(
        (".server.json.", ".credential.json.", PROVISIONING_PREFIX)
    )


def check_data_dir(data_dir: Path) -> None:
    """Refuse a folder that is not ours to use, changing nothing in it.

    A data directory is a new folder, an empty one, or one holding only what this
    program keeps there. Anything else (a home folder, /tmp, someone's documents) is
    refused: the program would otherwise make it private and start a database in it.
    """
    shown_dir = visible(str(data_dir))
    refused = f"cannot use {shown_dir} as the data directory"
    try:
        status = data_dir.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise DataDirError(f"{refused}: {error.strerror}") from None
    if not data_dir.is_dir():
        raise DataDirError(f"{refused}: it is not a folder")
    if status.st_uid != os.geteuid():
        raise DataDirError(f"{refused}: it belongs to another user")
    try:
        foreign = sorted(name for name in os.listdir(data_dir) if not _is_library_entry(name))
    except OSError as error:
        raise DataDirError(f"{refused}: {error.strerror}") from None
    if foreign:
        shown = ", ".join(f"'{visible(name)}'" for name in foreign[:3])
        shown += ", …" if len(foreign) > 3 else ""
        raise DataDirError(
            f"{shown_dir} is not an imagerepo-tui library and is not empty (it holds {shown}); "
            "choose a new or empty folder for --data-dir"
        )
