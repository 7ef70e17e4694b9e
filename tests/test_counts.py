"""The counts kept for the status line stay exact through every write, and ``check``
finds and repairs one that drifted (a process killed between two writes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imagerepo_tui.config import Settings
from imagerepo_tui.records import NewMetadata
from imagerepo_tui.repository import ImageRepository
from imagerepo_tui.store.counts import COUNTS, READY, count_key
from tests.sample_images import jpeg_bytes, write
from tests.support import Cli
from tests.test_accounts import PASSWORDS, session


def actual_counts(raw_db: Any) -> dict[str, int]:
    """What the documents say, counted by the server: the numbers to keep."""
    found: dict[str, int] = {}
    for doc in raw_db.images.find({}, {"audience": 1, "trashed": 1}):
        key = count_key(doc.get("audience"), doc.get("trashed"))
        if key is not None:
            found[key] = found.get(key, 0) + 1
    return found


def kept_counts(raw_db: Any) -> dict[str, int]:
    return {
        doc["_id"]: doc["n"] for doc in raw_db[COUNTS].find({"_id": {"$ne": READY}}) if doc["n"]
    }


def assert_exact(repo: ImageRepository, raw_db: Any) -> None:
    assert kept_counts(raw_db) == actual_counts(raw_db)
    # The front ends' number is the kept one; a query that narrows nothing is counted
    # by the server, and both agree.
    for trash in (False, True):
        assert repo.count(trash=trash) == repo.count("size:>=0", trash=trash)


def upload(repo: ImageRepository, folder: Path, seed: int, **metadata: Any) -> str:
    path = write(folder / f"{seed}.jpg", jpeg_bytes(seed=seed))
    result = repo.upload(path, NewMetadata(**metadata))
    assert result.image is not None
    return result.image.id


def test_counts_follow_uploads_trash_restore_purge_and_sharing(
    repo: ImageRepository, raw_db: Any, tmp_path: Path
) -> None:
    ids = [upload(repo, tmp_path, seed) for seed in range(5)]
    assert repo.count() == 5
    assert_exact(repo, raw_db)
    repo.set_public(ids[0], True)
    repo.set_public(ids[1], True)
    repo.set_public(ids[1], False)
    assert_exact(repo, raw_db)
    repo.delete(ids[0])  # a public one: the trash is its owner's alone
    repo.delete(ids[2])
    repo.delete(ids[2])  # twice changes nothing
    assert (repo.count(), repo.count(trash=True)) == (3, 2)
    assert_exact(repo, raw_db)
    repo.restore(ids[0])  # public again
    repo.purge(ids[2])
    assert (repo.count(), repo.count(trash=True)) == (4, 0)
    assert_exact(repo, raw_db)
    upload(repo, tmp_path, 0)  # a duplicate of a live image adds nothing
    assert repo.count() == 4
    repo.delete(ids[3])
    upload(repo, tmp_path, 3)  # a duplicate of a trashed one brings it back
    assert (repo.count(), repo.count(trash=True)) == (4, 0)
    assert_exact(repo, raw_db)
    assert sum(1 for _ in repo.empty_trash()) == 0
    repo.delete(ids[4])
    assert sum(1 for _ in repo.empty_trash()) == 1
    assert_exact(repo, raw_db)


def test_counts_follow_accounts_and_handing_over(
    settings: Settings, raw_db: Any, tmp_path: Path
) -> None:
    with session(settings) as repo:
        upload(repo, tmp_path, 1)  # from before accounts: adopted by the first one
        repo.add_user("alice", PASSWORDS["alice"])
        assert kept_counts(raw_db) == actual_counts(raw_db)
    with session(settings, "alice") as repo:
        repo.add_user("bob", PASSWORDS["bob"])
        upload(repo, tmp_path, 2, public=True)
        assert repo.count() == 2
    with session(settings, "bob") as repo:
        upload(repo, tmp_path, 3)
        trashed = upload(repo, tmp_path, 4)
        repo.delete(trashed)
        assert (repo.count(), repo.count(trash=True)) == (2, 1)  # his own and alice's public
        assert_exact(repo, raw_db)
    with session(settings, "alice") as repo:
        repo.remove_user("bob", give_to="alice")
        assert (repo.count(), repo.count(trash=True)) == (3, 1)
        assert_exact(repo, raw_db)


def test_check_finds_a_drifted_count_and_repair_puts_it_right(
    cli: Cli, raw_db: Any, tmp_path: Path
) -> None:
    paths = [str(write(tmp_path / f"{n}.jpg", jpeg_bytes(seed=n))) for n in range(3)]
    assert cli("upload", *paths)[0] == 0
    (key,) = kept_counts(raw_db)
    # What a process killed between an image's insert and its count's leaves behind.
    raw_db[COUNTS].update_one({"_id": key}, {"$inc": {"n": -1}})
    status, out, _ = cli("ls", "--json")
    assert status == 0 and len(json.loads(out)) == 3  # lists read the images themselves
    status, out, _ = cli("check", "--json")
    report = json.loads(out)
    assert status == 1
    wrong = [p for p in report["problems"] if p["kind"] == "wrong_count"]
    assert [(p["id"], p["detail"], p["repaired"]) for p in wrong] == [
        (key, "kept as 2, counted 3", False)
    ]
    status, out, _ = cli("check", "--repair", "--json")
    assert status == 0 or json.loads(out)["problems"][0]["repaired"]
    assert kept_counts(raw_db) == actual_counts(raw_db) == {key: 3}
    assert cli("check")[0] == 0


def test_a_broken_count_never_breaks_the_status_line(
    repo: ImageRepository, raw_db: Any, cli: Cli, tmp_path: Path
) -> None:
    upload(repo, tmp_path, 1)
    (key,) = kept_counts(raw_db)
    raw_db[COUNTS].update_one({"_id": key}, {"$set": {"n": "lots\x1b[31m"}})
    assert repo.count() == 0  # read as nothing; the listing still shows the image
    assert [image.id for image in repo.iter_images()] != []
    status, out, _ = cli("check")
    assert status == 1 and "wrong count" in out and "\x1b" not in out


def test_a_library_never_counted_is_counted_when_opened(
    settings: Settings, raw_db: Any, tmp_path: Path
) -> None:
    with session(settings) as repo:
        for seed in range(3):
            upload(repo, tmp_path, seed)
    raw_db[COUNTS].drop()  # as an earlier version left it
    with session(settings) as repo:
        assert repo.count() == 3
        assert_exact(repo, raw_db)
