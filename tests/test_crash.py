"""Crashes: SIGKILL the CLI, or the embedded server, in the middle of a folder import.

What was reported stays, byte for byte; a rerun completes the import without
duplicates and cleans up whatever the killed process left half-written.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bson import ObjectId
from gridfs import GridFSBucket
from pymongo import MongoClient

from imagerepo_tui.store.embedded import client_uri
from tests.sample_images import jpeg_bytes, write
from tests.support import (
    assert_no_orphans,
    assert_no_traceback,
    cli_popen,
    pid_alive,
    run_cli,
    server_state,
    upload_lines,
    wait_until,
)

# Enough that a kill after the first few reported lands mid-import: small files are
# stored in groups of up to 100 (``uploads.GROUP_FILES``) at a time.
FILES = 400


def photo_folder(folder: Path) -> dict[str, bytes]:
    """``FILES`` small, distinct JPEGs: {path: bytes}."""
    # Pictures repeat after 256 seeds: the camera model in the EXIF keeps them apart.
    made = {n: jpeg_bytes(48, 32, seed=n, camera=("Crash", str(n))) for n in range(FILES)}
    return {str(write(folder / f"img_{n:03d}.jpg", data)): data for n, data in made.items()}


class _Reader:
    """Collects a process's stdout lines as they come, on a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def join(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


def start_import(*args: str) -> tuple[subprocess.Popen[str], _Reader]:
    process = cli_popen(*args)
    return process, _Reader(process)


def assert_printed_ids_intact(db: Any, printed: dict[str, str], files: dict[str, bytes]) -> None:
    bucket = GridFSBucket(db)
    for path, image_id in printed.items():
        doc = db["images"].find_one({"_id": ObjectId(image_id)})
        assert doc is not None, f"{path} was reported as {image_id} but is not stored"
        stored = bucket.open_download_stream(doc["file_id"]).read()
        assert stored == files[path], f"{image_id} lost its bytes"
        assert doc["sha256"] == hashlib.sha256(stored).hexdigest()


def assert_complete(db: Any, files: dict[str, bytes]) -> None:
    wanted = sorted(hashlib.sha256(data).hexdigest() for data in files.values())
    assert sorted(doc["sha256"] for doc in db["images"].find({}, {"sha256": 1})) == wanted
    assert_no_orphans(db)


def test_killed_cli_loses_nothing_it_reported(db_uri: str, raw_db, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    files = photo_folder(folder)
    process, reader = start_import("--db", db_uri, "upload", "-r", str(folder))
    wait_until(lambda: len(reader.lines) >= 3 or process.poll() is not None, 60, "3 uploads")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    printed = upload_lines(reader.join())
    assert process.returncode == -signal.SIGKILL
    assert 3 <= len(printed) < FILES, "the kill did not land in the middle of the import"
    assert_printed_ids_intact(raw_db, printed, files)

    done = run_cli("--db", db_uri, "upload", "-r", str(folder))
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done.stderr)
    again = upload_lines(done.stdout)
    assert len(again) == FILES
    for path, image_id in printed.items():
        assert again[path] == image_id  # the same image, reported as a duplicate
        assert f"{image_id}  {path}  (duplicate)" in done.stdout
    # Exactly once each, and what the killed process left half-written is gone (its
    # claims are from a dead pid on this host, so the rerun cleaned them up).
    assert_complete(raw_db, files)
    assert_printed_ids_intact(raw_db, again, files)


def test_repeated_kills_converge(db_uri: str, raw_db, tmp_path: Path) -> None:
    """Kill at different moments, several times: every run's reports hold, and the
    last run completes the set with nothing left over."""
    folder = tmp_path / "photos"
    files = photo_folder(folder)
    reported: dict[str, str] = {}
    for after in (1, 5, 12):
        process, reader = start_import("--db", db_uri, "upload", "-r", str(folder))
        wait_until(
            lambda after=after, reader=reader, process=process: (
                len(reader.lines) >= after or process.poll() is not None
            ),
            60,
            "uploads",
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        printed = upload_lines(reader.join())
        assert_printed_ids_intact(raw_db, printed, files)
        for path, image_id in printed.items():
            assert reported.setdefault(path, image_id) == image_id
    done = run_cli("--db", db_uri, "upload", "-r", str(folder))
    assert done.returncode == 0, done.stderr
    assert_complete(raw_db, files)


def test_killed_embedded_server_stops_the_import_cleanly(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    folder = tmp_path / "photos"
    files = photo_folder(folder)
    process, reader = start_import("--data-dir", str(data_dir), "upload", "-r", str(folder))
    wait_until(lambda: len(reader.lines) >= 3 or process.poll() is not None, 60, "3 uploads")
    state = server_state(data_dir)
    assert state is not None
    os.kill(state["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    assert process.stderr is not None
    err = process.stderr.read()  # until the CLI exits
    process.wait(timeout=60)
    stopped_after = time.monotonic() - killed_at
    printed = upload_lines(reader.join())

    assert 3 <= len(printed) < FILES, "the kill did not land in the middle of the import"
    assert process.returncode == 1
    assert_no_traceback(err)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "stopped with" in errors[0] and "not uploaded" in errors[0]
    assert stopped_after < 8, f"took {stopped_after:.1f} s to give up"
    # The supervisor noticed and left; nothing answers for the directory any more.
    wait_until(lambda: not pid_alive(state["supervisor_pid"]), 20, "the supervisor to exit")

    # The rerun restarts the server by itself and completes the import.
    done = run_cli("--data-dir", str(data_dir), "upload", "-r", str(folder))
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done.stderr)
    again = upload_lines(done.stdout)
    assert len(again) == FILES
    for path, image_id in printed.items():
        assert again[path] == image_id
    restarted = server_state(data_dir)
    assert restarted is not None and restarted["pid"] != state["pid"]
    client: MongoClient = MongoClient(client_uri(data_dir))
    try:
        db = client["imagerepo"]
        assert_printed_ids_intact(db, printed, files)
        assert_complete(db, files)
    finally:
        client.close()
