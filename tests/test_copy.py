"""``copy --to URI`` and ``copy --from URI``: library to library between two servers,
each byte verified, a second run copying nothing, and the copy a library the app
opens (indexes included) and lists whole."""

from __future__ import annotations

import json
from pathlib import Path

from pymongo.database import Database

from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from tests.support import assert_no_orphans
from tests.test_counts import actual_counts, kept_counts
from tests.transfer_support import (
    ALICE_PW,
    BOB_PW,
    Run,
    Server,
    other_server,
    rich_library,
    run,
    snapshot,
)

__all__ = ["other_server", "run"]  # fixtures


def _listing(db_uri: str, user: str, password: str) -> tuple[list[str], list[str]]:
    """The ids a user sees, live and in the trash, through the app."""
    repo = ImageRepository.open(Settings(db_uri=db_uri))
    try:
        repo.login(user, password)
        live = [image.id for image in repo.iter_images()]
        trash = [image.id for image in repo.iter_images(trash=True)]
        return sorted(live), sorted(trash)
    finally:
        repo.close()


def test_copy_to_another_server_and_back(
    db_uri: str, raw_db: Database, other_server: Server, server_uri: str, tmp_path: Path, run: Run
) -> None:
    rich_library(db_uri, tmp_path)
    source = snapshot(raw_db)
    target_uri, target = other_server.database()

    status, out, err = run(db_uri, "copy", "--to", target_uri, "--json", user="alice")
    assert status == 0, err
    done = json.loads(out)
    assert (done["images"], done["written"], done["skipped"], done["failed"]) == (8, 8, 0, 0)
    assert snapshot(target) == source
    assert_no_orphans(target)
    assert kept_counts(target) == actual_counts(target) == actual_counts(raw_db)
    # The app's own indexes are there, made as the app makes them (same names).
    assert set(target["images"].index_information()) == set(raw_db["images"].index_information())
    assert set(target["users"].index_information()) == set(raw_db["users"].index_information())

    status, out, err = run(db_uri, "copy", "--to", target_uri, "--json", user="alice")
    assert status == 0, err
    assert (json.loads(out)["written"], json.loads(out)["skipped"]) == (0, 8)
    assert snapshot(target) == source

    # The app opens the copy and everyone sees what they saw before.
    for user, password in (("alice", ALICE_PW), ("bob", BOB_PW)):
        assert _listing(target_uri, user, password) == _listing(db_uri, user, password)

    # And back, into an empty library on the first server (no accounts: anyone may).
    back_uri = db_uri.rsplit("/", 1)[0] + "/" + raw_db.name + "_back"
    back = raw_db.client[raw_db.name + "_back"]
    try:
        status, out, err = run(back_uri, "copy", "--from", target_uri, "--json")
        assert status == 0, err
        assert json.loads(out)["written"] == 8
        assert snapshot(back) == source
        assert_no_orphans(back)
        status, out, err = run(back_uri, "copy", "--from", target_uri, "--json", user="alice")
        assert status == 0, err
        assert (json.loads(out)["written"], json.loads(out)["skipped"]) == (0, 8)
        assert snapshot(back) == source
    finally:
        raw_db.client.drop_database(back.name)
    assert server_uri  # the session server hosts both the source and the copy back


def test_copy_repairs_damaged_bytes_in_the_target(
    db_uri: str, raw_db: Database, other_server: Server, tmp_path: Path, run: Run
) -> None:
    rich_library(db_uri, tmp_path)
    target_uri, target = other_server.database()
    assert run(db_uri, "copy", "--to", target_uri, user="alice")[0] == 0
    damaged = target["images"].find_one({"filename": "scan.tiff"})
    target["fs.chunks"].delete_many({"files_id": damaged["file_id"]})

    status, out, err = run(db_uri, "copy", "--to", target_uri, "--json", user="alice")
    assert status == 0, err
    assert (json.loads(out)["repaired"], json.loads(out)["skipped"]) == (1, 7)
    assert snapshot(target) == snapshot(raw_db)
    assert_no_orphans(target)


def test_copy_from_an_unreachable_server_says_so(db_uri: str, run: Run) -> None:
    status, _, err = run(db_uri, "copy", "--from", "mongodb://127.0.0.1:1/x")
    assert status == 1
    assert "cannot reach MongoDB at mongodb://127.0.0.1:1/x" in err
