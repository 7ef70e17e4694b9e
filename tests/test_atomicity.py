"""All or nothing: a write that fails half-way leaves no visible image and no orphaned
GridFS bytes, and a retry succeeds. Failures are injected by the real server's
``configureFailPoint failCommand``, scoped to the app's own connections.

The commands one upload sends, in order (checked by ``test_the_command_sequence``):
findAndModify counters (its upload number, reserved before anything is written, so
that numbers follow the input order), insert gridfs_claims, insert fs.chunks, insert
fs.files, insert images, update image_counts; a content update: findAndModify gridfs_claims
(x2), update images, then delete fs.files / fs.chunks of the old bytes; a purge: delete images,
update image_counts, delete fs.files, delete fs.chunks (a purge; delete moves to the trash).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import monitoring

from imagerepo_tui.errors import DatabaseUnavailableError, ImageRepoError
from imagerepo_tui.repository import ImageRepository, find_upload_files
from tests.sample_images import encode, jpeg_bytes, picture, write
from tests.support import assert_no_orphans, assert_no_traceback, run_main
from tests.test_counts import actual_counts, kept_counts

NOT_RETRYABLE = {"errorCode": 2}  # BadValue: no driver retries it
CUT = {"closeConnection": True}


def attempt_upload(repo: ImageRepository, path: Path) -> str:
    """The upload's status; a lost connection (which stops a batch) counts as error."""
    try:
        result = repo.upload(path)
    except DatabaseUnavailableError:
        return "error"
    assert result.status != "error" or result.error
    return result.status


def assert_nothing_stored(raw_db: Any) -> None:
    assert raw_db["images"].count_documents({}) == 0
    assert raw_db["fs.files"].count_documents({}) == 0
    assert raw_db["fs.chunks"].count_documents({}) == 0


class _Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("insert", "findAndModify", "update", "delete"):
            self.commands.append((event.command_name, event.command[event.command_name]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_the_command_sequence(settings, tmp_path: Path) -> None:
    """The skip counts below rely on this order; if it changes, fix them."""
    recorder = _Recorder()
    monitoring.register(recorder)  # global, so it sees the repository's client
    try:
        repo = ImageRepository.open(settings)
        try:
            recorder.commands.clear()
            image = repo.upload(write(tmp_path / "a.jpg", jpeg_bytes(seed=1))).image
            assert image is not None
            upload, recorder.commands[:] = list(recorder.commands), []
            repo.replace_content(image.id, write(tmp_path / "b.jpg", jpeg_bytes(seed=2)))
            replace, recorder.commands[:] = list(recorder.commands), []
            repo.delete(image.id)  # to the trash: an update
            recorder.commands.clear()
            repo.purge(image.id)
            delete = list(recorder.commands)
        finally:
            repo.close()
    finally:
        monitoring._LISTENERS.command_listeners.remove(recorder)
    writes = [c for c in upload if c[1] != "gridfs_claims"]
    assert writes == [
        ("findAndModify", "counters"),  # before any write: a failure leaves nothing
        ("insert", "fs.chunks"),
        ("insert", "fs.files"),
        ("insert", "images"),
        ("update", "image_counts"),  # after the image: a failure there loses no image
    ]
    assert upload[1] == ("findAndModify", "gridfs_claims")  # mongoengine's save()
    assert upload[2] == ("insert", "gridfs_claims")
    assert [c for c in replace if c[0] in ("findAndModify", "update")] == [
        ("findAndModify", "gridfs_claims"),
        ("findAndModify", "gridfs_claims"),
        ("update", "images"),
    ]
    assert [c for c in replace if c[0] == "delete" and c[1] != "gridfs_claims"] == [
        ("delete", "fs.files"),
        ("delete", "fs.chunks"),
    ]
    assert [c for c in delete if c[1] != "gridfs_claims"] == [
        ("delete", "images"),
        ("update", "image_counts"),
        ("delete", "fs.files"),
        ("delete", "fs.chunks"),
    ]


# -- upload ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "skip", "how"),
    [
        pytest.param("insert", 3, NOT_RETRYABLE, id="images-insert-refused"),
        pytest.param("insert", 3, CUT, id="images-insert-connection-cut"),
        pytest.param("findAndModify", 0, NOT_RETRYABLE, id="counter-refused"),
        pytest.param("findAndModify", 0, CUT, id="counter-connection-cut"),
        pytest.param("findAndModify", 1, NOT_RETRYABLE, id="claim-refused"),
        pytest.param("insert", 1, NOT_RETRYABLE, id="chunks-insert-refused"),
        pytest.param("insert", 2, CUT, id="files-insert-connection-cut"),
    ],
)
def test_failed_upload_leaves_no_trace_and_retry_works(
    repo: ImageRepository,
    raw_db,
    fail_point,
    tmp_path: Path,
    command: str,
    skip: int,
    how: dict[str, Any],
) -> None:
    path = write(tmp_path / "photo.jpg", jpeg_bytes(seed=3))
    fail_point({"skip": skip, "times": 1}, failCommands=[command], **how)
    assert attempt_upload(repo, path) == "error"
    fail_point("off")
    # Clean once the call returns.
    assert repo.count() == 0
    assert_nothing_stored(raw_db)
    assert_no_orphans(raw_db)

    result = repo.upload(path)
    assert result.status == "created" and result.image is not None
    assert raw_db["images"].count_documents({}) == 1
    assert_no_orphans(raw_db)
    assert repo.original_bytes(result.image.id)[1] == path.read_bytes()


def test_a_failed_count_update_loses_no_image_and_check_repairs_the_count(
    repo: ImageRepository, raw_db, fail_point, cli, tmp_path: Path
) -> None:
    """The kept count is written after the image (``store/counts.py``): when that
    write fails, the upload still succeeded, and only the count is off until
    ``check --repair``."""
    path = write(tmp_path / "photo.jpg", jpeg_bytes(seed=4))
    fail_point({"times": 1}, failCommands=["update"], **NOT_RETRYABLE)
    result = repo.upload(path)
    fail_point("off")
    assert result.status == "created" and result.image is not None
    assert raw_db["images"].count_documents({}) == 1
    assert (repo.count(), repo.count("size:>=0")) == (0, 1)  # the kept count missed it
    # (The CLI closes the process's one connection, the repository's too.)
    assert cli("check")[0] == 1
    assert cli("check", "--repair")[0] in (0, 1)
    assert kept_counts(raw_db) == actual_counts(raw_db) == {"live:": 1}
    assert cli("check")[0] == 0


def test_write_concern_error_never_leaves_an_image_without_bytes(
    repo: ImageRepository, raw_db, fail_point, tmp_path: Path
) -> None:
    """The insert happened but its acknowledgement failed: the outcome is ambiguous, and
    the bytes must not be deleted from under a document that may exist."""
    path = write(tmp_path / "photo.jpg", jpeg_bytes(seed=4))
    fail_point(
        {"skip": 3, "times": 1},
        failCommands=["insert"],
        writeConcernError={"code": 64, "errmsg": "waiting for replication timed out"},
    )
    status = attempt_upload(repo, path)
    fail_point("off")
    assert status in ("error", "created")
    assert_no_orphans(raw_db)
    docs = list(raw_db["images"].find())
    if docs:  # visible, so whole
        [doc] = docs
        assert raw_db["fs.files"].count_documents({"_id": doc["file_id"]}) == 1
        assert repo.original_bytes(str(doc["_id"]))[1] == path.read_bytes()
    retry = repo.upload(path)
    assert retry.status in ("created", "duplicate") and retry.image is not None
    assert repo.original_bytes(retry.image.id)[1] == path.read_bytes()
    assert_no_orphans(raw_db)


def test_failed_upload_in_the_cli_is_one_line_and_exit_1(
    db_uri: str, raw_db, fail_point, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "photo.jpg", jpeg_bytes(seed=5))
    fail_point({"skip": 3, "times": 1}, failCommands=["insert"], **NOT_RETRYABLE)
    status = run_main(["--db", db_uri, "upload", str(path)])
    fail_point("off")
    captured = capsys.readouterr()
    assert_no_traceback(captured.out, captured.err)
    assert (status, captured.out) == (1, "")
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {path}: ")
    assert_nothing_stored(raw_db)
    assert run_main(["--db", db_uri, "upload", str(path)]) == 0
    assert raw_db["images"].count_documents({}) == 1
    assert_no_orphans(raw_db)


def test_a_batch_goes_on_after_a_refused_write(
    repo: ImageRepository, raw_db, fail_point, tmp_path: Path
) -> None:
    files = [write(tmp_path / f"{n}.jpg", jpeg_bytes(seed=10 + n)) for n in range(4)]
    # The first image insert is refused once: not a lost database, so the batch must
    # go on; the files it failed (the first group's: one file, or the few ready with
    # it, see test_batched_upload.py) are simply not there.
    fail_point({"skip": 3, "times": 1}, failCommands=["insert"], **NOT_RETRYABLE)
    results = list(repo.upload_files(find_upload_files(files, recursive=False)))
    fail_point("off")
    assert [r.path for r in results] == files
    failed = [r for r in results if r.status == "error"]
    assert failed and all(r.error for r in failed)
    assert raw_db["images"].count_documents({}) == 4 - len(failed)
    stored = {doc["sha256"] for doc in raw_db["images"].find({}, {"sha256": 1})}
    assert not {hashlib.sha256(r.path.read_bytes()).hexdigest() for r in failed} & stored
    assert_no_orphans(raw_db)
    # Uploading again stores what failed, once.
    again = list(repo.upload_files(find_upload_files(files, recursive=False)))
    assert [r.status for r in again].count("created") == len(failed)
    assert raw_db["images"].count_documents({}) == 4
    assert_no_orphans(raw_db)


# -- update ----------------------------------------------------------------------------------


@pytest.fixture
def stored(repo: ImageRepository, tmp_path: Path) -> tuple[str, Path]:
    path = write(tmp_path / "v1.jpg", jpeg_bytes(seed=20))
    result = repo.upload(path)
    assert result.image is not None
    return result.image.id, path


@pytest.mark.parametrize(
    ("command", "skip", "how"),
    [
        pytest.param("insert", 1, NOT_RETRYABLE, id="new-chunks-refused"),
        pytest.param("update", 0, NOT_RETRYABLE, id="image-update-refused"),
        pytest.param("update", 0, CUT, id="image-update-connection-cut"),
        pytest.param("delete", 1, NOT_RETRYABLE, id="old-files-delete-refused"),
        pytest.param("delete", 2, CUT, id="old-chunks-delete-connection-cut"),
    ],
)
def test_failed_update_keeps_one_consistent_version(
    repo: ImageRepository,
    raw_db,
    fail_point,
    tmp_path: Path,
    stored: tuple[str, Path],
    command: str,
    skip: int,
    how: dict[str, Any],
) -> None:
    image_id, old = stored
    new = write(tmp_path / "v2.png", encode(picture(12, 12, seed=21), "PNG"))
    fail_point({"skip": skip, "times": 1}, failCommands=[command], **how)
    try:
        repo.replace_content(image_id, new)
    except ImageRepoError:
        replaced = False
    else:
        replaced = True
    fail_point("off")
    # Only a failure before the image points at the new bytes is reported as one;
    # dropping the old bytes afterwards is cleanup.
    assert replaced is (command == "delete")
    # Old or new content, whole either way, and nothing else left behind.
    info, data = repo.original_bytes(image_id)
    assert data in (old.read_bytes(), new.read_bytes())
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert_no_orphans(raw_db)
    assert raw_db["fs.files"].count_documents({}) == 1

    updated = repo.replace_content(image_id, new)
    assert updated.id == image_id and updated.format == "PNG"
    assert repo.original_bytes(image_id)[1] == new.read_bytes()
    assert_no_orphans(raw_db)


# -- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skip", "how", "gone"),
    [
        pytest.param(0, NOT_RETRYABLE, False, id="image-delete-refused"),
        pytest.param(0, CUT, False, id="image-delete-connection-cut"),
        pytest.param(1, NOT_RETRYABLE, True, id="files-delete-refused"),
        pytest.param(2, CUT, True, id="chunks-delete-connection-cut"),
    ],
)
def test_failed_purge_leaves_no_orphans(
    repo: ImageRepository,
    raw_db,
    fail_point,
    stored: tuple[str, Path],
    skip: int,
    how: dict[str, Any],
    gone: bool,
) -> None:
    image_id, path = stored
    fail_point({"skip": skip, "times": 1}, failCommands=["delete"], **how)
    repo.delete(image_id)  # to the trash; purging is what deletes documents and bytes
    if gone:  # the image went; dropping its bytes is cleanup, not a failed purge
        repo.purge(image_id)
    else:
        with pytest.raises(ImageRepoError):
            repo.purge(image_id)
    fail_point("off")
    assert_no_orphans(raw_db)
    present = raw_db["images"].count_documents({"_id": ObjectId(image_id)}) == 1
    assert present is not gone
    if present:
        assert repo.original_bytes(image_id)[1] == path.read_bytes()
        repo.purge(image_id)
    assert_nothing_stored(raw_db)
    assert_no_orphans(raw_db)
