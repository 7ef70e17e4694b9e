"""A SIGKILL in the middle of ``backup`` or ``copy`` (the CLI as its own process), then
a rerun: nothing lost, nothing doubled, and never a backup that looks complete
before it is (no manifest, or the previous one still whole)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from imagerepo_tui.safekeeping.transfer import WORKERS
from tests.conftest import with_database
from tests.support import assert_no_orphans, cli_popen, run_cli, wait_until
from tests.transfer_support import (
    Server,
    bulk_library,
    manifest,
    other_server,
    snapshot,
    verify_backup,
)

__all__ = ["other_server"]  # fixture

COUNT = 120  # ~270 KB each: long enough to be stopped half-way


@pytest.fixture(scope="module")
def big(
    server_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Database]]:
    name = f"imagerepo_big_{uuid.uuid4().hex[:10]}"
    uri = with_database(server_uri, name)
    bulk_library(uri, tmp_path_factory.mktemp("big"), COUNT)
    client: MongoClient = MongoClient(server_uri)
    yield uri, client[name]
    client.drop_database(name)
    client.close()


def _originals(folder: Path) -> list[Path]:
    return [path for path in (folder / "originals").glob("*/*") if not path.name.startswith(".")]


def _kill_when(command: list[str], ready: object, what: str) -> None:
    """Start the CLI, wait for ``ready()``, SIGKILL it; fail if it finished first (the
    test would prove nothing)."""
    process = cli_popen(*command)
    try:
        wait_until(lambda: ready() or process.poll() is not None, 120, what)  # type: ignore[operator]
        assert process.poll() is None, f"finished before it could be stopped: {process.stderr}"
    finally:
        process.kill()
        process.communicate()


def _backup(uri: str, folder: Path) -> dict[str, int]:
    done = run_cli("--db", uri, "backup", str(folder), "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _whole(folder: Path) -> None:
    """Every original under its final name is whole: its content hashes to its name."""
    for path in _originals(folder):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_sigkill_during_backup(
    big: tuple[str, Database], other_server: Server, tmp_path: Path
) -> None:
    uri, db = big
    folder = tmp_path / "backup"
    _kill_when(
        ["--db", uri, "backup", str(folder)], lambda: len(_originals(folder)) >= 5, "originals"
    )
    assert not (folder / "manifest.json").exists()
    kept = len(_originals(folder))
    assert 5 <= kept < COUNT
    _whole(folder)

    done = _backup(uri, folder)
    assert (done["written"], done["skipped"], done["failed"]) == (COUNT - kept, kept, 0)
    assert verify_backup(folder)["counts"]["images"] == COUNT
    assert not list(folder.rglob(".tmp-*"))

    # Stopped again during the next, incremental run: the last complete backup
    # stays whole and valid until the new one is in place.
    bulk_library(uri, tmp_path / "more", 40, first_seed=COUNT)
    previous = manifest(folder)
    _kill_when(
        ["--db", uri, "backup", str(folder)],
        lambda: len(_originals(folder)) >= COUNT + 3,
        "new originals",
    )
    assert manifest(folder) == previous
    verify_backup(folder)
    _whole(folder)
    done = _backup(uri, folder)
    assert (done["images"], done["written"] + done["skipped"]) == (COUNT + 40, COUNT + 40)
    assert verify_backup(folder)["counts"]["originals"] == COUNT + 40

    target_uri, target = other_server.database()
    restored = run_cli("--db", target_uri, "restore", "--backup", str(folder), timeout=300)
    assert restored.returncode == 0, restored.stderr
    assert snapshot(target) == snapshot(db)


def test_sigkill_during_copy(big: tuple[str, Database], other_server: Server) -> None:
    uri, db = big
    total = db["images"].count_documents({})
    target_uri, target = other_server.database()
    _kill_when(
        ["--db", uri, "copy", "--to", target_uri],
        lambda: target["images"].count_documents({}) >= 5,
        "copied images",
    )
    copied = target["images"].count_documents({})
    assert 5 <= copied < total

    done = run_cli("--db", uri, "copy", "--to", target_uri, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # Writes the killed process had already sent may still land after it died (a few
    # images are in flight at once), so those counted are a lower bound.
    assert summary["failed"] == 0
    assert summary["written"] + summary["skipped"] == total
    assert copied <= summary["skipped"] <= copied + WORKERS
    assert snapshot(target) == snapshot(db)
    # The bytes the killed run had written for an image it never created are gone.
    assert_no_orphans(target)

    again = run_cli("--db", uri, "copy", "--to", target_uri, "--json", timeout=300)
    assert json.loads(again.stdout)["written"] == 0
