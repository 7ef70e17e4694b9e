"""Tests talk to a real MongoDB wire-protocol server, never a mock.

By default the suite starts one embedded SecantusDB server (test commands enabled,
so fail points work) for the whole session; each test gets its own database. Set
IMAGEREPO_TEST_DB=mongodb://host:port to run everything against a real mongod.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pymongo import MongoClient

from imagerepo_tui import accounts
from imagerepo_tui.config import Settings
from imagerepo_tui.repository import ImageRepository
from tests.support import Cli, make_cli

REAL_DB = os.environ.get("IMAGEREPO_TEST_DB")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_test_server(
    storage: Path, *, test_commands: bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    """A SecantusDB server in its own process, answering pings, and its base URI."""
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "empty.toml").touch()
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "secantus",
        "--config",
        str(storage / "empty.toml"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(storage / "db"),
        "--standalone",
        "--log-level",
        "ERROR",
    ]
    if test_commands:
        command.append("--enable-test-commands")
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/"
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=200, directConnection=True)
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                client.admin.command("ping")
                return process, uri
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("test SecantusDB server did not start") from None
                time.sleep(0.05)
    finally:
        client.close()


def with_database(base_uri: str, name: str) -> str:
    """``base_uri`` with its database path replaced by ``name`` (query kept)."""
    head, _, query = base_uri.partition("?")
    scheme, _, rest = head.partition("://")
    hosts = rest.split("/", 1)[0]
    return f"{scheme}://{hosts}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def server_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if REAL_DB:
        yield REAL_DB
        return
    process, uri = start_test_server(tmp_path_factory.mktemp("secantus"))
    yield uri
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real config, data or database."""
    for name in list(os.environ):
        if name.startswith("IMAGEREPO_") and name != "IMAGEREPO_TEST_DB":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    # Named outright, not only through XDG_CONFIG_HOME: platforms whose config dir
    # ignores XDG would otherwise find the user's own config.toml. Not created: a test
    # that wants one writes it there (config_path() gives the path).
    monkeypatch.setenv("IMAGEREPO_CONFIG", str(home / ".config" / "imagerepo-tui" / "config.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("IMAGEREPO_STATE", str(home / ".local" / "state" / "imagerepo-tui.json"))


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id with tiny parameters in this process: the OWASP ones cost ~50 ms per
    hash. Subprocesses (the CLI run as a program) keep the real ones."""
    previous = accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    yield
    accounts.use_hasher(previous)


@pytest.fixture
def db_uri(server_uri: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"imagerepo_test_{uuid.uuid4().hex[:12]}"
    yield with_database(server_uri, name)
    client: MongoClient = MongoClient(server_uri, serverSelectionTimeoutMS=2000)
    try:
        client.drop_database(name)
    except Exception:
        pass  # a test that stopped the server already made the database unreachable
    finally:
        client.close()


@pytest.fixture
def settings(db_uri: str, tmp_path: Path) -> Settings:
    return Settings(db_uri=db_uri, data_dir=tmp_path / "data")


@pytest.fixture
def repo(settings: Settings) -> Iterator[ImageRepository]:
    repository = ImageRepository.open(settings)
    yield repository
    repository.close()


@pytest.fixture
def raw_db(server_uri: str, db_uri: str) -> Iterator[object]:
    """Direct pymongo access to the test's database, to check what is really stored."""
    client: MongoClient = MongoClient(server_uri, serverSelectionTimeoutMS=5000)
    yield client[db_uri.rsplit("/", 1)[1].split("?")[0]]
    client.close()


@pytest.fixture
def embedded_data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory for the real embedded mode (no --db); whatever server and
    supervisor a test starts for it are stopped afterwards, so none outlive the suite."""
    from tests.support import stop_embedded

    data_dir = tmp_path / "embedded"
    yield data_dir
    stop_embedded(data_dir)


@pytest.fixture
def fail_point(server_uri: str) -> Iterator[object]:
    """``fail_point(mode, **data)`` arms the server's ``failCommand`` for the app's own
    connections only (appName), so the test's checking client keeps working; it is
    switched off after the test whatever happened."""
    client: MongoClient = MongoClient(server_uri, serverSelectionTimeoutMS=5000)

    def arm(mode: object, **data: object) -> None:
        client.admin.command(
            "configureFailPoint",
            "failCommand",
            mode=mode,
            data={"appName": "imagerepo-tui", **data},
        )

    yield arm
    client.admin.command("configureFailPoint", "failCommand", mode="off")
    client.close()


@pytest.fixture(scope="session", autouse=True)
def no_leaked_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the suite, no embedded server or supervisor a test caused may live on: a
    test that forgot to stop one fails the run here (and its processes are stopped)."""
    from tests.support import pids_using, stop_embedded

    base = tmp_path_factory.getbasetemp()
    yield
    leaked = pids_using(base)
    if leaked:
        stop_embedded(base)
        pytest.fail(f"processes left running by tests: {leaked}", pytrace=False)


@pytest.fixture
def cli(db_uri: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli(*args)`` -> (exit status, stdout, stderr): the CLI in-process against the
    test's database, failing the test on any traceback."""
    return make_cli(db_uri, capsys)
