"""Originals are sacred: what goes in comes back byte for byte, with the right facts."""

from __future__ import annotations

import hashlib
from pathlib import Path

from imagerepo_tui.repository import ImageRepository, find_upload_files
from tests.sample_images import photo_folder

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
