"""Libraries written by earlier versions keep every image visible after an upgrade."""

from __future__ import annotations

from pathlib import Path

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageInfo, ImageRepository
from imagerepo_tui.store.schema import SCHEMA_VERSION
from tests.sample_images import jpeg_bytes, write


def _as_version_2(raw_db) -> None:
    """What version 2 wrote: no owners, audience or public flag, duplicates unique
    across the whole library, and indexes without ``audience``."""
    raw_db["images"].update_many({}, {"$unset": {"owner": "", "audience": "", "public": ""}})
    raw_db["collections"].update_many({}, {"$unset": {"owner": ""}})
    raw_db["images"].drop_indexes()
    raw_db["images"].create_index("sha256", unique=True)
    raw_db["images"].create_index([("trashed", 1), ("seq", 1)])
    raw_db["collections"].drop_indexes()
    raw_db["collections"].create_index("name_key", unique=True)
    raw_db["counters"].update_one({"_id": "schema_version"}, {"$set": {"value": 2}})


def _one_live_one_trashed(repo: ImageRepository, folder: Path) -> tuple[ImageInfo, ImageInfo]:
    live = repo.upload(write(folder / "live.jpg", jpeg_bytes(seed=1))).image
    gone = repo.upload(write(folder / "gone.jpg", jpeg_bytes(seed=2))).image
    assert live is not None and gone is not None
    return live, repo.delete(gone.id)


def test_images_without_the_trashed_flag_are_upgraded_once(
    settings: Settings, tmp_path: Path, raw_db
) -> None:
    repo = ImageRepository.open(settings)
    live, gone = _one_live_one_trashed(repo, tmp_path)
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
    assert raw_db["counters"].find_one({"_id": "schema_version"})["value"] == SCHEMA_VERSION


def test_a_library_from_before_accounts_goes_to_the_first_account(
    settings: Settings, tmp_path: Path, raw_db
) -> None:
    repo = ImageRepository.open(settings)
    kept, binned = _one_live_one_trashed(repo, tmp_path)
    repo.create_collection("Old album")
    repo.add_to_collection("Old album", [kept.id])
    repo.close()
    _as_version_2(raw_db)

    repo = ImageRepository.open(settings)
    try:
        assert [image.id for image in repo.iter_images()] == [kept.id]
        assert [image.id for image in repo.iter_images(trash=True)] == [binned.id]
        index_keys = [info["key"] for info in raw_db["images"].index_information().values()]
        assert [("sha256", 1)] not in index_keys, "the old library-wide unique index stays"
        assert [("trashed", 1), ("seq", 1)] not in index_keys
        assert [("owner", 1), ("sha256", 1)] in index_keys
        alice = repo.add_user("alice", "correct horse")
        assert repo.needs_login
    finally:
        repo.close()

    repo = ImageRepository.open(settings)
    try:
        repo.login("alice", "correct horse")
        assert [image.id for image in repo.iter_images()] == [kept.id]
        assert repo.info(kept.id).owner == alice.id
        assert not repo.info(kept.id).public
        assert [image.id for image in repo.iter_images(trash=True)] == [binned.id]
        assert [(c.name, c.count) for c in repo.list_collections()] == [("Old album", 1)]
        repo.restore(binned.id)
        assert repo.count() == 2
    finally:
        repo.close()


def test_an_upgrade_is_announced_before_it_starts_and_only_once(
    settings: Settings, tmp_path: Path, raw_db
) -> None:
    """Rebuilding indexes takes minutes for a large library: the front ends say so
    (the CLI on stderr, the TUI in a notification) instead of seeming stuck."""
    repo = ImageRepository.open(settings)
    _one_live_one_trashed(repo, tmp_path)
    repo.close()
    _as_version_2(raw_db)
    heard: list[str] = []
    ImageRepository.open(settings, on_upgrade=heard.append).close()
    ImageRepository.open(settings, on_upgrade=heard.append).close()
    assert len(heard) == 1 and "once" in heard[0]


def test_a_new_library_is_not_an_upgrade(settings: Settings) -> None:
    heard: list[str] = []
    ImageRepository.open(settings, on_upgrade=heard.append).close()
    assert heard == []
