"""The upload pipeline on its own, with plain callables for its two stages (no database).

What ``ImageRepository.upload_files`` promises rests on it: every file reported once
and in input order, a bad file failing only itself, a lost database stopping the
batch, and a closed generator storing nothing more.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import FileEntry, UploadResult
from imagerepo_tui.uploads import AHEAD, run_uploads


def _entries(count: int) -> list[FileEntry]:
    return [FileEntry(Path(f"f{n:03}.jpg"), size=n) for n in range(count)]


def _prepare(entry: FileEntry) -> PreparedUpload:
    if "bad" in entry.path.name:
        raise ImageRepoError("not an image")
    return PreparedUpload(entry, entry.path.name.encode(), {})


class _Recorder:
    """A store stage that remembers what it stored, optionally slowly or failing."""

    def __init__(self, delay: float = 0.0, fail_on: str = "") -> None:
        self.stored: list[Path] = []
        self._lock = threading.Lock()
        self._delay = delay
        self._fail_on = fail_on

    def __call__(self, prepared: PreparedUpload) -> UploadResult:
        time.sleep(self._delay)
        if self._fail_on and self._fail_on in prepared.entry.path.name:
            raise DatabaseUnavailableError("the database went away")
        with self._lock:
            self.stored.append(prepared.entry.path)
        return UploadResult(prepared.entry.path, "created", size=len(prepared.data))


def test_every_file_is_reported_once_in_input_order() -> None:
    entries = _entries(40)
    store = _Recorder()
    results = list(run_uploads(entries, _prepare, store))
    assert [result.path for result in results] == [entry.path for entry in entries]
    assert {result.status for result in results} == {"created"}
    assert sorted(store.stored) == [entry.path for entry in entries]


def test_bad_files_fail_alone() -> None:
    entries = [
        *_entries(3),
        FileEntry(Path("bad.jpg")),
        FileEntry(Path("missing.jpg"), error="no such file"),
        *_entries(2),
    ]
    results = list(run_uploads(entries, _prepare, _Recorder()))
    assert [result.status for result in results] == [
        "created", "created", "created", "error", "error", "created", "created",
    ]  # fmt: skip
    assert results[3].error == "not an image"
    assert results[4].error == "no such file"


def test_a_lost_database_stops_the_batch_after_what_was_done() -> None:
    entries = [*_entries(3), FileEntry(Path("gone.jpg")), *_entries(20)]
    results = run_uploads(entries, _prepare, _Recorder(fail_on="gone"))
    done = [next(results) for _ in range(3)]
    assert [result.status for result in done] == ["created"] * 3
    with pytest.raises(DatabaseUnavailableError):
        next(results)


def test_closing_early_stores_nothing_more() -> None:
    store = _Recorder(delay=0.01)
    results = run_uploads(_entries(100), _prepare, store)
    next(results)
    results.close()
    stored = len(store.stored)
    time.sleep(0.2)
    # Only files already being written when it closed may still land.
    assert len(store.stored) == stored <= AHEAD
