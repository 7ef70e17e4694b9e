"""Trash before purge: delete hides, restore brings everything back byte for byte,
purge and emptying the trash remove the image and its GridFS bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId

from imagerepo_tui.errors import ImageRepoError
from imagerepo_tui.repository import ImageRepository, NewMetadata
from imagerepo_tui.store import utc_now
from tests.library_support import exif_jpeg, flat_image
from tests.sample_images import write
from tests.support import Cli, assert_no_orphans, upload_lines

# Over GridFS's 255 KiB chunk size: a purge must remove every chunk, not just one.
BIG = flat_image(400, 300, "BMP", 1)


def upload(cli: Cli, path: Path, *extra: str) -> str:
    status, out, err = cli("upload", str(path), *extra)
    assert status == 0, err
    return upload_lines(out)[str(path)]


def ls_ids(cli: Cli, *args: str) -> list[str]:
    status, out, err = cli("ls", "--json", *args)
    assert status == 0, err
    return [item["id"] for item in json.loads(out)]


def trash_ids(cli: Cli) -> list[str]:
    status, out, err = cli("trash", "--json")
    assert status == 0, err
    return [item["id"] for item in json.loads(out)]


def file_of(raw_db, image_id: str) -> ObjectId:
    return raw_db["images"].find_one({"_id": ObjectId(image_id)})["file_id"]


def stored_bytes(raw_db, file_id: ObjectId) -> tuple[int, int]:
    """(fs.files documents, fs.chunks documents) of one GridFS file."""
    return (
        raw_db["fs.files"].count_documents({"_id": file_id}),
        raw_db["fs.chunks"].count_documents({"files_id": file_id}),
    )


def test_delete_hides_restore_brings_everything_back(cli: Cli, tmp_path: Path, raw_db) -> None:
    big = write(tmp_path / "big photo.bmp", BIG)
    kept = upload(cli, write(tmp_path / "kept.jpg", exif_jpeg(seed=2)), "--tag", "sea")
    image_id = upload(
        cli,
        big,
        "--title",
        "Harbour",
        "--tag",
        "sea",
        "--tag",
        "Boats",
        "--meta",
        "rating=4",
        "--collection",
        "Coast",
    )
    status, out, _ = cli("info", image_id, "--json")
    before = json.loads(out)
    file_id = file_of(raw_db, image_id)
    assert stored_bytes(raw_db, file_id) == (1, 2)

    status, out, err = cli("delete", image_id, "--yes")
    assert status == 0 and "(moved to the trash)" in out, err
    # Gone from every listing, search and count...
    assert ls_ids(cli) == [kept]
    assert ls_ids(cli, "harbour") == []
    assert ls_ids(cli, "--tag", "sea") == [kept]
    assert ls_ids(cli, "collection:Coast") == []
    status, out, _ = cli("collections", "--json")
    assert [(c["name"], c["count"]) for c in json.loads(out)] == [("Coast", 0)]
    # ...but listed in the trash, with its bytes kept.
    assert trash_ids(cli) == [image_id]
    status, out, _ = cli("trash")
    assert image_id in out and "big photo.bmp" in out and "deleted" in out
    assert stored_bytes(raw_db, file_id) == (1, 2)
    status, out, _ = cli("info", image_id, "--json")
    assert json.loads(out)["deleted_at"] is not None

    status, out, err = cli("restore", image_id)
    assert status == 0 and "(restored)" in out, err
    status, out, _ = cli("info", image_id, "--json")
    after = json.loads(out)
    assert after["deleted_at"] is None
    for key in ("title", "tags", "meta", "collections", "sha256", "size", "filename"):
        assert after[key] == before[key], key
    assert ls_ids(cli, "harbour") == [image_id]
    assert ls_ids(cli, "collection:Coast") == [image_id]
    assert trash_ids(cli) == []
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert cli("download", image_id, "-o", str(out_dir))[0] == 0
    written = (out_dir / "big photo.bmp").read_bytes()
    assert hashlib.sha256(written).hexdigest() == hashlib.sha256(BIG).hexdigest()


def test_purge_removes_the_image_and_its_gridfs_bytes(cli: Cli, tmp_path: Path, raw_db) -> None:
    doomed = upload(cli, write(tmp_path / "doomed.bmp", BIG))
    other = upload(cli, write(tmp_path / "other.jpg", exif_jpeg(seed=3)))
    doomed_file = file_of(raw_db, doomed)
    # Not in the trash: refused, and nothing is touched.
    status, _, err = cli("purge", doomed, "--yes")
    assert status == 1 and "is not in the trash (delete it first)" in err
    assert stored_bytes(raw_db, doomed_file) == (1, 2)
    assert cli("delete", doomed, "--yes")[0] == 0
    status, _, err = cli("purge", doomed)
    assert status == 2 and "--yes" in err  # not on a terminal
    status, out, err = cli("purge", doomed, "--yes")
    assert status == 0 and "(deleted for good)" in out, err
    assert raw_db["images"].count_documents({"_id": ObjectId(doomed)}) == 0
    assert stored_bytes(raw_db, doomed_file) == (0, 0)
    assert ls_ids(cli) == [other] and trash_ids(cli) == []
    assert_no_orphans(raw_db)
    status, _, err = cli("restore", doomed)
    assert status == 1 and "no image with id" in err


def test_purge_in_the_core_refuses_live_images(repo: ImageRepository, tmp_path: Path) -> None:
    result = repo.upload(write(tmp_path / "a.jpg", exif_jpeg(seed=1)))
    assert result.image is not None
    with pytest.raises(ImageRepoError, match="not in the trash"):
        repo.purge(result.image.id)
    with pytest.raises(ImageRepoError, match="not in the trash"):
        repo.restore(result.image.id)
    first = repo.delete(result.image.id)
    again = repo.delete(result.image.id)  # deleting twice keeps the first time
    assert first.deleted_at is not None and again.deleted_at == first.deleted_at
    assert repo.count() == 0 and repo.count(trash=True) == 1


def test_delete_purge_skips_the_trash(cli: Cli, tmp_path: Path, raw_db) -> None:
    image_id = upload(cli, write(tmp_path / "a.bmp", BIG))
    status, out, err = cli("delete", image_id, "--purge", "--yes")
    assert status == 0 and "(deleted for good)" in out, err
    assert raw_db["images"].count_documents({}) == 0
    assert raw_db["fs.files"].count_documents({}) == 0
    assert raw_db["fs.chunks"].count_documents({}) == 0
    assert trash_ids(cli) == []


def test_empty_trash_older_than_keeps_recent_ones(cli: Cli, tmp_path: Path, raw_db) -> None:
    paths = [write(tmp_path / f"{n}.bmp", flat_image(400, 300, "BMP", n)) for n in range(4)]
    ids = [upload(cli, path) for path in paths]
    live = ids[3]
    assert cli("delete", *ids[:3], "--yes")[0] == 0
    old, older, recent = ids[:3]
    for image_id, days in ((old, 31), (older, 400)):
        raw_db["images"].update_one(
            {"_id": ObjectId(image_id)}, {"$set": {"deleted_at": utc_now() - timedelta(days=days)}}
        )
    files = {image_id: file_of(raw_db, image_id) for image_id in ids}
    status, _, err = cli("trash", "empty", "--older-than", "30d")
    assert status == 2 and "--yes" in err
    assert len(trash_ids(cli)) == 3
    status, out, err = cli("trash", "empty", "--older-than", "30d", "--yes")
    assert status == 0 and "2 image(s) deleted for good" in err
    assert {line.split()[0] for line in out.splitlines()} == {old, older}
    assert trash_ids(cli) == [recent]
    for image_id in (old, older):
        assert stored_bytes(raw_db, files[image_id]) == (0, 0)
    for image_id in (recent, live):
        assert stored_bytes(raw_db, files[image_id]) == (1, 2)
    # Nothing that old is left: a no-op, not an error.
    status, _, err = cli("trash", "empty", "--older-than", "2w", "--yes")
    assert status == 0 and "0 image(s) deleted for good" in err
    status, out, err = cli("trash", "empty", "--yes", "--json")
    assert (status, json.loads(out)) == (0, {"purged": 1})
    assert trash_ids(cli) == [] and ls_ids(cli) == [live]
    assert_no_orphans(raw_db)
    status, _, err = cli("trash", "empty", "--yes")
    assert status == 0 and "the trash is empty" in err


@pytest.mark.parametrize("age", ["30", "30x", "-1d", "3m", "", "d", "1.5d"])
def test_bad_ages_are_usage_errors(cli: Cli, tmp_path: Path, age: str) -> None:
    image_id = upload(cli, write(tmp_path / "a.jpg", exif_jpeg(seed=1)))
    assert cli("delete", image_id, "--yes")[0] == 0
    # An empty age (a script's unset variable) must not mean "everything".
    status, _, err = cli("trash", "empty", f"--older-than={age}", "--yes")
    if age == "30":  # a bare number is days
        assert status == 0
        return
    assert status == 2 and "--older-than takes an age like 30d" in err
    assert len(trash_ids(cli)) == 1


def test_empty_trash_in_the_core(repo: ImageRepository, tmp_path: Path, raw_db) -> None:
    ids = []
    for n in range(3):
        result = repo.upload(write(tmp_path / f"{n}.jpg", exif_jpeg(seed=n)))
        assert result.image is not None
        ids.append(result.image.id)
        repo.delete(result.image.id)
    raw_db["images"].update_one(
        {"_id": ObjectId(ids[0])}, {"$set": {"deleted_at": utc_now() - timedelta(hours=2)}}
    )
    assert [i.id for i in repo.empty_trash(timedelta(hours=1))] == [ids[0]]
    assert sorted(i.id for i in repo.empty_trash()) == sorted(ids[1:])
    assert repo.count(trash=True) == 0
    assert_no_orphans(raw_db)


def test_uploading_trashed_bytes_restores_the_image(cli: Cli, tmp_path: Path, raw_db) -> None:
    path = write(tmp_path / "back.jpg", exif_jpeg(seed=9))
    image_id = upload(cli, path, "--tag", "first", "--title", "Original")
    assert cli("delete", image_id, "--yes")[0] == 0
    copy = write(tmp_path / "again.jpg", path.read_bytes())
    status, out, err = cli("upload", str(copy), "--json", "--collection", "Back")
    assert status == 0, err
    assert [(r["status"], r["id"]) for r in json.loads(out)] == [("duplicate", image_id)]
    assert ls_ids(cli) == [image_id] and trash_ids(cli) == []
    assert ls_ids(cli, "collection:Back") == [image_id]
    status, out, _ = cli("info", image_id, "--json")
    info = json.loads(out)
    assert (info["title"], info["tags"], info["deleted_at"]) == ("Original", ["first"], None)
    assert raw_db["images"].count_documents({}) == 1 and raw_db["fs.files"].count_documents({}) == 1


def test_restore_and_purge_by_query(cli: Cli, tmp_path: Path, raw_db) -> None:
    ids = [
        upload(cli, write(tmp_path / f"{n}.jpg", exif_jpeg(seed=n)), "--tag", tag)
        for n, tag in enumerate(["x", "x", "y", "x"])
    ]
    assert cli("delete", "--query", "tag:x", "--yes")[0] == 0
    assert ls_ids(cli) == [ids[2]]
    assert cli("delete", ids[2], "--yes")[0] == 0
    # restore --query searches the trash; its query language is the same.
    status, out, err = cli("restore", "--query", "tag:x -name:0.jpg")
    assert status == 0, err
    assert {line.split()[0] for line in out.splitlines()} == {ids[1], ids[3]}
    assert set(ls_ids(cli)) == {ids[1], ids[3]}
    status, out, err = cli("purge", "--query", "tag:x", "--yes")
    assert status == 0, err
    assert [line.split()[0] for line in out.splitlines()] == [ids[0]]  # live ones untouched
    assert set(trash_ids(cli)) == {ids[2]}
    assert set(ls_ids(cli)) == {ids[1], ids[3]}
    assert_no_orphans(raw_db)


def test_restore_keeps_metadata_in_the_core(repo: ImageRepository, tmp_path: Path) -> None:
    result = repo.upload(
        write(tmp_path / "m.jpg", exif_jpeg(seed=4)),
        NewMetadata(title="T", tags=("a", "B"), meta={"n": 3}, collection="C"),
    )
    assert result.image is not None
    image_id = result.image.id
    repo.delete(image_id)
    assert repo.collection("C").count == 0
    assert list(repo.iter_ids("tag:a")) == []
    assert list(repo.iter_ids("tag:a", trash=True)) == [image_id]
    restored = repo.restore(image_id)
    assert (restored.title, restored.tags, restored.meta) == ("T", ("a", "B"), {"n": 3})
    assert restored.collections == (repo.collection("C").id,)
    assert repo.collection("C").count == 1
