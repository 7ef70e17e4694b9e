"""Libraries written by earlier versions keep every image visible after an upgrade."""

from __future__ import annotations

from pathlib import Path

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from tests.sample_images import jpeg_bytes, write


def test_images_without_the_trashed_flag_are_upgraded_once(
    settings: Settings, tmp_path: Path, raw_db
) -> None:
    repo = ImageRepository.open(settings)
    live = repo.upload(write(tmp_path / "live.jpg", jpeg_bytes(seed=1))).image
    gone = repo.upload(write(tmp_path / "gone.jpg", jpeg_bytes(seed=2))).image
    assert live is not None and gone is not None
    repo.delete(gone.id)
    repo.close()
    # What version 1 wrote: no "trashed" field, the trash marked by deleted_at alone.
    raw_db["images"].update_many({}, {"$unset": {"trashed": ""}})
    raw_db["counters"].delete_one({"_id": "schema_version"})

    repo = ImageRepository.open(settings)
    try:
        assert [image.id for image in repo.iter_images()] == [live.id]
        assert [image.id for image in repo.iter_images(trash=True)] == [gone.id]
    finally:
        repo.close()
    assert raw_db["counters"].find_one({"_id": "schema_version"})["value"] == 2
