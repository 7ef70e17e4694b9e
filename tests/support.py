"""Helpers shared by the CLI, failure and embedded-server tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from imagerepo_tui.cli import main

# Every process the app starts for a data directory names it on its command line;
# that is how a finaliser finds (only) the processes a test caused.
SERVER_STATE = "server.json"


def run_main(argv: Sequence[str]) -> int:
    """``cli.main`` in-process; argparse's SystemExit becomes the exit status."""
    try:
        return main(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, stdin: Any = None
) -> subprocess.CompletedProcess[str]:
    """``python -m imagerepo_tui ARGS`` as a separate process, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "imagerepo_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL if stdin is None else stdin,
    )


def cli_popen(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "imagerepo_tui", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def upload_lines(stdout: str) -> dict[str, str]:
    """``{path: id}`` from the ``<id>  <path>`` lines of ``upload``."""
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        image_id, sep, rest = line.partition("  ")
        if sep and len(image_id) == 24:
            found[rest.removesuffix("  (duplicate)")] = image_id
    return found


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


def assert_no_orphans(db: Any) -> None:
    """Every GridFS file belongs to an image, every image has its file, and no
    claim is left behind."""
    image_files = {doc["file_id"] for doc in db["images"].find({}, {"file_id": 1})}
    stored = {doc["_id"] for doc in db["fs.files"].find({}, {"_id": 1})}
    chunk_owners = set(db["fs.chunks"].distinct("files_id"))
    assert stored == image_files, f"fs.files {stored} != images' files {image_files}"
    assert chunk_owners <= image_files, f"orphan chunks of {chunk_owners - image_files}"
    assert db["gridfs_claims"].count_documents({}) == 0


# -- embedded servers ------------------------------------------------------------------


def server_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / SERVER_STATE).read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True for a running process (a zombie awaiting its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pids_using(data_dir: Path) -> list[int]:
    """Live processes whose command line names ``data_dir`` (supervisor, server)."""
    needle = str(data_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def stop_embedded(data_dir: Path) -> None:
    """Stop what the app started for ``data_dir``: the supervisor politely, then
    anything still naming the directory by force. Waits until all are gone."""
    state = server_state(data_dir)
    if state is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["supervisor_pid"]), signal.SIGTERM)
    deadline = time.monotonic() + 15
    while pids_using(data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids_using(data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pids_using(data_dir), 10, f"processes of {data_dir} to exit")


Cli = Callable[..., tuple[int, str, str]]


def make_cli(db_uri: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli(*args)`` -> (exit status, stdout, stderr), in-process, never a traceback."""

    def run(*args: str) -> tuple[int, str, str]:
        status = run_main(["--db", db_uri, *args])
        captured = capsys.readouterr()
        assert_no_traceback(captured.out, captured.err)
        return status, captured.out, captured.err

    return run
