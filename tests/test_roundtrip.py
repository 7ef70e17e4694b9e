"""Originals are sacred: what goes in comes back byte for byte, with the right facts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from gridfs import GridFSBucket

from imagerepo_tui.repository import ImageRepository, find_upload_files
from imagerepo_tui.store.originals import GRIDFS_CHUNK_BYTES, write_gridfs_file
from tests.sample_images import jpeg_bytes, photo_folder, write

EXPECTED = {
    # kind: (format, width, height) with EXIF orientation applied
    "jpeg": ("JPEG", 40, 80),  # stored 80x40, orientation 6 rotates it upright
    "png": ("PNG", 30, 20),
    "gif": ("GIF", 32, 32),
    "webp": ("WEBP", 40, 30),
    "tiff": ("TIFF", 24, 24),
    "bmp": ("BMP", 16, 12),
}


def test_folder_round_trip_is_byte_identical(repo: ImageRepository, tmp_path: Path) -> None:
    files = photo_folder(tmp_path / "photos")
    results = list(repo.upload_files(find_upload_files([tmp_path / "photos"], recursive=True)))
    assert [r.status for r in results] == ["created"] * len(files)
    by_path = {r.path: r.image for r in results}
    out = tmp_path / "out"
    out.mkdir()
    for kind, path in files.items():
        image = by_path[path]
        assert image is not None
        fmt, width, height = EXPECTED[kind]
        assert (image.format, image.width, image.height) == (fmt, width, height), kind
        target = repo.export(image.id, out)
        assert target == out / path.name
        assert (
            hashlib.sha256(target.read_bytes()).hexdigest()
            == hashlib.sha256(path.read_bytes()).hexdigest()
        )
        assert image.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    gif = by_path[files["gif"]]
    assert gif is not None and gif.frames == 3
    jpeg = by_path[files["jpeg"]]
    assert jpeg is not None
    assert jpeg.exif["camera_make"] == "Canon" and jpeg.exif["orientation"] == 6


def test_duplicate_bytes_are_stored_once(repo: ImageRepository, tmp_path: Path, raw_db) -> None:
    files = photo_folder(tmp_path / "a")
    copy = tmp_path / "b" / "same-bytes-other-name.png"
    copy.parent.mkdir()
    copy.write_bytes(files["png"].read_bytes())
    first = repo.upload(files["png"])
    second = repo.upload(copy)
    assert first.status == "created" and second.status == "duplicate"
    assert first.image is not None and second.image is not None
    assert second.image.id == first.image.id
    assert raw_db["images"].count_documents({}) == 1
    assert raw_db["fs.files"].count_documents({}) == 1


def test_originals_are_standard_gridfs_files(
    repo: ImageRepository, tmp_path: Path, raw_db: Any
) -> None:
    """Written without GridFSBucket, originals are still what any GridFS reader
    (mongofiles, another driver) expects, in a bucket with GridFS's own indexes."""
    data = jpeg_bytes(2000, 1500, seed=5)
    assert len(data) > 2 * GRIDFS_CHUNK_BYTES
    result = repo.upload(write(tmp_path / "big.jpg", data))
    assert result.image is not None
    file_id = raw_db["images"].find_one({"_id": ObjectId(result.image.id)})["file_id"]
    assert GridFSBucket(raw_db).open_download_stream(file_id).read() == data
    files_doc = raw_db["fs.files"].find_one({"_id": file_id})
    assert files_doc["filename"] == "big.jpg"
    assert files_doc["metadata"] == {
        "contentType": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    chunk_indexes = raw_db["fs.chunks"].index_information()
    assert chunk_indexes["files_id_1_n_1"]["key"] == [("files_id", 1), ("n", 1)]
    assert chunk_indexes["files_id_1_n_1"]["unique"]
    assert "filename_1_uploadDate_1" in raw_db["fs.files"].index_information()


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        GRIDFS_CHUNK_BYTES - 1,
        GRIDFS_CHUNK_BYTES,
        GRIDFS_CHUNK_BYTES + 1,
        3 * GRIDFS_CHUNK_BYTES,
    ],
)
def test_gridfs_files_are_laid_out_as_gridfsbucket_lays_them_out(raw_db: Any, size: int) -> None:
    data = os.urandom(size)
    ours = ObjectId()
    write_gridfs_file(raw_db, ours, "a.bin", data, {"contentType": "x/y"})
    theirs = GridFSBucket(raw_db).upload_from_stream("a.bin", data, metadata={"contentType": "x/y"})

    def layout(file_id: ObjectId) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
        files_doc = raw_db["fs.files"].find_one({"_id": file_id}, {"_id": 0, "uploadDate": 0})
        chunks = raw_db["fs.chunks"].find({"files_id": file_id}).sort("n", 1)
        return files_doc, [(chunk["n"], bytes(chunk["data"])) for chunk in chunks]

    assert layout(ours) == layout(theirs)
    assert GridFSBucket(raw_db).open_download_stream(ours).read() == data


def test_closing_an_upload_early_stores_nothing_more(
    repo: ImageRepository, tmp_path: Path, raw_db
) -> None:
    """A cancelled batch (the TUI's escape, a CLI interrupted between files) ends
    with what was under way: files still queued or being decoded are not stored
    after the caller stopped reading, and whatever was stored is whole."""
    folder = tmp_path / "many"
    for seed in range(24):
        write(folder / f"{seed:02d}.jpg", jpeg_bytes(320, 240, seed))
    results = repo.upload_files(find_upload_files([folder], recursive=True))
    read = [next(results), next(results)]
    results.close()
    stored = raw_db["images"].count_documents({})
    assert all(r.status == "created" for r in read)
    assert 2 <= stored < 24
    # Nothing lands later either: every worker has finished when close() returns.
    assert raw_db["images"].count_documents({}) == stored
    assert raw_db["fs.files"].count_documents({}) == stored
    listed = {image.id for image in repo.iter_images()}
    assert {r.image.id for r in read if r.image} <= listed and len(listed) == stored
