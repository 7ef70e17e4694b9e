"""The upload pipeline on its own, with plain callables for its two stages (no database).

What ``ImageRepository.upload_files`` promises rests on it: every file reported once
and in input order, a bad file failing only itself, a lost database stopping the
batch, and a closed generator storing nothing more.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.files import PreparedUpload
from imagerepo_tui.records import FileEntry, UploadResult
from imagerepo_tui.uploads import GROUP_FILES, MAX_AHEAD, SMALL_FILE, run_uploads


def _entries(count: int) -> list[FileEntry]:
    return [FileEntry(Path(f"f{n:03}.jpg"), size=n) for n in range(count)]


def _prepare(entry: FileEntry) -> PreparedUpload:
    if "bad" in entry.path.name:
        raise ImageRepoError("not an image")
    return PreparedUpload(entry, entry.path.name.encode(), {})


class _Seqs:
    """A reserve stage: consecutive numbers, as the database's counter gives them."""

    def __init__(self) -> None:
        self.last = 0
        self._lock = threading.Lock()

    def __call__(self, count: int) -> int:
        with self._lock:
            self.last += count
            return self.last - count + 1


class _Recorder:
    """A store stage that remembers what it stored, optionally slowly or failing."""

    def __init__(self, delay: float = 0.0, fail_on: str = "") -> None:
        self.stored: list[Path] = []
        self.groups: list[int] = []
        self.seqs: dict[Path, int] = {}
        self._lock = threading.Lock()
        self._delay = delay
        self._fail_on = fail_on

    def __call__(
        self, group: Sequence[PreparedUpload], first_seq: int
    ) -> list[UploadResult | ImageRepoError]:
        time.sleep(self._delay)
        if self._fail_on and any(self._fail_on in p.entry.path.name for p in group):
            raise DatabaseUnavailableError("the database went away")
        with self._lock:
            self.stored.extend(prepared.entry.path for prepared in group)
            self.groups.append(len(group))
            self.seqs.update((p.entry.path, first_seq + i) for i, p in enumerate(group))
        return [UploadResult(p.entry.path, "created", size=len(p.data)) for p in group]


def test_every_file_is_reported_once_in_input_order() -> None:
    entries = _entries(40)
    store = _Recorder()
    results = list(run_uploads(entries, _prepare, _Seqs(), store))
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
    results = list(run_uploads(entries, _prepare, _Seqs(), _Recorder()))
    assert [result.status for result in results] == [
        "created", "created", "created", "error", "error", "created", "created",
    ]  # fmt: skip
    assert results[3].error == "not an image"
    assert results[4].error == "no such file"


def test_a_lost_database_stops_the_batch_after_what_was_done() -> None:
    entries = [*_entries(3), FileEntry(Path("gone.jpg")), *_entries(20)]

    def prepare(entry: FileEntry) -> PreparedUpload:
        # Ready after the first three: a lost database fails the whole group it
        # strikes, and these are stored in earlier ones.
        if "gone" in entry.path.name:
            time.sleep(0.3)
        return _prepare(entry)

    results = run_uploads(entries, prepare, _Seqs(), _Recorder(fail_on="gone"))
    done = [next(results) for _ in range(3)]
    assert [result.status for result in done] == ["created"] * 3
    with pytest.raises(DatabaseUnavailableError):
        next(results)


def test_closing_early_stores_nothing_more() -> None:
    store = _Recorder(delay=0.01)
    results = run_uploads(_entries(1000), _prepare, _Seqs(), store)
    next(results)
    results.close()
    stored = len(store.stored)
    time.sleep(0.2)
    # Only groups already being written when it closed may still land, and never
    # more than were in flight.
    assert len(store.stored) == stored <= MAX_AHEAD < 1000


def test_files_ready_together_are_stored_as_one_group_and_large_ones_alone() -> None:
    """While one group is being written the next files get ready, and a writer takes
    all that are ready at once (never more than GROUP_FILES); a file of SMALL_FILE
    bytes or more is stored on its own."""
    big = SMALL_FILE + 1

    def prepare(entry: FileEntry) -> PreparedUpload:
        size = big if "big" in entry.path.name else 10
        return PreparedUpload(entry, bytes(size), {})

    entries = [*_entries(150), FileEntry(Path("big1.jpg")), FileEntry(Path("big2.jpg"))]
    entries += _entries(150)
    store = _Recorder(delay=0.02)
    results = list(run_uploads(entries, prepare, _Seqs(), store))
    assert [result.path for result in results] == [entry.path for entry in entries]
    assert max(store.groups) > 1 and max(store.groups) <= GROUP_FILES
    assert sum(store.groups) == len(entries)
    alone = [r.size for r in results if r.size == big]
    assert len(alone) == 2
    # Each large file was a group of its own: no group holds more than one of them,
    # and there were at least two groups of one.
    assert store.groups.count(1) >= 2


def test_a_file_failing_inside_a_group_fails_alone() -> None:
    """The store reports one file's own refusal in its place; the rest are stored."""

    def store(
        group: Sequence[PreparedUpload], first_seq: int
    ) -> list[UploadResult | ImageRepoError]:
        return [
            ImageRepoError("refused")
            if "f003" in p.entry.path.name
            else UploadResult(p.entry.path, "created", size=len(p.data))
            for p in group
        ]

    results = list(run_uploads(_entries(8), _prepare, _Seqs(), store))
    assert [r.status for r in results] == ["created"] * 3 + ["error"] + ["created"] * 4
    assert results[3].error == "refused"


def test_upload_numbers_follow_the_input_order_whatever_is_ready_first() -> None:
    """Files get ready out of order (a large one late, others at random) and two
    writers race; still each stored file's number follows its input position."""
    big = SMALL_FILE + 1
    delays = random.Random(3)
    pauses = {f"f{n:03}.jpg": delays.random() * 0.004 for n in range(300)}

    def prepare(entry: FileEntry) -> PreparedUpload:
        if "big" in entry.path.name:
            time.sleep(0.2)
            return PreparedUpload(entry, bytes(big), {})
        time.sleep(pauses[entry.path.name])
        return _prepare(entry)

    entries = [FileEntry(Path("big.jpg")), *_entries(300)]
    store = _Recorder(delay=0.005)
    results = list(run_uploads(entries, prepare, _Seqs(), store))
    assert [result.path for result in results] == [entry.path for entry in entries]
    assert {result.status for result in results} == {"created"}
    assert sorted(store.seqs, key=store.seqs.__getitem__) == [entry.path for entry in entries]
    assert max(store.groups) > 1


def test_a_failed_reservation_fails_its_group_alone_and_holds_up_nobody() -> None:
    """The first reservation fails: its files are errors, the rest are stored in
    order; a lost database while reserving stops the batch as a failed store does."""
    seqs = _Seqs()
    calls: list[int] = []

    def reserve(count: int) -> int:
        calls.append(count)
        if len(calls) == 1:
            raise ImageRepoError("no number")
        return seqs(count)

    entries = _entries(50)
    store = _Recorder()
    results = list(run_uploads(entries, _prepare, reserve, store))
    assert [result.path for result in results] == [entry.path for entry in entries]
    failed = [r for r in results if r.status == "error"]
    assert len(failed) == calls[0] and {r.error for r in failed} == {"no number"}
    assert results[: len(failed)] == failed  # the first group
    assert sorted(store.stored) == [entry.path for entry in entries[len(failed) :]]

    def gone(count: int) -> int:
        raise DatabaseUnavailableError("the database went away")

    with pytest.raises(DatabaseUnavailableError):
        list(run_uploads(_entries(5), _prepare, gone, _Recorder()))
