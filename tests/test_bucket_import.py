"""``copy --from URI --bucket NAME``: importing another application's GridFS bucket.

The source is a second SecantusDB server, written the way any web app writes GridFS
(plain pymongo ``GridFSBucket``); the library is the suite's test database.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import Code, Int64, ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from gridfs import GridFSBucket
from PIL import Image
from pymongo import MongoClient

from imagerepo_tui.config import Settings
from imagerepo_tui.errors import DatabaseUnavailableError
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.bucket_import import BucketImport
from imagerepo_tui.store.foreign_bucket import _scrubbed
from imagerepo_tui.uploads import MAX_AHEAD
from tests.conftest import start_test_server
from tests.sample_images import encode, jpeg_bytes, picture
from tests.support import assert_no_orphans, run_main, upload_lines

HOSTILE_NAME = "\x1b]0;pwned\x07../../etc/\x1b[31mevil\\name\u202e.jpg"
# Its last part, with the backslash, ESC and RIGHT-TO-LEFT OVERRIDE made "_".
SAFE_NAME = "_[31mevil_name_.jpg"
TAKEN = datetime(2019, 7, 14, 12, 30, tzinfo=UTC)
ADMIN_PW, BOB_PW = "admin-secret-1", "bob-secret-22"
# What a web app keeps about a photo: text, numbers, dates, its user's ObjectId, a list.
HOLIDAY_META: dict[str, Any] = {
    "album": "Summer",
    "rating": 5,
    "taken": TAKEN,
    "tags": ["a", "b"],
    "owner": ObjectId("5f1e0c0a0a0a0a0a0a0a0a0a"),
    "nothing": None,
    "blob": b"\x00\x01",
}


@pytest.fixture(scope="module")
def source_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another application's MongoDB: a server of its own, as in real life."""
    process, uri = start_test_server(tmp_path_factory.mktemp("foreign"), test_commands=False)
    yield uri
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def source(source_server: str) -> Iterator[Any]:
    """A fresh database on the source server (pymongo ``Database``), dropped after."""
    client: MongoClient = MongoClient(source_server, tz_aware=True)
    name = f"webapp_{uuid.uuid4().hex[:8]}"
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def library(settings: Settings) -> Iterator[Callable[[], ImageRepository]]:
    """``library()`` opens the test's library. The CLI run in-process closes the
    process's one mongoengine connection, and any repository opened before with it."""
    opened: list[ImageRepository] = []

    def open_library() -> ImageRepository:
        opened.append(ImageRepository.open(settings))
        return opened[-1]

    yield open_library
    for repo in opened:
        repo.close()


def uri_of(database: Any) -> str:
    host, port = database.client.address
    return f"mongodb://{host}:{port}/{database.name}"


def noise_png(size: int) -> bytes:
    """A PNG that does not compress: about ``size`` bytes."""
    side = int((size / 3) ** 0.5) + 1
    pixels = random.Random(7).randbytes(side * side * 3)
    return encode(Image.frombytes("RGB", (side, side), pixels), "PNG")


def put(database: Any, bucket: str, name: Any, data: bytes, **metadata: Any) -> Any:
    """A file as a web app stores it: ``GridFSBucket.upload_from_stream``."""
    fs = GridFSBucket(database, bucket_name=bucket, chunk_size_bytes=1024)
    return fs.upload_from_stream(name, io.BytesIO(data), metadata=metadata or None)


def fill_bucket(database: Any, bucket: str) -> dict[str, Any]:
    """Images with metadata, and each kind of file that must be refused."""
    jpeg = jpeg_bytes(seed=1)
    ids = {
        "holiday": put(database, bucket, "holiday.jpg", jpeg, **HOLIDAY_META),
        "diagram": put(
            database, bucket, "diagram.png", encode(picture(seed=2), "PNG"), caption="A diagram"
        ),
        "copy": put(database, bucket, "copy of holiday.jpg", jpeg),
        "hostile": put(database, bucket, HOSTILE_NAME, jpeg_bytes(seed=3), **{"\x1b[2Jk": "v"}),
        "text": put(database, bucket, "notes.txt", b"just some notes\n"),
        "truncated": put(database, bucket, "broken.jpg", jpeg_bytes(seed=4)[:900]),
        "empty": put(database, bucket, "empty.jpg", b""),
        "large": put(database, bucket, "large.png", noise_png(120_000)),
        "holed": put(database, bucket, "holed.jpg", jpeg_bytes(seed=5, width=200, height=200)),
    }
    # A chunk lost in the middle: the file is incomplete, whatever its length says.
    database[f"{bucket}.chunks"].delete_one({"files_id": ids["holed"], "n": 1})
    return ids


def snapshot(database: Any) -> dict[str, Any]:
    """Every collection's documents as raw BSON bytes, and its indexes."""
    raw = CodecOptions(document_class=RawBSONDocument)
    state: dict[str, Any] = {}
    for name in sorted(database.list_collection_names()):
        collection = database.get_collection(name, codec_options=raw)
        docs = sorted(bytes(doc.raw) for doc in collection.find({}))
        state[name] = (docs, database[name].index_information())
    return state


def original(database: Any, bucket: str, file_id: Any) -> bytes:
    return GridFSBucket(database, bucket_name=bucket).open_download_stream(file_id).read()


def errors_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def copy_bucket(
    db_uri: str, capsys: Any, *args: str, user: str | None = None
) -> tuple[int, str, str]:
    """``copy ARGS`` in-process -> (exit status, stdout, stderr), never a traceback."""
    status = run_main(["--db", db_uri, *(["--user", user] if user else []), "copy", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out, captured.err


# -- the import -----------------------------------------------------------------------------


def test_images_come_over_byte_exact_and_the_rest_is_refused(
    source: Any,
    db_uri: str,
    library: Callable[[], ImageRepository],
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGEREPO_MAX_FILE_MB", "0.1")  # 104,857 bytes: "large" is over
    ids = fill_bucket(source, "photos")
    before = snapshot(source)

    status, out, err = copy_bucket(db_uri, capsys, "--from", uri_of(source), "--bucket", "photos")

    assert status == 1, err  # some files were refused; the rest went on
    for text in (out, err):
        assert not any(ord(ch) < 32 and ch != "\n" for ch in text), text
        assert "\u202e" not in text
    lines = upload_lines(out)
    assert set(lines) == {"holiday.jpg", "diagram.png", "copy of holiday.jpg", SAFE_NAME}
    assert "copy of holiday.jpg  (duplicate)" in out  # the same bytes as holiday.jpg
    assert lines["copy of holiday.jpg"] == lines["holiday.jpg"]
    reasons = [  # (key in ids, name, why)
        ("text", "notes.txt", "a text file, not an image"),
        ("truncated", "broken.jpg", "truncated"),
        ("empty", "empty.jpg", "empty file"),
        ("large", "large.png", "upload limit"),
        ("holed", "holed.jpg", "chunk 1 is missing"),
    ]
    refused = errors_of(err)
    assert len(refused) == len(reasons), err
    for key, name, reason in reasons:
        [line] = [line for line in refused if line.startswith(f"error: {name} (id {ids[key]}): ")]
        assert reason in line, line
    assert "3 imported, 1 duplicate(s) already here, 5 refused" in err

    repo = library()

    for key, bucket_id in (("holiday", ids["holiday"]), ("diagram", ids["diagram"])):
        name = "holiday.jpg" if key == "holiday" else "diagram.png"
        info, data = repo.original_bytes(lines[name])
        assert data == original(source, "photos", bucket_id)
        assert info.sha256 == hashlib.sha256(data).hexdigest()
        assert info.filename == name
        assert info.meta["imported_file_id"] == str(bucket_id)
        assert info.meta["imported_bucket"] == "photos"
        assert info.meta["imported_from"] == uri_of(source)
        doc = source["photos.files"].find_one({"_id": bucket_id})
        assert info.meta["imported_upload_date"] == doc["uploadDate"]
    holiday = repo.info(lines["holiday.jpg"])
    assert holiday.meta["album"] == "Summer" and holiday.meta["rating"] == 5
    assert holiday.meta["taken"] == TAKEN
    assert holiday.meta["owner"] == "5f1e0c0a0a0a0a0a0a0a0a0a"
    assert holiday.meta["tags"] == '["a", "b"]'
    assert "nothing" not in holiday.meta and "blob" not in holiday.meta
    assert repo.info(lines["diagram.png"]).meta["caption"] == "A diagram"
    hostile = repo.info(lines[SAFE_NAME])
    assert hostile.filename == SAFE_NAME
    assert hostile.meta["imported_filename"] == HOSTILE_NAME  # kept as text, shown escaped
    assert hostile.meta["__2Jk"] == "v"
    assert repo.count() == 3
    assert snapshot(source) == before


def test_a_second_run_imports_nothing_new(
    source: Any, db_uri: str, library: Callable[[], ImageRepository], capsys: Any
) -> None:
    ids = fill_bucket(source, "photos")
    first = copy_bucket(db_uri, capsys, "--from", uri_of(source), "--bucket", "photos")
    before = snapshot(source)

    status, out, err = copy_bucket(
        db_uri, capsys, "--from", uri_of(source), "--bucket", "photos", "--json"
    )

    assert first[0] == status == 1
    records = json.loads(out)
    assert [record["source_id"] for record in records] == sorted(str(i) for i in ids.values())
    by_name = {record["filename"]: record for record in records}
    assert {name for name, r in by_name.items() if r["status"] == "duplicate"} == {
        "holiday.jpg",
        "diagram.png",
        "copy of holiday.jpg",
        SAFE_NAME,
        "large.png",  # under the default size cap here
    }
    assert {name for name, r in by_name.items() if r["status"] == "error"} == {
        "notes.txt",
        "broken.jpg",
        "empty.jpg",
        "holed.jpg",
    }
    assert by_name["holiday.jpg"]["id"] == upload_lines(first[1])["holiday.jpg"]
    assert "0 imported, 5 duplicate(s) already here, 4 refused" in err
    assert library().count() == 4
    assert snapshot(source) == before


def test_default_bucket_of_the_default_database(
    source_server: str, db_uri: str, library: Callable[[], ImageRepository], capsys: Any
) -> None:
    client: MongoClient = MongoClient(source_server)
    try:
        file_id = put(client["test"], "fs", "a.png", encode(picture(seed=9), "PNG"), n=1)
        status, out, err = copy_bucket(db_uri, capsys, "--from", source_server, "--bucket", "fs")
    finally:
        client.drop_database("test")
        client.close()
    assert status == 0, err
    assert "MongoDB's default 'test'" in err
    info = library().info(upload_lines(out)["a.png"])
    assert info.meta["imported_file_id"] == str(file_id) and info.meta["n"] == 1
    assert info.meta["imported_from"].endswith("/test")


def test_a_missing_bucket_names_those_there(
    source: Any, db_uri: str, library: Callable[[], ImageRepository], capsys: Any
) -> None:
    put(source, "photos", "a.png", encode(picture(seed=9), "PNG"))
    status, out, err = copy_bucket(db_uri, capsys, "--from", uri_of(source), "--bucket", "fs")
    assert status == 1 and out == ""
    assert "no GridFS bucket 'fs'" in err and "buckets there: photos" in err
    assert library().count() == 0


def test_a_bucket_name_that_is_no_collection_name_is_a_usage_error(
    source: Any, db_uri: str, capsys: Any
) -> None:
    status, _, err = copy_bucket(db_uri, capsys, "--from", uri_of(source), "--bucket", "$x")
    assert status == 2 and "cannot name a bucket" in err


# -- what a file's fields may hold ----------------------------------------------------------


def test_metadata_follows_the_custom_field_rules(source: Any, repo: ImageRepository) -> None:
    """Keys made valid or skipped, values kept, made text or skipped: never refused."""
    metadata = {
        "Camera Model": "X100",
        "a.b": 1,
        "a_b": 2,  # the same name once "a.b" is renamed: the first one stays
        "$where": "y",
        "x" * 100: 1,
        "imported_from": "spoofed",
        "big": "x" * 5000,
        "nan": float("nan"),
        "n64": Int64(2**40),
        "code": Code("f()"),
        "when": TAKEN,
        "ok": True,
    }
    put(source, "fs", "m.png", encode(picture(seed=11), "PNG"), **metadata)
    # The legacy GridFS.put(data, caption=...) style: the app's fields at the top level.
    source["fs.files"].update_one({}, {"$set": {"caption": "top", "contentType": "image/png"}})

    with BucketImport(repo, uri_of(source), "fs") as run:
        [result] = list(run.results())

    assert result.upload.status == "created" and result.upload.image is not None
    meta = repo.info(result.upload.image.id).meta
    assert {key: value for key, value in meta.items() if not key.startswith("imported_")} == {
        "Camera_Model": "X100",
        "a_b": 1,
        "_where": "y",
        "nan": "nan",
        "n64": 2**40,
        "code": "f()",
        "when": TAKEN,
        "ok": True,
        "caption": "top",
    }
    assert type(meta["code"]) is str
    assert meta["imported_from"] == uri_of(source)
    assert any("not usable as a field name" in note for note in result.notes)
    assert "metadata field 'a_b': its name a_b is another field's, skipped" in result.notes
    assert any("its name imported_from is the import's own" in note for note in result.notes)
    assert any("over 4096 characters" in note for note in result.notes)


def test_file_documents_of_the_wrong_shape_are_refused_one_by_one(
    source: Any, repo: ImageRepository
) -> None:
    """An _id that is a document is no GridFS id (and could hold a query operator); a
    length that is no number cannot be checked against the chunks: both are refused,
    the rest go on."""
    good = put(source, "fs", "good.png", encode(picture(seed=12), "PNG"))
    now = datetime.now(UTC)
    source["fs.files"].insert_many(
        [
            {"_id": {"files": 1}, "length": 10, "chunkSize": 1024, "uploadDate": now},
            {"_id": "text-id", "length": "10", "chunkSize": 1024, "filename": 7},
            {"_id": 42, "length": 3, "chunkSize": 1024, "filename": "no-chunks.jpg"},
        ]
    )
    with BucketImport(repo, uri_of(source), "fs") as run:
        results = {result.source_id: result for result in run.results()}

    assert results[str(good)].upload.status == "created"
    assert "no GridFS file id" in (results["<dict _id>"].upload.error or "")
    assert "not a size" in (results["text-id"].upload.error or "")
    assert results["text-id"].filename == "gridfs-text-id"
    assert "0 of its 3 bytes" in (results["42"].upload.error or "")
    assert repo.count() == 1


# -- who may --------------------------------------------------------------------------------


def test_only_an_admin_may_import(
    source: Any,
    db_uri: str,
    library: Callable[[], ImageRepository],
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put(source, "fs", "a.png", encode(picture(seed=9), "PNG"))
    repo = library()
    repo.add_user("admin", ADMIN_PW)
    repo.login("admin", ADMIN_PW)
    repo.add_user("bob", BOB_PW)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    before = snapshot(source)

    monkeypatch.setenv("IMAGEREPO_PASSWORD", BOB_PW)
    args = ["--from", uri_of(source), "--bucket", "fs"]
    status, out, err = copy_bucket(db_uri, capsys, *args, user="bob")
    assert status == 1 and out == ""
    assert "only an admin can import a GridFS bucket" in err
    # Refused before the source is reached: an unreachable one is never tried.
    unreachable = ["--from", "mongodb://127.0.0.1:1/x", "--bucket", "fs"]
    monkeypatch.setenv("IMAGEREPO_PASSWORD", BOB_PW)  # the CLI took it out once read
    status, _, err = copy_bucket(db_uri, capsys, *unreachable, user="bob")
    assert status == 1 and "only an admin" in err and "cannot reach" not in err

    monkeypatch.setenv("IMAGEREPO_PASSWORD", ADMIN_PW)
    status, out, err = copy_bucket(db_uri, capsys, *args, user="admin")
    assert status == 0, err
    assert list(upload_lines(out)) == ["a.png"]
    assert snapshot(source) == before


# -- when things go wrong ---------------------------------------------------------------------


def test_a_source_that_goes_away_stops_the_import_cleanly(
    tmp_path: Path, repo: ImageRepository, raw_db: Any
) -> None:
    """Files not yet read when the source's server stops are not refused one by one
    (each after a timeout): the import stops with the reason, leaving nothing half-made."""
    process, base = start_test_server(tmp_path / "gone", test_commands=False)
    count = MAX_AHEAD + 30
    try:
        client: MongoClient = MongoClient(base)
        # More than the upload keeps in flight (all of those are read at once).
        for n in range(count):
            put(client["app"], "fs", f"{n}.png", encode(picture(64, 48 + n // 256, n), "PNG"))
        client.close()
        # The URI's options win over the import's own: no 5 s wait per failed read.
        quick = "?serverSelectionTimeoutMS=200&retryReads=false"
        with BucketImport(repo, f"{base}app{quick}", "fs") as run:
            results = run.results()
            first = next(results)
            process.terminate()
            process.wait(timeout=15)
            with pytest.raises(
                DatabaseUnavailableError, match=f"cannot reach MongoDB at {base}app"
            ):
                for _ in results:
                    pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert first.upload.status == "created"
    assert 1 <= repo.count() < count
    assert_no_orphans(raw_db)


def test_a_password_quoted_by_the_driver_is_not_shown() -> None:
    uri = "mongodb://alice:p%40ss-w0rd@db.example.org/app"
    message = "auth failed for alice:p%40ss-w0rd (tried p@ss-w0rd)"
    assert _scrubbed(message, uri) == "auth failed for alice:*** (tried ***)"
