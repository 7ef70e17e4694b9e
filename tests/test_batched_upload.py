"""Small files stored in groups (``uploads.py``, ``store/image_batches.py``): a group
that fails loses nothing and duplicates nothing, a file refused inside a group fails
alone, and duplicates inside a group are reported as a sequential upload would.

A group is made for certain, not by luck: with one writer, the first insert the
upload sends is held by the server (``blockConnection``) while the decoders prepare
every other file, so the writer's next group is all of them. Then the fail point is
re-armed to fail one of that group's writes. A group takes four inserts, as one file
alone does: claims, chunks, files documents, images.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from PIL import Image
from pymongo import monitoring

from imagerepo_tui import uploads
from imagerepo_tui.config import Settings
from imagerepo_tui.errors import DatabaseUnavailableError
from imagerepo_tui.records import NewMetadata, UploadResult
from imagerepo_tui.repository import ImageRepository, find_upload_files
from tests.sample_images import encode, picture, write
from tests.support import assert_no_orphans
from tests.test_counts import actual_counts, kept_counts

NOT_RETRYABLE = {"errorCode": 2}
CUT = {"closeConnection": True}
HELD_MS = 3000
# Inserts after the held one (the first group's claims) before the second group's:
# the first group's chunks, files documents and images.
FIRST_GROUP_REST = 3


class _FirstInsert(monitoring.CommandListener):
    def __init__(self) -> None:
        self.seen = threading.Event()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "insert":
            self.seen.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class _Grouped:
    """``grouped(paths, then=None, metadata=None)`` uploads with one writer whose
    second group holds every file the first did not; ``then`` is the fail point
    armed for what follows the held insert (None: none). Returns the results
    reported and the ``DatabaseUnavailableError`` that stopped the run, if any."""

    def __init__(self, repo: ImageRepository, fail_point: Any, listener: _FirstInsert) -> None:
        self.repo = repo
        self._fail_point = fail_point
        self._listener = listener

    def __call__(
        self, paths: list[Path], then: dict[str, Any] | None = None, metadata: Any = None
    ) -> tuple[list[UploadResult], DatabaseUnavailableError | None]:
        self._listener.seen.clear()
        results: list[UploadResult] = []
        stopped: list[BaseException] = []

        def upload() -> None:
            entries = find_upload_files(paths, recursive=False)
            try:
                results.extend(self.repo.upload_files(entries, metadata))
            except BaseException as error:
                stopped.append(error)

        self._fail_point(
            {"times": 1}, failCommands=["insert"], blockConnection=True, blockTimeMS=HELD_MS
        )
        worker = threading.Thread(target=upload)
        worker.start()
        assert self._listener.seen.wait(30), f"no insert was sent: {stopped}"
        time.sleep(0.5)  # the server has taken the held insert by now
        if then is None:
            self._fail_point("off")
        else:
            self._fail_point(then.pop("mode"), failCommands=["insert"], **then)
        worker.join(60)
        assert not worker.is_alive()
        self._fail_point("off")
        if not stopped:
            return results, None
        if isinstance(stopped[0], DatabaseUnavailableError):
            return results, stopped[0]
        raise stopped[0]


@pytest.fixture
def grouped(
    settings: Settings, fail_point: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[_Grouped]:
    monkeypatch.setattr(uploads, "WRITERS", 1)
    listener = _FirstInsert()
    monitoring.register(listener)  # global: the repository's client is made after it
    repo = ImageRepository.open(settings)
    try:
        yield _Grouped(repo, fail_point, listener)
    finally:
        repo.close()
        monitoring._LISTENERS.command_listeners.remove(listener)


def small_pngs(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    return [
        write(folder / f"s{n:03d}.png", encode(picture(24, 16, seed=n), "PNG"))
        for n in range(first_seed, first_seed + count)
    ]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_stored_once_each(repo: ImageRepository, raw_db: Any, paths: list[Path]) -> None:
    """Every file stored exactly once, byte for byte; nothing else left; counts exact."""
    docs = list(raw_db["images"].find({}, {"sha256": 1}))
    assert sorted(doc["sha256"] for doc in docs) == sorted({sha(path) for path in paths})
    for doc in docs:
        assert hashlib.sha256(repo.original_bytes(str(doc["_id"]))[1]).hexdigest() == doc["sha256"]
    assert_no_orphans(raw_db)
    assert kept_counts(raw_db) == actual_counts(raw_db)


@pytest.mark.parametrize(
    ("skip", "how"),
    [
        pytest.param(FIRST_GROUP_REST + 3, NOT_RETRYABLE, id="images-insert-refused"),
        pytest.param(FIRST_GROUP_REST + 3, CUT, id="images-insert-connection-cut"),
        pytest.param(FIRST_GROUP_REST + 1, NOT_RETRYABLE, id="chunks-insert-refused"),
        pytest.param(FIRST_GROUP_REST + 1, CUT, id="chunks-insert-connection-cut"),
        pytest.param(FIRST_GROUP_REST + 2, CUT, id="files-insert-connection-cut"),
        pytest.param(FIRST_GROUP_REST, NOT_RETRYABLE, id="claims-insert-refused"),
    ],
)
def test_a_failed_group_loses_nothing_and_a_rerun_stores_each_file_once(
    grouped: _Grouped, raw_db: Any, tmp_path: Path, skip: int, how: dict[str, Any]
) -> None:
    repo = grouped.repo
    paths = small_pngs(tmp_path / "in", 20)
    results, stopped = grouped(paths, {"mode": {"skip": skip, "times": 1}, **how})

    # Reported once each, in input order, up to where a lost connection stopped it.
    assert [r.path for r in results] == paths[: len(results)]
    if how is CUT:
        assert stopped is not None
    else:
        assert stopped is None and len(results) == len(paths)
    failed = [r for r in results if r.status == "error"]
    created = [r for r in results if r.status == "created"]
    assert len(failed) > 1 or (stopped is not None and len(results) < len(paths) - 1), (
        "one injected failure must fail a whole group"
    )
    # What was reported stored is stored, whole; the failed files left nothing.
    stored = {doc["sha256"] for doc in raw_db["images"].find({}, {"sha256": 1})}
    assert {r.image.sha256 for r in created if r.image} <= stored
    assert not {sha(r.path) for r in failed} & stored
    if stopped is None:
        assert_no_orphans(raw_db)  # cleaned up before the call returned
        assert kept_counts(raw_db) == actual_counts(raw_db)

    again = list(repo.upload_files(find_upload_files(paths, recursive=False)))
    assert [r.path for r in again] == paths
    assert {r.status for r in again} <= {"created", "duplicate"}
    for before in created:
        assert before.image is not None
        [after] = [r for r in again if r.path == before.path]
        assert after.status == "duplicate" and after.image is not None
        assert after.image.id == before.image.id
    assert_stored_once_each(repo, raw_db, paths)
    assert repo.count() == len(paths)


def test_duplicates_inside_a_group_and_of_the_library_are_reported_as_in_sequence(
    grouped: _Grouped, raw_db: Any, tmp_path: Path
) -> None:
    repo = grouped.repo
    folder = tmp_path / "in"
    known = write(folder / "known.png", encode(picture(24, 16, seed=90), "PNG"))
    before = repo.upload(known)
    assert before.status == "created" and before.image is not None
    repo.delete(before.image.id)  # in the trash: uploading it again brings it back
    same = encode(picture(24, 16, seed=91), "PNG")
    broken = write(folder / "broken.png", b"\x89PNG\r\n\x1a\n not really")
    paths = [
        *small_pngs(folder, 4),
        write(folder / "twin_a.png", same),
        known,
        write(folder / "twin_b.png", same),
        broken,
        write(folder / "after.png", encode(picture(24, 16, seed=92), "PNG")),
    ]
    metadata = NewMetadata(title="Trip", tags=("beach",), collection="trip", public=True)
    results, stopped = grouped(paths, None, metadata)
    assert stopped is None
    by_name = {r.path.name: r for r in results}
    assert [r.path for r in results] == paths
    assert by_name["twin_a.png"].status == "created"
    assert by_name["twin_b.png"].status == "duplicate"
    twin_a, twin_b = by_name["twin_a.png"].image, by_name["twin_b.png"].image
    assert twin_a is not None and twin_b is not None and twin_a.id == twin_b.id
    assert by_name["known.png"].status == "duplicate"
    known_now = by_name["known.png"].image
    assert known_now is not None and known_now.id == before.image.id
    assert by_name["broken.png"].status == "error" and by_name["broken.png"].error
    assert by_name["after.png"].status == "created"
    # The duplicate of the library came back from the trash, shared, into the collection.
    info = repo.info(before.image.id)
    assert info.public and "trip" in repo.collection_names(info.collections)
    # The new ones carry the upload's metadata.
    for result in results:
        if result.status == "created":
            assert result.image is not None
            new = repo.info(result.image.id)
            assert (new.title, new.tags, new.public) == ("Trip", ("beach",), True)
            assert repo.collection_names(new.collections) == ["trip"]
    assert repo.count("collection:trip") == len(paths) - 2  # less the twin and the broken
    # A document written in a group has the fields of one written alone (that one
    # has been to the trash and back, which sets ``deleted_at``).
    alone = raw_db["images"].find_one({"_id": ObjectId(before.image.id)})
    grouped_doc = raw_db["images"].find_one({"_id": ObjectId(twin_a.id)})
    assert set(grouped_doc) | {"deleted_at"} == set(alone) | {"deleted_at"}
    assert grouped_doc["seq"] > alone["seq"] and grouped_doc["file_id"] != alone["file_id"]
    assert_stored_once_each(repo, raw_db, [p for p in paths if p != broken])


def test_a_file_refused_inside_a_group_fails_alone(
    grouped: _Grouped, raw_db: Any, tmp_path: Path
) -> None:
    """The server refuses one document of the group's image insert (a validator
    another client set): that file is an error, the others of its group are stored."""
    repo = grouped.repo
    raw_db.command("collMod", "images", validator={"filename": {"$ne": "refused.png"}})
    folder = tmp_path / "in"
    refused = write(folder / "refused.png", encode(picture(24, 16, seed=80), "PNG"))
    paths = [*small_pngs(folder, 6), refused, *small_pngs(folder, 6, first_seed=10)]
    results, stopped = grouped(paths)
    assert stopped is None
    assert [r.path for r in results] == paths
    statuses = {r.path.name: r.status for r in results}
    assert statuses.pop("refused.png") == "error"
    assert set(statuses.values()) == {"created"}
    [error] = [r.error for r in results if r.status == "error"]
    assert error is not None and "validation" in error
    assert_stored_once_each(repo, raw_db, [p for p in paths if p != refused])


def test_upload_numbers_follow_the_input_order(
    repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    """The gallery lists newest first by ``seq``: a folder's files are numbered in the
    order they were given, though a large first file is stored alone and is ready
    after the small ones behind it, which two writers store in groups."""
    folder = tmp_path / "in"
    noisy = Image.frombytes("RGB", (700, 700), random.Random(7).randbytes(700 * 700 * 3))
    large = write(folder / "large.png", encode(noisy, "PNG"))
    assert large.stat().st_size >= uploads.SMALL_FILE
    paths = [large, *small_pngs(folder, 250)]
    results = list(repo.upload_files(find_upload_files(paths, recursive=False)))
    assert [(r.path, r.status) for r in results] == [(p, "created") for p in paths]
    by_seq = raw_db["images"].find({}, {"filename": 1}).sort("seq", 1)
    assert [doc["filename"] for doc in by_seq] == [p.name for p in paths]
