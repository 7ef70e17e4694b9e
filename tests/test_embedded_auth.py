"""The embedded server is locked: only a client with the library's credential gets data.

Every test uses ``embedded_data_dir``, which stops whatever server and supervisor the
test caused.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from imagerepo_tui.store.embedded import client_uri
from tests.conftest import _free_port
from tests.sample_images import jpeg_bytes, write
from tests.support import (
    assert_no_traceback,
    pid_alive,
    pids_using,
    run_cli,
    server_state,
    upload_lines,
    wait_until,
)

UNAUTHORIZED = 13
AUTHENTICATION_FAILED = 18


def assert_locked(uri: str) -> None:
    """A client without the credential reads, lists and writes nothing."""
    client: MongoClient = MongoClient(uri, directConnection=True, serverSelectionTimeoutMS=3000)
    try:
        assert client.admin.command("ping")["ok"] == 1  # the handshake is all it gets
        attempts = [
            lambda: client["imagerepo"]["images"].find_one(),
            lambda: client["imagerepo"].list_collection_names(),
            lambda: client.list_database_names(),
            lambda: client["imagerepo"]["images"].insert_one({"planted": True}),
            lambda: client["imagerepo"]["fs.chunks"].find_one(),
            lambda: client.admin.command("createUser", "intruder", pwd="x" * 12, roles=["root"]),
        ]
        for attempt in attempts:
            with pytest.raises(OperationFailure) as refused:
                attempt()
            assert refused.value.code == UNAUTHORIZED
    finally:
        client.close()


def server_command(data_dir: Path, port: int, *extra: str) -> list[str]:
    (data_dir / "secantusd.toml").touch()
    return [
        sys.executable,
        "-m",
        "secantus",
        "--config",
        str(data_dir / "secantusd.toml"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(data_dir / "db"),
        "--standalone",
        "--log-level",
        "ERROR",
        *extra,
    ]


def wait_for_ping(uri: str, process: subprocess.Popen[bytes]) -> None:
    client: MongoClient = MongoClient(uri, directConnection=True, serverSelectionTimeoutMS=200)
    try:

        def answers() -> bool:
            assert process.poll() is None, "the server exited"
            try:
                return bool(client.admin.command("ping"))
            except Exception:
                return False

        wait_until(answers, 60, "the server to answer")
    finally:
        client.close()


def make_old_library(data_dir: Path, photo: Path) -> str:
    """A library as versions before authentication left it: data, no credential, and
    an account somebody on the machine planted while it was open. Returns the image id."""
    data_dir.mkdir(mode=0o700)
    port = _free_port()
    server = subprocess.Popen(server_command(data_dir, port), stdin=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/"
    try:
        wait_for_ping(uri, server)
        done = run_cli("--db", uri + "imagerepo", "upload", str(photo))
        assert done.returncode == 0, done.stderr
        [image_id] = upload_lines(done.stdout).values()
        planter: MongoClient = MongoClient(uri, directConnection=True)
        planter.admin.command("createUser", "intruder", pwd="planted-pw", roles=["root"])
        planter["imagerepo"].command("createUser", "lurker", pwd="planted-pw", roles=["dbOwner"])
        planter.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    return image_id


def test_a_new_library_asks_every_client_for_its_credential(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    photo = write(tmp_path / "a.jpg", jpeg_bytes(seed=3))
    done = run_cli("--data-dir", str(data_dir), "upload", str(photo))
    assert done.returncode == 0, done.stderr
    [image_id] = upload_lines(done.stdout).values()

    credential_file = data_dir / "credential.json"
    for private in (credential_file, data_dir / "server.json"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    credential = json.loads(credential_file.read_text())
    assert credential["provisioned"] is True and len(credential["password"]) >= 40
    state = server_state(data_dir)
    assert state is not None and state["auth"] is True
    assert b"--auth" in Path(f"/proc/{state['pid']}/cmdline").read_bytes().split(b"\0")
    assert_locked(state["uri"])
    # Nothing of the provisioning run (certificates, its server) is left behind.
    assert not list(data_dir.glob(".provisioning-*"))
    assert sorted(pids_using(data_dir)) == sorted([state["pid"], state["supervisor_pid"]])

    # The wrong password is no better than none.
    wrong: MongoClient = MongoClient(
        state["uri"], username="imagerepo", password="guess", directConnection=True
    )
    with pytest.raises(OperationFailure) as refused:
        wrong["imagerepo"]["images"].find_one()
    assert refused.value.code == AUTHENTICATION_FAILED
    wrong.close()

    # What `server uri` prints opens the library to any MongoDB client, GridFS included.
    printed = run_cli("--data-dir", str(data_dir), "server", "uri")
    assert printed.returncode == 0, printed.stderr
    uri = printed.stdout.strip()
    assert credential["password"] in uri and "keep it secret" in printed.stderr
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=3000)
    try:
        from bson import ObjectId
        from gridfs import GridFSBucket

        doc = client["imagerepo"]["images"].find_one({"_id": ObjectId(image_id)})
        assert doc is not None
        original = GridFSBucket(client["imagerepo"]).open_download_stream(doc["file_id"]).read()
        assert original == photo.read_bytes()
    finally:
        client.close()


def test_an_older_library_is_locked_on_its_next_start_with_nothing_lost(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    photo = write(tmp_path / "old.jpg", jpeg_bytes(seed=11))
    image_id = make_old_library(data_dir, photo)
    assert not (data_dir / "credential.json").exists()

    listed = run_cli("--data-dir", str(data_dir), "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert_no_traceback(listed.stderr)
    assert [item["id"] for item in json.loads(listed.stdout)] == [image_id]
    out = tmp_path / "out"
    out.mkdir()
    fetched = run_cli("--data-dir", str(data_dir), "download", image_id, "-o", str(out))
    assert fetched.returncode == 0, fetched.stderr
    assert hashlib.sha256((out / "old.jpg").read_bytes()).digest() == (
        hashlib.sha256(photo.read_bytes()).digest()
    )

    state = server_state(data_dir)
    assert state is not None
    assert_locked(state["uri"])
    # The accounts planted while it was open are gone: they cannot come back in.
    for user, source in (("intruder", "admin"), ("lurker", "imagerepo")):
        planted: MongoClient = MongoClient(
            state["uri"],
            username=user,
            password="planted-pw",
            authSource=source,
            directConnection=True,
            serverSelectionTimeoutMS=3000,
        )
        with pytest.raises(OperationFailure) as refused:
            planted["imagerepo"]["images"].find_one()
        assert refused.value.code == AUTHENTICATION_FAILED
        planted.close()
    assert "removed database accounts nobody here made" in (data_dir / "server.log").read_text()


OLD_SUPERVISOR = textwrap.dedent(
    """
    # The supervisor of versions before authentication, as far as clients can tell: it
    # holds server.lock, runs the server without --auth, publishes server.json without
    # "auth", and on SIGTERM stops the server under start.lock.
    import fcntl, json, os, signal, subprocess, sys, time
    data_dir, command = sys.argv[1], json.loads(sys.argv[2])
    lock = os.open(os.path.join(data_dir, "server.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    server = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    state = {"uri": sys.argv[3], "pid": server.pid, "supervisor_pid": os.getpid()}
    with open(os.path.join(data_dir, "server.json"), "w") as handle:
        json.dump(state, handle)
    while not stopping:
        time.sleep(0.05)
    start = os.open(os.path.join(data_dir, "start.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(start, fcntl.LOCK_EX)
    if os.path.exists(os.path.join(data_dir, "server.json")):
        os.unlink(os.path.join(data_dir, "server.json"))
    server.terminate()
    server.wait()
    """
)


def test_an_open_server_left_running_by_an_older_version_is_replaced(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    photo = write(tmp_path / "old.jpg", jpeg_bytes(seed=12))
    image_id = make_old_library(data_dir, photo)
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}/"
    old = subprocess.Popen(
        [
            sys.executable,
            "-c",
            OLD_SUPERVISOR,
            str(data_dir),
            json.dumps(server_command(data_dir, port)),
            uri,
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: server_state(data_dir) is not None, 30, "the old server.json")
        old_state = server_state(data_dir)
        assert old_state is not None
        wait_for_ping(uri, old)
        open_client: MongoClient = MongoClient(uri, directConnection=True)
        assert open_client["imagerepo"]["images"].count_documents({}) == 1  # open, as it was
        open_client.close()

        listed = run_cli("--data-dir", str(data_dir), "ls", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [item["id"] for item in json.loads(listed.stdout)] == [image_id]
        old.wait(timeout=30)
        assert not pid_alive(old_state["pid"])
        state = server_state(data_dir)
        assert state is not None and state["auth"] is True
        assert_locked(state["uri"])
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()


def test_server_status_uri_and_stop(embedded_data_dir: Path) -> None:
    data_dir = embedded_data_dir
    status = run_cli("--data-dir", str(data_dir), "server", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["running"] is False
    # Asking never starts it, nor makes the folder.
    assert not data_dir.exists()

    printed = run_cli("--data-dir", str(data_dir), "server", "uri", "--json")
    assert printed.returncode == 0, printed.stderr
    uri = json.loads(printed.stdout)["uri"]
    assert uri == client_uri(data_dir)
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=3000)
    status = client.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"]
    assert status == [{"user": "imagerepo", "db": "admin"}]
    client.list_database_names()  # allowed: it is the library's own account
    client.close()

    status = run_cli("--data-dir", str(data_dir), "server")
    assert status.returncode == 0, status.stderr
    state = server_state(data_dir)
    assert state is not None
    assert f"pid {state['pid']}" in status.stdout
    assert "password required" in status.stdout
    assert str(state["uri"]).split("//")[1].strip("/") in status.stdout

    stopped = run_cli("--data-dir", str(data_dir), "server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stderr
    assert pids_using(data_dir) == [] and server_state(data_dir) is None
    again = run_cli("--data-dir", str(data_dir), "server", "stop")
    assert again.returncode == 0 and "was not running" in again.stderr

    with_db = run_cli("--db", "mongodb://127.0.0.1:1/", "server", "uri")
    assert with_db.returncode == 2 and "embedded" in with_db.stderr
    assert_no_traceback(with_db.stderr)


@pytest.mark.parametrize("command", [["ls"], [], ["server", "uri"]])
def test_a_folder_that_is_not_a_library_is_refused_and_left_as_it_was(
    tmp_path: Path, command: list[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("someone else's")
    (shared / "esc\x1b]0;pwned\x07.txt").write_text("")
    os.chmod(shared, 0o1777)
    before = sorted(os.listdir(shared))

    done = run_cli("--data-dir", str(shared), *command)
    assert done.returncode == 2
    assert_no_traceback(done.stderr)
    [line] = done.stderr.strip().splitlines()
    assert "not an imagerepo-tui library" in line and "notes.txt" in line
    assert "\x1b" not in line and "\\x1b" in line
    assert sorted(os.listdir(shared)) == before
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert pids_using(shared) == []


def test_an_empty_folder_becomes_a_private_library(embedded_data_dir: Path) -> None:
    embedded_data_dir.mkdir(mode=0o777)
    os.chmod(embedded_data_dir, 0o777)
    done = run_cli("--data-dir", str(embedded_data_dir), "ls")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(embedded_data_dir.stat().st_mode) == 0o700
