"""``check`` finds what is broken or left over in a real library, and ``--repair`` takes
away only orphans and abandoned writes, never an image or its bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, ObjectId
from gridfs import GridFSBucket
from PIL import Image

from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.safekeeping.check import LibraryCheck
from imagerepo_tui.safekeeping.check_results import Kind, Problem
from tests.damaged_support import MISSING, plant
from tests.sample_images import encode, jpeg_bytes, write
from tests.support import Cli, upload_lines
from tests.test_cli_accounts import ALICE_PW, BOB_PW, Accounts

CHUNK = 255 * 1024


def noise_png(width: int = 500, height: int = 400, seed: int = 0) -> bytes:
    """A PNG that does not compress: about 600 KB, three GridFS chunks."""
    pixels = hashlib.shake_256(f"noise{seed}".encode()).digest(width * height * 3)
    return encode(Image.frombytes("RGB", (width, height), pixels), "PNG")


@pytest.fixture
def library(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """Two small JPEGs (one of them in the trash) and a three-chunk PNG."""
    files = tmp_path / "files"
    paths = {
        "small": write(files / "small.jpg", jpeg_bytes(seed=1)),
        "trashed": write(files / "trashed.jpg", jpeg_bytes(seed=2)),
        "big": write(files / "big.png", noise_png()),
    }
    status, out, err = cli("upload", *map(str, paths.values()))
    assert status == 0, err
    found = upload_lines(out)
    ids = {name: found[str(path)] for name, path in paths.items()}
    assert cli("delete", ids["trashed"], "--yes")[0] == 0
    return ids


def originals(raw_db: Any) -> dict[str, str]:
    """Every image's id -> the SHA-256 of its original as any GridFS reader sees it."""
    bucket = GridFSBucket(raw_db)
    return {
        str(doc["_id"]): hashlib.sha256(
            bucket.open_download_stream(doc["file_id"]).read()
        ).hexdigest()
        for doc in raw_db.images.find({}, {"file_id": 1})
    }


def file_id(raw_db: Any, image_id: str) -> ObjectId:
    return raw_db.images.find_one({"_id": ObjectId(image_id)})["file_id"]


def problem_lines(out: str, kind: str) -> list[str]:
    return [line for line in out.splitlines() if f"  {kind}: " in line]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def claim(raw_db: Any, target: ObjectId, pid: int, *, age: timedelta = timedelta()) -> None:
    created = datetime.now(UTC) - age
    raw_db.gridfs_claims.insert_one(
        {"_id": target, "host": socket.gethostname(), "pid": pid, "created_at": created}
    )


def our_file(raw_db: Any, name: str, data: bytes) -> ObjectId:
    """A GridFS file as this app writes one: its SHA-256 in ``metadata``."""
    metadata = {"sha256": hashlib.sha256(data).hexdigest()}
    return GridFSBucket(raw_db).upload_from_stream(name, io.BytesIO(data), metadata=metadata)


def aged_id(age: timedelta) -> ObjectId:
    """A fresh ObjectId whose creation time is ``age`` ago (a chunk's only timestamp)."""
    seconds = int((datetime.now(UTC) - age).timestamp())
    return ObjectId(f"{seconds:08x}{secrets.token_hex(8)}")


def stray_chunks(raw_db: Any, count: int, *, age: timedelta = timedelta(hours=2)) -> ObjectId:
    """Chunks of a file that does not exist, written ``age`` ago."""
    files_id = ObjectId()
    raw_db["fs.chunks"].insert_many(
        [
            {"_id": aged_id(age), "files_id": files_id, "n": n, "data": Binary(b"y" * 10)}
            for n in range(count)
        ]
    )
    return files_id


def half_written(raw_db: Any, data: bytes) -> ObjectId:
    """What an upload leaves after writing its bytes and before saving its image."""
    return GridFSBucket(raw_db).upload_from_stream("half.jpg", io.BytesIO(data))


def test_a_sound_library_is_clean_and_the_result_is_kept(
    cli: Cli, library: dict[str, str], raw_db: Any
) -> None:
    status, out, err = cli("check")
    assert status == 0, err
    assert out.splitlines()[-1].startswith("checked 3 images (1 in the trash), 3 originals")
    assert out.splitlines()[-1].endswith(": no problems")
    assert len(out.splitlines()) == 1
    state = raw_db.library_state.find_one({"_id": "last_check"})
    assert (state["problems"], state["images"], state["repaired"]) == (0, 3, 0)
    assert isinstance(state["at"], datetime)


def test_a_flipped_byte_is_damage(cli: Cli, library: dict[str, str], raw_db: Any) -> None:
    target = file_id(raw_db, library["big"])
    chunk = raw_db["fs.chunks"].find_one({"files_id": target, "n": 1})
    data = bytearray(chunk["data"])
    data[1000] ^= 0x01
    raw_db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": Binary(bytes(data))}})

    status, out, _ = cli("check")
    assert status == 1
    [line] = problem_lines(out, "damaged")
    assert line.startswith(library["big"]) and "SHA-256 mismatch" in line and "big.png" in line
    assert "1 problem (1 damaged)" in out.splitlines()[-1]
    state = raw_db.library_state.find_one({"_id": "last_check"})
    assert state["problems"] == 1


def test_a_missing_chunk_and_a_truncated_one_are_short(
    cli: Cli, library: dict[str, str], raw_db: Any
) -> None:
    big, trashed = file_id(raw_db, library["big"]), file_id(raw_db, library["trashed"])
    raw_db["fs.chunks"].delete_one({"files_id": big, "n": 1})
    last = raw_db["fs.chunks"].find_one({"files_id": trashed, "n": 0})
    raw_db["fs.chunks"].update_one(
        {"_id": last["_id"]}, {"$set": {"data": Binary(last["data"][:-10])}}
    )

    status, out, _ = cli("check")
    assert status == 1
    lines = problem_lines(out, "short")
    assert any(line.startswith(library["big"]) and "missing chunk 1 of 3" in line for line in lines)
    whole = len(last["data"])
    truncated = f"truncated chunk 0 ({whole - 10:,} of {whole:,} bytes)"
    assert any(line.startswith(library["trashed"]) and truncated in line for line in lines)
    assert not problem_lines(out, "damaged")  # a short file is not also called a hash mismatch


def test_a_missing_file_document(cli: Cli, library: dict[str, str], raw_db: Any) -> None:
    raw_db["fs.files"].delete_one({"_id": file_id(raw_db, library["small"])})

    status, out, _ = cli("check", "--repair")
    assert status == 1
    [line] = problem_lines(out, "missing")
    assert line.startswith(library["small"]) and "1 chunk of it is left" in line
    # Its chunks are the image's, not orphans: a repair leaves them for a restore.
    assert not problem_lines(out, "orphan chunks")
    assert raw_db["fs.chunks"].count_documents({"files_id": file_id(raw_db, library["small"])}) == 1


def test_orphans_are_found_and_repair_takes_only_them(
    cli: Cli, library: dict[str, str], raw_db: Any
) -> None:
    before = originals(raw_db)
    images_before = list(raw_db.images.find({}).sort("_id"))
    orphan = our_file(raw_db, "left\x1b[2Jover.jpg", b"x" * 600)
    stray = stray_chunks(raw_db, 2)
    # Another application's file in the same bucket (no SHA-256 of ours): never touched.
    foreign = GridFSBucket(raw_db).upload_from_stream("their.pdf", io.BytesIO(b"%PDF"))

    status, out, _ = cli("check")
    assert status == 1
    [file_line] = problem_lines(out, "orphan file")
    assert file_line.startswith(str(orphan)) and "600 bytes" in file_line
    assert "\x1b" not in out and "left\\x1b[2Jover.jpg" in file_line
    [chunk_line] = problem_lines(out, "orphan chunks")
    assert chunk_line.startswith(str(stray)) and "2 chunks" in chunk_line
    assert raw_db["fs.files"].count_documents({"_id": orphan}) == 1  # no repair asked

    status, out, _ = cli("check", "--repair")
    assert status == 0
    assert all(line.endswith("(removed)") for line in out.splitlines()[:-1])
    assert "2 problems (1 orphan file, 1 orphan chunks), 2 removed" in out
    assert "1 file of other applications left alone" in out
    assert raw_db["fs.files"].count_documents({"_id": orphan}) == 0
    assert raw_db["fs.chunks"].count_documents({"files_id": {"$in": [orphan, stray]}}) == 0
    assert raw_db["fs.files"].count_documents({"_id": foreign}) == 1
    assert raw_db["fs.chunks"].count_documents({"files_id": foreign}) == 1

    status, out, _ = cli("check")
    assert status == 0 and ": no problems" in out
    assert originals(raw_db) == before
    assert list(raw_db.images.find({}).sort("_id")) == images_before


def test_young_orphan_chunks_are_reported_but_left(
    cli: Cli, library: dict[str, str], raw_db: Any
) -> None:
    """Any GridFS client writes chunks before the file document: chunks under an hour
    old may be another application's upload under way, so a repair leaves them."""
    young = stray_chunks(raw_db, 1, age=timedelta(minutes=5))
    status, out, _ = cli("check", "--repair")
    assert status == 1
    [line] = problem_lines(out, "orphan chunks")
    assert line.startswith(str(young)) and "left alone: under an hour old" in line
    assert raw_db["fs.chunks"].count_documents({"files_id": young}) == 1


def test_an_abandoned_write_is_half_finished_and_repaired(
    cli: Cli, library: dict[str, str], raw_db: Any
) -> None:
    left = half_written(raw_db, b"z" * 300_000)
    claim(raw_db, left, dead_pid())
    # A delete cut short after claiming: the image still uses the file.
    used = file_id(raw_db, library["small"])
    claim(raw_db, used, dead_pid())

    status, out, _ = cli("check")
    assert status == 1
    lines = problem_lines(out, "half-finished write")
    assert len(lines) == 2
    assert not problem_lines(out, "orphan file")  # explained by its claim, said once
    [lost] = [line for line in lines if line.startswith(str(left))]
    assert "300,000 bytes in 2 chunks that no image uses" in lost
    [stale] = [line for line in lines if line.startswith(str(used))]
    assert f"image {library['small']} uses its file; only the claim is left" in stale

    before = originals(raw_db)
    status, out, _ = cli("check", "--repair")
    assert status == 0 and "2 removed" in out
    assert raw_db.gridfs_claims.count_documents({}) == 0
    assert raw_db["fs.files"].count_documents({"_id": left}) == 0
    assert raw_db["fs.chunks"].count_documents({"files_id": left}) == 0
    assert originals(raw_db) == before
    assert cli("check")[0] == 0


def test_a_write_in_progress_is_left_alone(cli: Cli, library: dict[str, str], raw_db: Any) -> None:
    """An upload running in this very process: its bytes are written, its image not
    yet saved. Old, to show that a live writer keeps its claim whatever its age."""
    uploading = half_written(raw_db, b"w" * 1000)
    claim(raw_db, uploading, os.getpid(), age=timedelta(days=2))
    chunks_only = ObjectId()  # a larger upload, its file document not yet written
    raw_db["fs.chunks"].insert_one({"files_id": chunks_only, "n": 0, "data": Binary(b"v")})
    claim(raw_db, chunks_only, os.getpid())

    status, out, _ = cli("check", "--repair")
    assert status == 0
    [summary] = out.splitlines()
    assert summary.endswith(" read: no problems; 2 writes in progress left alone")
    assert raw_db.gridfs_claims.count_documents({}) == 2
    assert raw_db["fs.files"].count_documents({"_id": uploading}) == 1
    assert raw_db["fs.chunks"].count_documents({"files_id": {"$in": [uploading, chunks_only]}}) == 2


def test_impossible_fields_are_named(cli: Cli, library: dict[str, str], raw_db: Any) -> None:
    wrong = plant(raw_db, library["small"], width="wide", title=42, file_id=MISSING)
    unseen = plant(raw_db, library["small"], seq=MISSING)
    beyond = plant(raw_db, library["small"], seq=10**9, trashed="no", audience=None)

    status, out, _ = cli("check")
    assert status == 1
    lines = {line.split("  ")[0]: line for line in problem_lines(out, "impossible fields")}
    assert lines.keys() == {wrong, unseen, beyond}
    assert "width: expected an integer, got str" in lines[wrong]
    assert "title: expected a string, got int" in lines[wrong]
    assert "file_id: missing" in lines[wrong]
    assert "seq: missing" in lines[unseen]
    assert "seq: 1000000000 is outside 1..6, so no list shows the image" in lines[beyond]
    assert "trashed: expected a boolean, got str" in lines[beyond]
    assert "audience: expected a string, got null" in lines[beyond]
    # The planted copies name files that were never written.
    assert {line.split("  ")[0] for line in problem_lines(out, "missing")} == {unseen, beyond}


def test_two_images_on_one_file(repo: ImageRepository, tmp_path: Path, raw_db: Any) -> None:
    """Purging either would take the other's original. Only possible without the
    unique index (another tool's copy), and opening the library rebuilds that index
    and fails on the duplicate: so the check itself, on the open store."""
    photo = write(tmp_path / "a.jpg", jpeg_bytes(seed=5))
    first = repo.upload(photo).image
    assert first is not None
    raw_db.images.drop_index("file_id_1")
    twin = plant(raw_db, first.id, file_id=file_id(raw_db, first.id))

    check = LibraryCheck(repo.whole_library("check the library"))
    problems = {(p.kind, p.id): p.detail for p in check.run() if isinstance(p, Problem)}
    assert problems.keys() == {
        (Kind.IMPOSSIBLE, first.id),
        (Kind.IMPOSSIBLE, twin),
        (Kind.DAMAGED, twin),  # the twin's recorded hash is not that of the bytes
        (Kind.WRONG_COUNT, "live:"),  # planted behind the kept count's back
    }
    assert problems[Kind.IMPOSSIBLE, first.id] == f"file_id: the same stored file as image {twin}"
    assert problems[Kind.IMPOSSIBLE, twin] == f"file_id: the same stored file as image {first.id}"
    assert problems[Kind.DAMAGED, twin].startswith("SHA-256 mismatch")
    assert (check.summary.images, check.summary.originals, check.summary.unrepaired) == (2, 2, 4)


def test_json_lists_the_problems(cli: Cli, library: dict[str, str], raw_db: Any) -> None:
    raw_db["fs.files"].delete_one({"_id": file_id(raw_db, library["small"])})
    stray = stray_chunks(raw_db, 1)

    status, out, _ = cli("check", "--json", "--repair")
    assert status == 1
    report = json.loads(out)
    assert sorted(report["problems"], key=lambda p: p["kind"]) == [
        {
            "kind": "missing",
            "id": library["small"],
            "detail": f"its stored file {file_id(raw_db, library['small'])} is gone; "
            "1 chunk of it is left",
            "name": "small.jpg",
            "repaired": False,
        },
        {
            "kind": "orphan_chunks",
            "id": str(stray),
            "detail": "1 chunk of a file that does not exist",
            "name": "",
            "repaired": True,
        },
    ]
    summary = report["summary"]
    assert (summary["images"], summary["trashed"], summary["originals"]) == (3, 1, 2)
    assert summary["by_kind"] == {"missing": 1, "orphan_chunks": 1}
    assert (summary["problems"], summary["repaired"]) == (2, 1)
    sizes = raw_db["fs.files"].find({}, {"length": 1})
    assert summary["bytes_read"] == sum(doc["length"] for doc in sizes)


@pytest.fixture
def users(db_uri: str, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Accounts:
    return Accounts(db_uri, capsys, monkeypatch)


def test_only_an_admin_may_check(users: Accounts, tmp_path: Path, raw_db: Any) -> None:
    assert users.run("user", "add", "alice", password=ALICE_PW)[0] == 0
    assert users.alice("user", "add", "bob", new_password=BOB_PW)[0] == 0
    photo = write(tmp_path / "b.jpg", jpeg_bytes(seed=4))
    assert users.bob("upload", str(photo))[0] == 0
    orphan = our_file(raw_db, "o.jpg", b"o" * 10)

    status, out, err = users.bob("check", "--repair")
    assert (status, out) == (1, "")
    assert err == "error: only an admin can check the library\n"
    assert raw_db["fs.files"].count_documents({"_id": orphan}) == 1
    assert raw_db.library_state.count_documents({}) == 0

    status, out, _ = users.alice("check")
    assert status == 1
    assert out.splitlines()[-1].startswith("checked 1 image, 1 original")
    assert problem_lines(out, "orphan file")[0].startswith(str(orphan))
