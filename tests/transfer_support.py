"""Helpers for the backup, restore and copy tests: a library with everything a backup
must keep, a second server, and a snapshot of a library to compare two of them."""

from __future__ import annotations

import hashlib
import io
import json
import random
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
import pytest
from gridfs import GridFSBucket
from PIL import Image
from pymongo import MongoClient
from pymongo.database import Database

from imagerepo_tui.config import Settings
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository, find_upload_files
from tests.conftest import REAL_DB, start_test_server, with_database
from tests.sample_images import jpeg_bytes, photo_folder, write
from tests.support import assert_no_traceback, run_main

ALICE_PW = "alice-secret-1"
BOB_PW = "bob-secret-22"


@dataclass
class Server:
    """A MongoDB server for a test module, handing out fresh databases."""

    uri: str
    client: MongoClient

    def database(self) -> tuple[str, Database]:
        name = f"imagerepo_xfer_{uuid.uuid4().hex[:10]}"
        return with_database(self.uri, name), self.client[name]


def server_fixture(storage: Path) -> Iterator[Server]:
    if REAL_DB:
        client: MongoClient = MongoClient(REAL_DB)
        yield Server(REAL_DB, client)
        client.close()
        return
    process, uri = start_test_server(storage)
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        yield Server(uri, client)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def other_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second SecantusDB server (its own process and storage)."""
    yield from server_fixture(tmp_path_factory.mktemp("other_server"))


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(db_uri, *args, user=None, password=None)`` -> (status, stdout, stderr): the
    CLI in-process, logged in as ``user`` (alice or bob unless a password is given)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompts

    def go(
        db_uri: str, *args: str, user: str | None = None, password: str | None = None
    ) -> tuple[int, str, str]:
        if user is None:
            monkeypatch.delenv("IMAGEREPO_PASSWORD", raising=False)
        else:
            secret = password or {"alice": ALICE_PW, "bob": BOB_PW}[user]
            monkeypatch.setenv("IMAGEREPO_PASSWORD", secret)
        status = run_main(["--db", db_uri, *(["--user", user] if user else []), *args])
        captured = capsys.readouterr()
        assert_no_traceback(captured.out, captured.err)
        return status, captured.out, captured.err

    return go


def rich_library(db_uri: str, folder: Path) -> dict[str, str]:
    """Two accounts (alice admin, bob), private and public images of each, trash,
    collections, custom metadata, EXIF with a rotation, and the same bytes owned by
    both users. Returns names -> image ids."""
    settings = Settings(db_uri=db_uri, data_dir=folder / "data")
    ids: dict[str, str] = {}
    repo = ImageRepository.open(settings)
    try:
        repo.add_user("alice", ALICE_PW)
        repo.login("alice", ALICE_PW)
        repo.add_user("bob", BOB_PW)
        files = photo_folder(folder / "alice", seed=3)
        meta = NewMetadata(
            title="Holiday \x1b[31mred",
            tags=["sea", "Sun"],
            meta={"place": "Rome", "rating": 5},
            collection="holiday",
            public=True,
        )
        for result in repo.upload_files(
            find_upload_files([files["jpeg"], files["png"]], recursive=False), meta
        ):
            ids[f"alice-{result.path.name}"] = result.image.id  # type: ignore[union-attr]
        for key in ("gif", "webp", "tiff", "bmp"):
            ids[f"alice-{key}"] = repo.upload(files[key]).image.id  # type: ignore[union-attr]
        repo.delete(ids["alice-gif"])
        repo.create_collection("empty one", "no images")
    finally:
        repo.close()
    repo = ImageRepository.open(settings)
    try:
        repo.login("bob", BOB_PW)
        shared = write(folder / "bob" / "same.jpg", files["jpeg"].read_bytes())
        ids["bob-same"] = repo.upload(shared, NewMetadata(collection="bobs")).image.id  # type: ignore[union-attr]
        own = write(folder / "bob" / "own.jpg", jpeg_bytes(90, 60, seed=9, orientation=8))
        ids["bob-own"] = repo.upload(own, NewMetadata(public=True)).image.id  # type: ignore[union-attr]
        repo.delete(ids["bob-own"])
    finally:
        repo.close()
    return ids


def noise_png(seed: int, side: int = 300) -> bytes:
    """An incompressible picture: a few hundred KB that take real time to move."""
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def bulk_library(db_uri: str, folder: Path, count: int, first_seed: int = 0) -> None:
    """``count`` distinct noise images uploaded in one batch (no accounts)."""
    paths = [
        write(folder / f"noise{seed:04d}.png", noise_png(seed))
        for seed in range(first_seed, first_seed + count)
    ]
    repo = ImageRepository.open(Settings(db_uri=db_uri, data_dir=folder / "data"))
    try:
        results = list(repo.upload_files(find_upload_files(paths, recursive=False)))
    finally:
        repo.close()
    assert all(result.status == "created" for result in results), results


def original_sha256(db: Database, file_id: Any) -> str:
    with GridFSBucket(db).open_download_stream(file_id) as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a library keeps, minus what may differ between two copies of it:
    the GridFS file ids (the bytes are compared by their hash instead)."""
    images, encoded = {}, {}
    for doc in db["images"].find({}):
        file_id = doc.pop("file_id")
        # Byte for byte: BSON keeps field order and types (Int64 apart from int).
        encoded[doc["_id"]] = bson.encode(doc)
        images[doc["_id"]] = {**doc, "stored_sha256": original_sha256(db, file_id)}
    small = {
        name: {doc["_id"]: doc for doc in db[name].find({})}
        for name in ("collections", "users", "counters")
    }
    for docs in small.values():
        encoded.update({(key, "doc"): bson.encode(doc) for key, doc in docs.items()})
    return {"images": images, **small, "bson": encoded}


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text())


def backup_files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of a backup folder -> (inode, mtime_ns): what a rewrite changes."""
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def verify_backup(folder: Path) -> dict[str, Any]:
    """Check a backup without the app: the manifest's checksum, and every file it
    lists there with its size and SHA-256. Returns the manifest."""
    found = manifest(folder)
    body = {key: value for key, value in found.items() if key != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert found["checksum"] == hashlib.sha256(text.encode()).hexdigest()
    for entry in found["files"]:
        data = (folder / entry["path"]).read_bytes()
        assert len(data) == entry["size"], entry
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry
    return found
