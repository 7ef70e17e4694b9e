"""``backup DIR`` and ``restore --backup DIR`` against real servers: a restored library
is the backed-up one byte for byte, backups are incremental, restoring twice changes
nothing, damaged bytes are repaired, conflicts in a non-empty library are settled,
and only an admin may do any of it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from imagerepo_tui.config import Settings
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository
from tests.sample_images import encode, photo_folder, picture, write
from tests.support import assert_no_orphans
from tests.transfer_support import (
    ALICE_PW,
    Run,
    Server,
    backup_files,
    noise_png,
    original_sha256,
    other_server,
    rich_library,
    run,
    snapshot,
    verify_backup,
)

__all__ = ["other_server", "run"]  # fixtures


def _summary(out: str) -> dict[str, Any]:
    return json.loads(out)


def _counts(db_uri: str, user: str, password: str) -> tuple[int, int]:
    """(images the user sees, images in the user's trash), through the app."""
    repo = ImageRepository.open(Settings(db_uri=db_uri))
    try:
        repo.login(user, password)
        return repo.count(), repo.count(trash=True)
    finally:
        repo.close()


def test_restore_into_another_server_is_the_same_library(
    db_uri: str, raw_db: Database, other_server: Server, tmp_path: Path, run: Run
) -> None:
    rich_library(db_uri, tmp_path)
    folder = tmp_path / "backup"
    status, out, err = run(db_uri, "backup", str(folder), "--json", user="alice")
    assert status == 0, err
    done = _summary(out)
    # Eight images, two in the trash; bob's copy of alice's JPEG is stored once.
    assert (done["images"], done["trashed"], done["written"], done["skipped"]) == (8, 2, 7, 1)
    assert done["documents"] == {"users": 2, "collections": 3, "counters": 2}

    found = verify_backup(folder)
    assert found["counts"]["originals"] == 7
    for image in raw_db["images"].find({}):
        kept = folder / "originals" / image["sha256"][:2] / image["sha256"]
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == image["sha256"]
        assert original_sha256(raw_db, image["file_id"]) == image["sha256"]
    users = (folder / found["metadata"]["users"]).read_text()
    assert "$argon2" in users and ALICE_PW not in users
    last = raw_db["library_state"].find_one({"_id": "last_backup"})
    assert last is not None and last["folder"] == str(folder.resolve())

    target_uri, target = other_server.database()
    status, out, err = run(target_uri, "restore", "--backup", str(folder))
    assert status == 0, err
    # Bob's copy of alice's bytes is a file of its own in the library, as it was.
    assert "8 images (2 in the trash): 8 written, 0 already there" in out
    assert snapshot(target) == snapshot(raw_db)
    assert_no_orphans(target)
    for user, password in (("alice", ALICE_PW), ("bob", "bob-secret-22")):
        assert _counts(target_uri, user, password) == _counts(db_uri, user, password)

    # Restoring twice changes nothing (the library now has accounts: an admin does it).
    before, files = snapshot(target), target["fs.files"].count_documents({})
    status, out, err = run(target_uri, "restore", "--backup", str(folder), user="alice")
    assert status == 0, err
    assert "0 written, 8 already there" in out
    assert snapshot(target) == before
    assert target["fs.files"].count_documents({}) == files


def test_backup_is_incremental(db_uri: str, raw_db: Database, tmp_path: Path, run: Run) -> None:
    photos = photo_folder(tmp_path / "photos")
    assert run(db_uri, "upload", "-r", str(tmp_path / "photos"))[0] == 0
    folder = tmp_path / "backup"
    status, out, _ = run(db_uri, "backup", str(folder), "--json")
    assert (status, _summary(out)["written"]) == (0, len(photos))
    before = backup_files(folder)

    status, out, _ = run(db_uri, "backup", str(folder), "--json")
    assert (status, _summary(out)["written"], _summary(out)["skipped"]) == (0, 0, len(photos))
    after = backup_files(folder)
    # Not one original or metadata file was rewritten; only the manifest is new.
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"
    }

    new = write(tmp_path / "new.png", encode(picture(33, 21, seed=77), "PNG"))
    assert run(db_uri, "upload", str(new))[0] == 0
    status, out, _ = run(db_uri, "backup", str(folder), "--json")
    assert (status, _summary(out)["written"], _summary(out)["images"]) == (0, 1, len(photos) + 1)
    third = backup_files(folder)
    added = {name for name in set(third) - set(after) if name.startswith("originals/")}
    assert added == {f"originals/{_sha(new)[:2]}/{_sha(new)}"}
    assert all(third[name] == after[name] for name in after if name.startswith("originals/"))
    # The metadata files the old manifest named are gone; the new ones are listed.
    listed = set(verify_backup(folder)["metadata"].values())
    assert {name for name in third if name.startswith("metadata/")} == listed


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_restore_repairs_damaged_and_missing_bytes(
    db_uri: str, raw_db: Database, tmp_path: Path, run: Run
) -> None:
    photo_folder(tmp_path / "photos")
    write(tmp_path / "photos" / "big.png", noise_png(5, side=400))  # two GridFS chunks
    assert run(db_uri, "upload", "-r", str(tmp_path / "photos"))[0] == 0
    folder = tmp_path / "backup"
    assert run(db_uri, "backup", str(folder))[0] == 0
    before = snapshot(raw_db)

    flipped = raw_db["images"].find_one({"filename": "old.bmp"})
    chunk = raw_db["fs.chunks"].find_one({"files_id": flipped["file_id"], "n": 0})
    data = bytearray(chunk["data"])
    data[len(data) // 2] ^= 0x01
    raw_db["fs.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": bytes(data)}})
    holed = raw_db["images"].find_one({"filename": "big.png"})
    assert raw_db["fs.chunks"].delete_one({"files_id": holed["file_id"], "n": 1}).deleted_count

    status, out, err = run(db_uri, "restore", "--backup", str(folder))
    assert status == 0, err
    assert "7 images (0 in the trash): 0 written, 5 already there, 2 repaired" in out
    assert snapshot(raw_db) == before
    for image in (flipped, holed):
        now = raw_db["images"].find_one({"_id": image["_id"]})
        assert now["file_id"] != image["file_id"]
        assert raw_db["fs.files"].find_one({"_id": image["file_id"]}) is None
        assert raw_db["fs.chunks"].find_one({"files_id": image["file_id"]}) is None
    assert_no_orphans(raw_db)

    status, out, _ = run(db_uri, "restore", "--backup", str(folder))
    assert status == 0 and "0 written, 7 already there, 0 failed" in out


def test_restore_into_a_library_that_has_its_own_images(
    db_uri: str, raw_db: Database, other_server: Server, tmp_path: Path, run: Run
) -> None:
    """The one here wins: its alice account (another id), its image with the same
    bytes, its collection of the same name; taken seqs get fresh ones."""
    rich_library(db_uri, tmp_path)
    folder = tmp_path / "backup"
    assert run(db_uri, "backup", str(folder), user="alice")[0] == 0
    source = snapshot(raw_db)

    target_uri, target = other_server.database()
    here = Settings(db_uri=target_uri, data_dir=tmp_path / "here")
    repo = ImageRepository.open(here)
    try:
        repo.add_user("alice", "another-alice-pw")
        repo.login("alice", "another-alice-pw")
        same_png = write(tmp_path / "same.png", (tmp_path / "alice" / "alpha.png").read_bytes())
        kept_id = repo.upload(same_png, NewMetadata(title="mine")).image.id  # type: ignore[union-attr]
        repo.upload(write(tmp_path / "x.png", encode(picture(20, 20, seed=50), "PNG")))
        repo.create_collection("Holiday")
    finally:
        repo.close()
    alice_here = target["users"].find_one({"name": "alice"})
    holiday_here = target["collections"].find_one({"name": "Holiday"})

    status, out, err = run(
        target_uri, "restore", "--backup", str(folder), user="alice", password="another-alice-pw"
    )
    assert status == 0, err
    assert "7 written, 0 already there, 1 duplicates kept, 0 failed" in out
    assert "exists here with another id" in err and "kept" in err

    assert target["users"].find_one({"name": "alice"}) == alice_here  # hash untouched
    alice_there = next(u for u in source["users"].values() if u["name"] == "alice")
    duplicate = next(
        i for i in source["images"].values() if i["filename"] == "alpha.png"
    )  # alice's PNG: the one here stays, with its own title
    assert target["images"].find_one({"_id": duplicate["_id"]}) is None
    assert target["images"].find_one({"_id": ObjectId(kept_id)})["title"] == "mine"

    seqs = [doc["seq"] for doc in target["images"].find({})]
    assert len(seqs) == len(set(seqs)) == 9
    assert target["counters"].find_one({"_id": "image_seq"})["value"] >= max(seqs)
    for image_id, image in source["images"].items():
        if image_id == duplicate["_id"]:
            continue
        restored = target["images"].find_one({"_id": image_id})
        assert restored["sha256"] == image["sha256"]
        assert original_sha256(target, restored["file_id"]) == image["sha256"]
        if image["owner"] == str(alice_there["_id"]):
            assert restored["owner"] == str(alice_here["_id"])
            assert restored["audience"] in ("*", str(alice_here["_id"]))
            assert restored["public"] == image["public"]
        else:  # bob's: his account came along with its id
            assert {k: v for k, v in restored.items() if k != "file_id"} == {
                k: v for k, v in image.items() if k != "stored_sha256"
            } | {"seq": restored["seq"]}
    holiday = [i for i in target["images"].find({"collections": holiday_here["_id"]})]
    assert {i["filename"] for i in holiday} == {"rotated.jpg"}  # its PNG was the duplicate
    assert target["collections"].count_documents({}) == 3  # Holiday, empty one, bobs
    assert_no_orphans(target)
    # Her two, and her four live ones from the backup (the GIF is in her trash).
    assert _counts(target_uri, "alice", "another-alice-pw") == (6, 1)


def test_only_an_admin_may_back_up_or_restore(
    db_uri: str, raw_db: Database, other_server: Server, tmp_path: Path, run: Run
) -> None:
    rich_library(db_uri, tmp_path)
    folder = tmp_path / "backup"
    status, _, err = run(db_uri, "backup", str(folder), user="bob")
    assert status == 1 and "only an admin can back up the whole library" in err
    assert not folder.exists()
    assert raw_db["library_state"].find_one({"_id": "last_backup"}) is None

    assert run(db_uri, "backup", str(folder), user="alice")[0] == 0
    before = snapshot(raw_db)
    raw_db["images"].delete_many({"owner": {"$ne": ""}, "public": False})
    status, _, err = run(db_uri, "restore", "--backup", str(folder), user="bob")
    assert status == 1 and "only an admin can restore a backup" in err
    assert len(snapshot(raw_db)["images"]) < len(before["images"])

    target_uri, target = other_server.database()
    status, _, err = run(db_uri, "copy", "--to", target_uri, user="bob")
    assert status == 1 and "only an admin can copy the whole library" in err
    assert target["images"].count_documents({}) == 0


def test_unusable_backup_folders_are_refused(
    db_uri: str, raw_db: Database, tmp_path: Path, run: Run
) -> None:
    photo_folder(tmp_path / "photos")
    assert run(db_uri, "upload", "-r", str(tmp_path / "photos"))[0] == 0
    status, _, err = run(db_uri, "backup", str(tmp_path / "photos"))
    assert status == 1 and "is not a backup folder" in err
    assert not (tmp_path / "photos" / "originals").exists()

    folder = tmp_path / "backup"
    assert run(db_uri, "backup", str(folder))[0] == 0
    before = snapshot(raw_db)
    raw_db["images"].delete_many({})

    (folder / "manifest.json").rename(tmp_path / "manifest.json")
    status, _, err = run(db_uri, "restore", "--backup", str(folder))
    assert status == 1 and "holds no complete backup" in err

    text = (tmp_path / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text.replace('"images": 6', '"images": 7', 1))
    status, _, err = run(db_uri, "restore", "--backup", str(folder))
    assert status == 1 and "its checksum does not match" in err

    (folder / "manifest.json").write_text(text)
    images_file = folder / json.loads(text)["metadata"]["images"]
    original = images_file.read_bytes()
    images_file.write_bytes(original.replace(b"old.bmp", b"new.bmp"))
    status, _, err = run(db_uri, "restore", "--backup", str(folder))
    assert status == 1 and "is damaged or changed" in err
    assert raw_db["images"].count_documents({}) == 0

    images_file.write_bytes(original)
    assert run(db_uri, "restore", "--backup", str(folder))[0] == 0
    assert snapshot(raw_db)["images"] == before["images"]
