"""The embedded server (no --db): started on demand, private, shared, stopped when idle.

Every test here uses the ``embedded_data_dir`` fixture, which stops whatever server and
supervisor the test caused.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from imagerepo_tui.store.embedded import client_uri
from tests.sample_images import jpeg_bytes, write
from tests.support import (
    assert_no_traceback,
    cli_popen,
    pid_alive,
    pids_using,
    run_cli,
    server_state,
    upload_lines,
    wait_until,
)

COMMAND_NOT_FOUND = 59


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (IPv4 and IPv6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                if width == 8:
                    found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                else:
                    found.add(address)
    return found


def client_for(data_dir: Path) -> MongoClient:
    """A client with the library's credential, as `server uri` gives it to users."""
    uri = client_uri(data_dir)
    assert uri is not None
    return MongoClient(uri, serverSelectionTimeoutMS=3000)


def test_first_use_starts_a_private_local_server(embedded_data_dir: Path, tmp_path: Path) -> None:
    data_dir = embedded_data_dir
    assert not data_dir.exists()
    photo = write(tmp_path / "a.jpg", jpeg_bytes(seed=1))
    done = run_cli("--data-dir", str(data_dir), "upload", str(photo))
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done.stderr)
    [image_id] = upload_lines(done.stdout).values()

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    state = server_state(data_dir)
    assert state is not None and set(state) >= {"uri", "pid", "supervisor_pid"}
    assert state["uri"].startswith("mongodb://127.0.0.1:")
    port = int(state["uri"].split(":")[2].strip("/"))
    assert listening_addresses(port) == {"127.0.0.1"}

    # Its own session: a terminal closing on the process that started it cannot stop it.
    for pid in (state["pid"], state["supervisor_pid"]):
        assert pid_alive(pid)
        assert os.getsid(pid) != os.getsid(0)
    # j: true means on disk: SecantusDB fsyncs its log at each commit only when told.
    assert b"--sync-on-commit" in Path(f"/proc/{state['pid']}/cmdline").read_bytes().split(b"\0")

    client = client_for(data_dir)
    try:
        # Test commands are off: nobody who can reach the port can arm a fail point.
        with pytest.raises(OperationFailure) as refused:
            client.admin.command("configureFailPoint", "failCommand", mode="off")
        assert refused.value.code == COMMAND_NOT_FOUND
        assert client["imagerepo"]["images"].count_documents({}) == 1
    finally:
        client.close()

    # The next command joins the same server.
    done = run_cli("--data-dir", str(data_dir), "info", image_id, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["id"] == image_id
    assert server_state(data_dir) == state


def test_server_outlives_the_session_that_started_it(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    marker = tmp_path / "listed"
    # A login session: the CLI runs, then the shell waits as a terminal would.
    script = (
        f'"{sys.executable}" -m imagerepo_tui --data-dir "{data_dir}" ls > "{marker}" '
        "&& exec sleep 60"
    )
    session = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    try:
        wait_until(
            lambda: marker.exists() and server_state(data_dir) and session.poll() is None,
            30,
            "the CLI in the session to finish",
        )
        wait_until(
            lambda: Path(f"/proc/{session.pid}/cmdline").read_bytes().startswith(b"sleep"),
            30,
            "the shell to wait",
        )
        state = server_state(data_dir)
        assert state is not None
        assert os.getsid(state["supervisor_pid"]) != session.pid
        # The terminal closes: the whole session gets SIGHUP, then is killed.
        os.killpg(session.pid, signal.SIGHUP)
        session.wait(timeout=10)
        with pytest.raises(ProcessLookupError):
            os.killpg(session.pid, signal.SIGKILL)  # nothing of that group is left
    finally:
        if session.poll() is None:
            session.kill()
            session.wait()
    assert pid_alive(state["pid"]) and pid_alive(state["supervisor_pid"])
    client = client_for(data_dir)
    try:
        assert client.admin.command("ping")["ok"] == 1
    finally:
        client.close()


def test_concurrent_processes_share_one_server(embedded_data_dir: Path, tmp_path: Path) -> None:
    data_dir = embedded_data_dir
    folders = []
    for n in range(2):
        folder = tmp_path / f"folder{n}"
        for k in range(5):
            write(folder / f"{k}.jpg", jpeg_bytes(seed=100 * n + k))
        folders.append(folder)
    # Both start at once with no server running: they race to start it.
    runs = [cli_popen("--data-dir", str(data_dir), "upload", "-r", str(f)) for f in folders]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        assert_no_traceback(err)
        assert len(upload_lines(out)) == 5
    state = server_state(data_dir)
    assert state is not None
    # One server and one supervisor for the directory, nothing else.
    assert sorted(pids_using(data_dir)) == sorted([state["pid"], state["supervisor_pid"]])
    assert sorted(data_dir.glob("*.json")) == [
        data_dir / "credential.json",
        data_dir / "server.json",
    ]
    done = run_cli("--data-dir", str(data_dir), "ls", "--json")
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 10
    assert server_state(data_dir) == state


def test_idle_server_stops_and_the_next_command_restarts_it(
    embedded_data_dir: Path, tmp_path: Path
) -> None:
    data_dir = embedded_data_dir
    quick = {"IMAGEREPO_EMBEDDED_IDLE_SECONDS": "2"}
    photo = write(tmp_path / "a.jpg", jpeg_bytes(seed=7))
    done = run_cli("--data-dir", str(data_dir), "upload", str(photo), env=quick)
    assert done.returncode == 0, done.stderr
    first = server_state(data_dir)
    assert first is not None

    # While a client stays connected, the server stays.
    client = client_for(data_dir)
    client.admin.command("ping")
    with pytest.raises(AssertionError):
        wait_until(lambda: server_state(data_dir) is None, 4, "an early shutdown")
    client.close()

    wait_until(lambda: server_state(data_dir) is None, 20, "server.json to go")
    wait_until(
        lambda: not pid_alive(first["pid"]) and not pid_alive(first["supervisor_pid"]),
        20,
        "the server and supervisor to exit",
    )
    assert pids_using(data_dir) == []

    done = run_cli("--data-dir", str(data_dir), "ls", "--json", env=quick)
    assert done.returncode == 0, done.stderr
    assert [item["filename"] for item in json.loads(done.stdout)] == ["a.jpg"]
    second = server_state(data_dir)
    assert second is not None and second["pid"] != first["pid"]


def test_the_server_does_not_inherit_passwords(
    embedded_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It outlives the process that started it: a password in that process's
    environment must not live on in /proc/<pid>/environ of the server."""
    from imagerepo_tui.config import Settings
    from imagerepo_tui.repository import ImageRepository

    monkeypatch.setenv("IMAGEREPO_PASSWORD", "hunter2-in-the-environment")
    ImageRepository.open(Settings(data_dir=embedded_data_dir)).close()
    state = server_state(embedded_data_dir)
    assert state is not None
    for pid in (state["pid"], state["supervisor_pid"]):
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"HOME=" in environment  # readable, and a real environment
        assert b"hunter2" not in environment


def test_a_relative_data_dir_works(
    embedded_data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--data-dir photos`` means ./photos wherever the server itself runs from."""
    from imagerepo_tui.config import Settings
    from imagerepo_tui.repository import ImageRepository

    monkeypatch.chdir(embedded_data_dir.parent)
    repo = ImageRepository.open(Settings(data_dir=Path(embedded_data_dir.name)))
    try:
        assert repo.upload(write(tmp_path / "a.jpg", jpeg_bytes(seed=1))).status == "created"
    finally:
        repo.close()
    assert server_state(embedded_data_dir) is not None
